import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { expectTotals, scenario, type Scenario } from './dsl.ts';

describe('billing cycles on the test clock', () => {
  let s: Scenario;
  before(async () => {
    s = await scenario('2024-01-31T10:00:00Z');
    await s.plan({ key: 'starter', prices: [{ type: 'flat', interval: 'month', unit_amount: 4900 }, { type: 'flat', interval: 'year', unit_amount: 49000 }] });
  });
  after(() => s.close());

  it('bills a monthly plan in advance each month for 13 months, anchored on the 31st through leap February', async () => {
    const c = await s.customer('Monthly');
    const sub = await s.subscribe(c, 'starter');
    assert.equal(sub.status, 'active');
    assert.equal(sub.current_period_end, '2024-02-29T10:00:00.000Z');
    await s.advance('P13M');
    const invoices = await s.invoices(sub.id);
    assert.equal(invoices.length, 14, 'the first period plus 13 renewals');
    expectTotals(invoices, Array(14).fill(4900));
    assert.deepEqual(
      invoices.slice(0, 5).map((i) => i.period_start.slice(0, 10)),
      ['2024-01-31', '2024-02-29', '2024-03-31', '2024-04-30', '2024-05-31'],
    );
    assert.ok(invoices.every((i) => i.status === 'paid'));
    const numbers = invoices.map((i) => i.number);
    assert.equal(new Set(numbers).size, numbers.length, 'numbers are unique');
    const again = await s.ok(s.api.post('/v1/bill_runs', {}));
    assert.equal(again.invoices_created, 0, 'a bill run after the jobs finds nothing to do');
  });

  it('bills an annual plan once a year, Feb 29 anchored', async () => {
    const s2 = await scenario('2024-02-29T00:00:00Z');
    try {
      await s2.plan({ key: 'starter', prices: [{ type: 'flat', interval: 'year', unit_amount: 49000 }] });
      const c = await s2.customer('Annual');
      const sub = await s2.subscribe(c, 'starter', { interval: 'year' });
      assert.equal(sub.current_period_end, '2025-02-28T00:00:00.000Z');
      await s2.advance('P4Y');
      const inv = await s2.invoices(sub.id);
      assert.deepEqual(
        inv.map((i) => i.period_start.slice(0, 10)),
        ['2024-02-29', '2025-02-28', '2026-02-28', '2027-02-28', '2028-02-29'],
      );
      expectTotals(inv, Array(5).fill(49000));
    } finally {
      await s2.close();
    }
  });

  it('runs a trial free, then bills from its end', async () => {
    const c = await s.customer('Trialist');
    const sub = await s.subscribe(c, 'starter', { trial_days: 14 });
    assert.equal(sub.status, 'trialing');
    assert.equal((await s.invoices(sub.id)).length, 0);
    await s.advance('P14D');
    const after = await s.subscription(sub.id);
    assert.equal(after.status, 'active');
    const inv = await s.invoices(sub.id);
    expectTotals(inv, [4900]);
    assert.equal(inv[0].period_start, sub.trial_end);
    const started = await s.events('subscription.created');
    assert.ok(started.some((e) => e.data.subscription.id === sub.id));
  });
});

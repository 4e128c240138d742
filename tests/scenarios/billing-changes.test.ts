import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { expectTotals, scenario, type Scenario } from './dsl.ts';

/**
 * Mid-cycle changes, prorated to the second. The month is March 2026 (31 days) unless stated:
 * period [2026-03-01, 2026-04-01), changes on 2026-03-17T00:00Z leave 15 of 31 days.
 */
describe('changes with proration', () => {
  let s: Scenario;
  before(async () => {
    s = await scenario('2026-03-01T00:00:00Z');
    await s.plan({ key: 'pro', prices: [{ type: 'flat', unit_amount: 19900 }] });
    await s.plan({ key: 'business', prices: [{ type: 'flat', unit_amount: 150000 }] });
    await s.plan({ key: 'team', prices: [{ type: 'per_seat', unit_amount: 1000 }] });
  });
  after(() => s.close());

  it('upgrades mid-cycle: credits unused Pro, charges the rest of Business, invoices the net at once', async () => {
    const c = await s.customer('Upgrader');
    const sub = await s.subscribe(c, 'pro');
    await s.advance('2026-03-17T00:00:00Z');
    await s.change(sub.id, { plan: 'business' });
    const inv = await s.invoices(sub.id);
    assert.equal(inv.length, 2);
    const upgrade = inv[1];
    assert.equal(upgrade.billing_reason, 'subscription_update');
    // −19,900 × 15/31 = −9,629.03 → −9,629 ; 150,000 × 15/31 = 72,580.65 → 72,581
    assert.deepEqual(
      upgrade.lines.map((l: any) => l.amount),
      [-9629, 72581],
    );
    expectTotals(inv, [19900, 62952]);
    assert.equal(upgrade.status, 'paid', 'charged to the card at once');
    await s.advance('2026-04-01T00:00:00Z');
    const renewal = (await s.invoices(sub.id))[2];
    assert.equal(renewal.total, 150000, 'the next period is on Business');
  });

  it('downgrades mid-cycle: the net credit becomes a credit note consumed by the next invoice', async () => {
    const s2 = await scenario('2026-03-01T00:00:00Z');
    try {
      await s2.plan({ key: 'pro', prices: [{ type: 'flat', unit_amount: 19900 }] });
      await s2.plan({ key: 'starter', prices: [{ type: 'flat', unit_amount: 4900 }] });
      const c = await s2.customer('Downgrader');
      const sub = await s2.subscribe(c, 'pro');
      await s2.advance('2026-03-17T00:00:00Z');
      await s2.change(sub.id, { plan: 'starter' });
      // credit −9,629 ; charge 4,900 × 15/31 = 2,370.97 → 2,371 ; net −7,258
      const notes = await s2.ok(s2.api.get(`/v1/credit_notes?account=${c.id}`));
      assert.equal(notes.data.length, 1);
      assert.equal(notes.data[0].amount, 7258);
      assert.equal(notes.data[0].reason, 'proration');
      assert.equal(notes.data[0].credited_to_balance, 7258);
      assert.equal((await s2.invoices(sub.id)).length, 1, 'no invoice for a net credit');
      await s2.advance('2026-04-01T00:00:00Z');
      const inv = await s2.invoices(sub.id);
      const renewal = inv[1];
      assert.equal(renewal.total, 4900);
      assert.equal(renewal.balance_applied, 4900);
      assert.equal(renewal.amount_due, 0);
      assert.equal(renewal.status, 'paid');
      await s2.advance('2026-05-01T00:00:00Z');
      const may = (await s2.invoices(sub.id))[2];
      assert.equal(may.balance_applied, 7258 - 4900);
      assert.equal(may.amount_due, 4900 - (7258 - 4900));
    } finally {
      await s2.close();
    }
  });

  it('prorates seat changes both ways', async () => {
    const c = await s.customer('Seats');
    await s.advance('2026-05-01T00:00:00Z');
    const sub = await s.subscribe(c, 'team', { quantity: 5 });
    // May has 31 days; on May 11 at 00:00, 21 of 31 days remain.
    await s.advance('2026-05-11T00:00:00Z');
    await s.change(sub.id, { quantity: 8 });
    let inv = await s.invoices(sub.id);
    // −5,000 × 21/31 = −3,387.10 → −3,387 ; 8,000 × 21/31 = 5,419.35 → 5,419 ; net 2,032
    expectTotals(inv, [5000, 2032]);
    await s.change(sub.id, { quantity: 2 });
    // −5,419 ; +2,000 × 21/31 = 1,354.84 → 1,355 ; net −4,064 → credit note
    const notes = await s.ok(s.api.get(`/v1/credit_notes?account=${c.id}`));
    assert.deepEqual(
      notes.data.map((n: any) => n.amount),
      [4064],
    );
    await s.advance('2026-06-01T00:00:00Z');
    inv = await s.invoices(sub.id);
    assert.equal(inv[2].total, 2000);
    assert.equal(inv[2].lines[0].quantity, '2');
  });

  it('switches monthly → annual now: restarts the cycle today with a credit for the unused month', async () => {
    const s3 = await scenario('2026-03-01T00:00:00Z');
    try {
      await s3.plan({ key: 'pro', prices: [{ type: 'flat', interval: 'month', unit_amount: 19900 }, { type: 'flat', interval: 'year', unit_amount: 199000 }] });
      const c = await s3.customer('Committer');
      const sub = await s3.subscribe(c, 'pro');
      await s3.advance('2026-03-17T00:00:00Z');
      const changed = await s3.change(sub.id, { interval: 'year' });
      assert.equal(changed.current_period_start, '2026-03-17T00:00:00.000Z');
      assert.equal(changed.current_period_end, '2027-03-17T00:00:00.000Z');
      const inv = await s3.invoices(sub.id);
      expectTotals(inv, [19900, 199000 - 9629]);
      await s3.advance('2027-03-16T00:00:00Z');
      assert.equal((await s3.invoices(sub.id)).length, 2, 'nothing more until the annual renewal');
      await s3.advance('2027-03-17T00:00:00Z');
      expectTotals(await s3.invoices(sub.id), [19900, 189371, 199000]);
    } finally {
      await s3.close();
    }
  });

  it('schedules a downgrade at period end without touching the running period', async () => {
    const c = await s.customer('Planner');
    const sub = await s.subscribe(c, 'business');
    const start = sub.current_period_start;
    await s.change(sub.id, { plan: 'pro', effective: 'period_end' });
    const pending = await s.subscription(sub.id);
    assert.equal(pending.pending_changes.length, 1);
    assert.equal(pending.plan, sub.plan, 'still on Business until renewal');
    const preview = await s.ok(s.api.get(`/v1/invoices/upcoming?subscription=${sub.id}`));
    await s.advance(sub.current_period_end);
    const inv = await s.invoices(sub.id);
    assert.equal(inv.length, 2);
    assert.equal(inv[1].total, 19900);
    assert.equal(preview.total, inv[1].total, 'the preview is the real invoice');
    assert.deepEqual(
      preview.lines.map((l: any) => [l.description, l.amount]),
      inv[1].lines.map((l: any) => [l.description, l.amount]),
    );
    const afterRenewal = await s.subscription(sub.id);
    assert.notEqual(afterRenewal.plan, sub.plan);
    assert.equal(afterRenewal.pending_changes.length, 0);
    assert.ok(start < afterRenewal.current_period_start);
  });

  it('refuses a change to a plan without a price for the interval, naming the parameter', async () => {
    const c = await s.customer('Picky');
    const sub = await s.subscribe(c, 'pro');
    const r = await s.api.post(`/v1/subscriptions/${sub.id}/change`, { interval: 'year' });
    assert.equal(r.status, 400);
    assert.equal(r.body.error.param, 'interval');
    const none = await s.api.post(`/v1/subscriptions/${sub.id}/change`, {});
    assert.equal(none.status, 400);
  });
});

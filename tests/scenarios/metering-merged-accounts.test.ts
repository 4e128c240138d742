import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { scenario, type Customer, type Scenario } from './dsl.ts';

/**
 * A subscription keeps naming the account it was created for; when that account (B) is merged
 * into another (A), its events move to A. Usage of B's subscription must then count what A holds:
 * B's events (moved), A's own, and what arrives afterwards under either identity.
 */
describe('metering on merged accounts', () => {
  let s: Scenario;
  let a: Customer;
  let b: Customer;
  let sub: any;
  before(async () => {
    s = await scenario('2026-03-01T00:00:00Z');
    await s.metric('api_calls', 'API Call');
    // 1¢ per call, nothing flat: the usage line's quantity and amount are the counted events.
    await s.plan({ key: 'metered', prices: [{ type: 'usage', billable_metric: 'api_calls', charge_model: 'per_unit', unit_amount: 1 }] });
    a = await s.customer('Survivor');
    b = await s.customer('Merged');
    sub = await s.subscribe(b, 'metered');
  });
  after(() => s.close());

  const usageQuantity = (inv: any) => inv.lines.find((l: any) => l.kind === 'usage')?.quantity;

  it("counts B's and A's events on B's subscription after B is merged into A", async () => {
    await s.track(b, 'API Call', 3);
    await s.track(a, 'API Call', 5);
    let upcoming = await s.ok(s.api.get(`/v1/invoices/upcoming?subscription=${sub.id}`));
    assert.equal(usageQuantity(upcoming), '3', "before the merge: B's events only");

    const merged = await s.ok(s.api.post(`/v1/accounts/${b.id}/merge`, { into: a.id }));
    assert.equal(merged.moved.events, 3);
    const [row] = await s.h.database.query<{ n: number }>('SELECT count(*)::int AS n FROM product_events WHERE account_id = $1', [b.id]);
    assert.equal(row.n, 0, "B's events now belong to A");

    upcoming = await s.ok(s.api.get(`/v1/invoices/upcoming?subscription=${sub.id}`));
    assert.equal(usageQuantity(upcoming), '8', "B's 3 (moved) + A's 5");

    // Later events, sent under A's identity and under B's old group id, both land on A and count.
    await s.track(a, 'API Call', 2);
    await s.track(b, 'API Call', 4);
    upcoming = await s.ok(s.api.get(`/v1/invoices/upcoming?subscription=${sub.id}`));
    assert.equal(usageQuantity(upcoming), '14');

    await s.advance(sub.current_period_end);
    const invoices = await s.invoices(sub.id);
    const renewal = invoices.at(-1);
    const usage = renewal.lines.find((l: any) => l.kind === 'usage');
    assert.equal(usage.period.start, sub.current_period_start, 'usage billed for the period that ended');
    assert.equal(usage.quantity, '14', "the renewal invoice bills B's subscription for every event of the merged account");
    assert.equal(renewal.total, 14);
  });

  it('does not count the events of an account merely sharing a workspace', async () => {
    const other = await s.customer('Bystander');
    await s.track(other, 'API Call', 7);
    const upcoming = await s.ok(s.api.get(`/v1/invoices/upcoming?subscription=${sub.id}`));
    assert.equal(usageQuantity(upcoming), '0', 'the new period starts empty; the bystander counts for nobody else');
  });
});

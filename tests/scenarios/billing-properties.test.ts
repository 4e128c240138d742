import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { startHarness, type Harness } from '../support/harness.ts';
import { Scenario } from './dsl.ts';

type Op = { kind: 'plan'; plan: 'starter' | 'pro' | 'business' } | { kind: 'seats'; n: number } | { kind: 'wait'; days: number } | { kind: 'schedule'; plan: 'starter' | 'pro' } | { kind: 'billrun' };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('plan' as const), plan: fc.constantFrom('starter' as const, 'pro' as const, 'business' as const) }),
  fc.record({ kind: fc.constant('seats' as const), n: fc.integer({ min: 1, max: 20 }) }),
  fc.record({ kind: fc.constant('wait' as const), days: fc.integer({ min: 1, max: 45 }) }),
  fc.record({ kind: fc.constant('schedule' as const), plan: fc.constantFrom('starter' as const, 'pro' as const) }),
  fc.record({ kind: fc.constant('billrun' as const) }),
);

/**
 * For any sequence of upgrades, downgrades, seat changes, scheduled changes, bill runs and time
 * passing: every invoice's total is the sum of its integer lines; amount due = total − applied
 * balance; no (subscription, charge, period) is billed twice; recurring periods never overlap;
 * credit balances never go negative; a bill run re-run creates nothing.
 */
describe('billing invariants under random change sequences', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  it('holds for generated sequences', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 8 }), fc.constantFrom('2024-01-31T00:00:00Z', '2026-02-28T12:00:00Z', '2026-03-15T08:30:00Z'), async (ops, start) => {
        const ws = await h.workspace({ name: `prop ${run++}`, clockStart: start });
        const s = new Scenario(h, ws);
        await s.plan({ key: 'starter', prices: [{ type: 'per_seat', unit_amount: 900 }] });
        await s.plan({ key: 'pro', prices: [{ type: 'per_seat', unit_amount: 2900 }, { type: 'flat', unit_amount: 10000 }] });
        await s.plan({ key: 'business', prices: [{ type: 'flat', unit_amount: 99000 }] });
        const c = await s.customer('Prop');
        const sub = await s.subscribe(c, 'starter', { quantity: 3 });
        for (const o of ops) {
          if (o.kind === 'plan') await s.api.post(`/v1/subscriptions/${sub.id}/change`, { plan: o.plan });
          else if (o.kind === 'seats') await s.api.post(`/v1/subscriptions/${sub.id}/change`, { quantity: o.n });
          else if (o.kind === 'schedule') await s.api.post(`/v1/subscriptions/${sub.id}/change`, { plan: o.plan, effective: 'period_end' });
          else if (o.kind === 'billrun') await s.api.post('/v1/bill_runs', {});
          else await s.advance(`P${o.days}D`);
          await s.settle();
        }
        const invoices = await h.database.query<any>('SELECT * FROM invoices WHERE workspace_id = $1', [ws.id]);
        const lines = await h.database.query<any>('SELECT * FROM invoice_lines WHERE workspace_id = $1', [ws.id]);
        for (const inv of invoices) {
          const own = lines.filter((l) => l.invoice_id === inv.id);
          assert.ok(own.length > 0, 'no empty invoice');
          assert.ok(own.every((l) => Number.isSafeInteger(l.amount)));
          assert.equal(inv.total, own.reduce((sum, l) => sum + l.amount, 0));
          assert.equal(inv.amount_due, inv.total - inv.balance_applied);
          assert.ok(inv.amount_due >= 0);
        }
        const keys = lines.map((l) => `${l.subscription_id}|${l.charge_key}|${new Date(l.period_start).toISOString()}`);
        assert.equal(new Set(keys).size, keys.length, 'a charge and period billed twice');
        const recurring = lines.filter((l) => l.kind === 'recurring').sort((a, b) => +new Date(a.period_start) - +new Date(b.period_start));
        const byPrice = new Map<string, any[]>();
        for (const l of recurring) byPrice.set(l.price_id, [...(byPrice.get(l.price_id) ?? []), l]);
        for (const ls of byPrice.values()) {
          for (let i = 1; i < ls.length; i++) assert.ok(+new Date(ls[i].period_start) >= +new Date(ls[i - 1].period_end), 'recurring periods overlap');
        }
        const balances = await h.database.query<any>('SELECT credit FROM account_balances WHERE workspace_id = $1', [ws.id]);
        assert.ok(balances.every((b) => b.credit >= 0));
        const rerun = await s.ok(s.api.post('/v1/bill_runs', {}));
        assert.equal(rerun.invoices_created, 0);
      }),
      { numRuns: 12 },
    );
  });
});

describe('bill runs', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  it('a bill run interrupted half-way finishes on re-run with no duplicate and no gap', async () => {
    const ws = await h.workspace({ clockStart: '2026-01-01T00:00:00Z' });
    const s = new Scenario(h, ws);
    await s.plan({ key: 'p', prices: [{ type: 'flat', unit_amount: 1000 }] });
    const subs = [];
    for (let i = 0; i < 6; i++) subs.push(await s.subscribe(await s.customer(`C${i}`), 'p'));
    // Renewal jobs are removed, as if the workers were down; the bill run does the renewals.
    await h.database.query(`DELETE FROM jobs WHERE workspace_id = $1 AND kind = 'billing.renew'`, [ws.id]);
    await s.advance('2026-02-01T00:00:00Z');
    // Break one subscription's renewal half-way through the run (its plan version is unreadable).
    await h.database.query(`UPDATE subscriptions SET plan_version_id = 'plv_missing' WHERE id = $1`, [subs[3].id]);
    const first = await s.ok(s.api.post('/v1/bill_runs', {}));
    assert.equal(first.subscriptions_due, 6);
    assert.equal(first.invoices_created, 5);
    assert.equal(first.failed.length, 1);
    const repaired = await h.database.query<{ plan_version_id: string }>(`SELECT plan_version_id FROM subscriptions WHERE id = $1`, [subs[0].id]);
    await h.database.query(`UPDATE subscriptions SET plan_version_id = $1 WHERE id = $2`, [repaired[0].plan_version_id, subs[3].id]);
    const second = await s.ok(s.api.post('/v1/bill_runs', {}));
    assert.equal(second.subscriptions_due, 1);
    assert.equal(second.invoices_created, 1);
    const third = await s.ok(s.api.post('/v1/bill_runs', {}));
    assert.equal(third.subscriptions_due, 0);
    for (const sub of subs) assert.equal((await s.invoices(sub.id)).length, 2, `${sub.id}: one first invoice, one renewal`);
  });

  it('a renewal job and a bill run racing for the same period bill it once', async () => {
    const ws = await h.workspace({ clockStart: '2026-01-01T00:00:00Z' });
    const s = new Scenario(h, ws);
    await s.plan({ key: 'p', prices: [{ type: 'flat', unit_amount: 1000 }] });
    const sub = await s.subscribe(await s.customer('Racer'), 'p');
    await h.database.query(`UPDATE workspaces SET test_clock_time = '2026-02-01T00:00:00Z' WHERE id = $1`, [ws.id]);
    const [a, b] = await Promise.all([s.api.post('/v1/bill_runs', {}), h.tandem.runner.drain()]);
    assert.equal(a.status, 200);
    assert.ok(b >= 0);
    assert.equal((await s.invoices(sub.id)).length, 2);
  });
});

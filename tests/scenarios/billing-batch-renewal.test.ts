import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runBillRun } from '../../src/modules/billing/index.ts';
import { rebuildUsageRollups } from '../../src/modules/metering/index.ts';
import { startHarness, type Harness } from '../support/harness.ts';
import { Scenario } from './dsl.ts';

/**
 * The batch renewal (a bill run renewing many subscriptions per transaction) bills exactly what
 * the renewal jobs bill one subscription at a time. Two workspaces live the same story — 50
 * subscriptions on flat, per-seat, metered and package-priced plans, with trials, Net terms, a
 * declining card, scheduled plan / seat / price / collection-method changes, cancellations at
 * period end and credit from a mid-cycle downgrade — for ten weeks: in one the renewal jobs run
 * as the clock moves, in the other the jobs are gone and one bill run (in several batches, some
 * at once on PostgreSQL) catches up, period by period. Every subscription ends with the same
 * invoices, line for line, and the same state.
 */
const START = '2026-01-10T00:00:00Z';
const CHANGES_AT = '2026-01-15T00:00:00Z';
const END = '2026-03-25T00:00:00Z';
const N = 50;

async function story(h: Harness, name: string) {
  const ws = await h.workspace({ name, clockStart: START });
  const s = new Scenario(h, ws);
  await s.metric('api_calls', 'API Call');
  await s.metric('gb_stored', 'Storage Measured', 'max', 'gb');
  const basic = await s.plan({ key: 'basic', prices: [{ type: 'flat', interval: 'month', unit_amount: 1500 }, { type: 'flat', interval: 'year', unit_amount: 15000 }] });
  await s.plan({ key: 'team', prices: [{ type: 'per_seat', unit_amount: 800 }] });
  await s.plan({
    key: 'metered',
    prices: [
      { type: 'flat', unit_amount: 500 },
      { type: 'usage', billable_metric: 'api_calls', charge_model: 'graduated', tiers: [{ up_to: 100, unit_amount: 0 }, { up_to: null, unit_amount_decimal: '2.5' }] },
    ],
  });
  await s.plan({ key: 'storage', prices: [{ type: 'usage', billable_metric: 'gb_stored', charge_model: 'package', package_size: 10, package_amount: 300, minimum_amount: 200 }] });
  const basicMonthly = basic.prices.find((p: any) => p.interval === 'month').id;

  const subs: any[] = [];
  for (let i = 0; i < N; i++) {
    const plan = ['basic', 'team', 'metered', 'storage'][i % 4];
    const net = i % 5 === 2;
    const c = await s.customer(`C${i}`, { card: net ? null : i % 13 === 7 ? '4000000000000341' : '4242424242424242' });
    subs.push(
      await s.subscribe(c, plan, {
        ...(plan === 'team' ? { quantity: 1 + (i % 5) } : {}),
        ...(i % 6 === 0 ? { trial_days: 14 } : {}),
        ...(net ? { collection_method: 'send_invoice', days_until_due: 30 } : {}),
        ...(plan === 'basic' && i % 10 === 8 ? { interval: 'year' } : {}),
        ...(i % 13 === 7 ? { dunning_final_action: 'past_due' } : {}),
      }),
    );
  }
  // Usage in the first two periods: the same events, at the same instants, in both workspaces.
  for (const [i, sub] of subs.entries()) {
    if (i % 4 === 2) {
      for (const [day, count] of [['2026-01-20', 40 + i * 7], ['2026-02-20', 150 + i * 3]] as const) {
        await h.database.query(
          `INSERT INTO product_events (id, workspace_id, message_id, type, event, user_id, account_id, timestamp, received_at, properties)
           SELECT 'pev_' || md5($2 || $3 || g), $1, md5($2 || $3 || g), 'track', 'API Call', 'u', $2, $3::timestamptz, $3::timestamptz, '{}'::jsonb
           FROM generate_series(1, $4::int) g`,
          [ws.id, sub.account, `${day}T12:00:00Z`, count],
        );
      }
    }
    if (i % 4 === 3) {
      for (const [day, gb] of [['2026-01-21', 12 + i], ['2026-02-21', 3 * i + 0.5], ['2026-03-01', 7]] as const) {
        await h.database.query(
          `INSERT INTO product_events (id, workspace_id, message_id, type, event, user_id, account_id, timestamp, received_at, properties)
           VALUES ('pev_' || md5($2 || $3), $1, md5($2 || $3), 'track', 'Storage Measured', 'u', $2, $3::timestamptz, $3::timestamptz, jsonb_build_object('gb', $4::numeric))`,
          [ws.id, sub.account, `${day}T08:00:00Z`, gb],
        );
      }
    }
  }
  // Written straight to product_events (not through ingestion): their usage rollups are rebuilt.
  await rebuildUsageRollups(h.database.db, ws.id);
  await s.advance(CHANGES_AT);
  for (const [i, sub] of subs.entries()) {
    const trialing = i % 6 === 0;
    const annual = i % 4 === 0 && i % 10 === 8;
    if (i % 7 === 1 && !annual) await s.change(sub.id, { plan: 'team', quantity: 3, effective: 'period_end' });
    if (i % 7 === 3 && i % 5 !== 2) await s.change(sub.id, { collection_method: 'send_invoice', days_until_due: 45, effective: 'period_end' });
    if (i % 8 === 0 && i % 4 === 0 && !(i % 7 === 1)) await s.change(sub.id, { price_overrides: { [basicMonthly]: 1200 }, effective: 'period_end' });
    if (i % 11 === 4) await s.cancel(sub.id, { at_period_end: true });
    if (i % 4 === 1 && !trialing && 1 + (i % 5) > 1 && i % 7 !== 1) await s.change(sub.id, { quantity: 1 }); // a credit note for the unused seats
  }
  return { s, ws, subs };
}

const invoiceShape = (inv: any) => ({
  billing_reason: inv.billing_reason,
  status: inv.status,
  collection_method: inv.collection_method,
  days_until_due: inv.days_until_due,
  period: [inv.period_start, inv.period_end],
  subtotal: inv.subtotal,
  total: inv.total,
  balance_applied: inv.balance_applied,
  amount_due: inv.amount_due,
  amount_paid: inv.amount_paid,
  due_date: inv.due_date,
  finalized_at: inv.finalized_at,
  attempt_count: inv.attempt_count,
  lines: inv.lines.map((l: any) => [l.kind, l.description, l.quantity, l.unit_amount_decimal, l.amount, l.period.start, l.period.end]),
});

async function outcome(s: Scenario, subs: any[]) {
  const plans = await s.ok(s.api.get('/v1/plans?limit=100'));
  const keyOf = new Map(plans.data.map((p: any) => [p.id, p.key]));
  const out = [];
  for (const sub of subs) {
    const now = await s.subscription(sub.id);
    const history = await s.ok(s.api.get(`/v1/subscriptions/${sub.id}/history`));
    out.push({
      invoices: (await s.invoices(sub.id)).map(invoiceShape),
      state: {
        status: now.status,
        plan: keyOf.get(now.plan),
        interval: now.interval,
        quantity: now.quantity,
        collection_method: now.collection_method,
        days_until_due: now.days_until_due,
        period: [now.current_period_start, now.current_period_end],
        cancel_at_period_end: now.cancel_at_period_end,
        ended_at: now.ended_at,
        pending_changes: now.pending_changes.length,
      },
      history: history.data.map((e: any) => [e.type, e.effective_at]).filter(([t]: string[]) => t === 'renewed' || t === 'ended'),
    });
  }
  return out;
}

async function eventCounts(h: Harness, workspaceId: string) {
  const rows = await h.database.query<{ type: string; n: number }>(
    `SELECT type, count(*)::int AS n FROM events WHERE workspace_id = $1 AND type IN ('invoice.finalized', 'invoice.paid', 'subscription.canceled', 'subscription.payment_method_changed') GROUP BY type ORDER BY type`,
    [workspaceId],
  );
  return Object.fromEntries(rows.map((r) => [r.type, r.n]));
}

async function invoiceNumbers(h: Harness, workspaceId: string) {
  const rows = await h.database.query<{ number: string }>(`SELECT number FROM invoices WHERE workspace_id = $1 AND number IS NOT NULL ORDER BY number`, [workspaceId]);
  return rows.map((r) => r.number);
}

describe('batch renewal = one-by-one renewal', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  it('a bill run renewing 50 mixed subscriptions in batches bills what the renewal jobs bill', async () => {
    const jobs = await story(h, 'jobs');
    await jobs.s.advance(END);

    const batch = await story(h, 'bill run');
    // The renewal jobs are gone (workers down); the clock moves with only collections and overdue checks running.
    await h.database.query(`DELETE FROM jobs WHERE workspace_id = $1 AND kind = 'billing.renew'`, [batch.ws.id]);
    await batch.s.advance(END);
    const run = await runBillRun({ deps: h.tandem.deps, workspaceId: batch.ws.id, asOf: new Date(END), actor: { type: 'system', id: 'test' } }, { batchSize: 16, concurrency: 3 });
    await batch.s.settle();
    assert.deepEqual(run.failed, []);
    const renewedByJobs = await h.database.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM subscription_events WHERE workspace_id = $1 AND type IN ('renewed', 'ended')`,
      [jobs.ws.id],
    );
    assert.equal(run.renewed, renewedByJobs[0].n, 'as many renewals, period by period');
    assert.ok(run.renewed > N, 'subscriptions several periods behind renewed more than once');

    const [a, b] = [await outcome(jobs.s, jobs.subs), await outcome(batch.s, batch.subs)];
    // The story covers what it claims to.
    const invoices = a.flatMap((o) => o.invoices);
    assert.ok(invoices.some((i) => i.balance_applied > 0), 'credit consumed at renewal');
    assert.ok(invoices.some((i) => i.lines.some((l: any[]) => l[0] === 'usage' && Number(l[4]) > 0)), 'usage billed');
    assert.ok(invoices.some((i) => i.billing_reason === 'subscription_cancel'), 'a cancellation at period end');
    assert.ok(invoices.some((i) => i.status === 'open') && invoices.some((i) => i.status === 'paid'), 'open and paid invoices');
    assert.ok(a.some((o) => o.state.status === 'canceled') && a.some((o) => o.state.status === 'past_due'), 'ended and delinquent subscriptions');
    assert.ok(a.some((o, i) => o.state.collection_method === 'send_invoice' && i % 5 !== 2), 'a collection method switched at renewal');
    assert.ok(a.some((o, i) => o.state.plan === 'team' && i % 4 !== 1), 'a plan changed at renewal');
    for (let i = 0; i < N; i++) assert.deepEqual(b[i], a[i], `subscription #${i}`);
    assert.deepEqual(await eventCounts(h, batch.ws.id), await eventCounts(h, jobs.ws.id));

    // Numbers stay sequential without gaps; a re-run finds nothing to do.
    for (const ws of [jobs.ws, batch.ws]) {
      const numbers = await invoiceNumbers(h, ws.id);
      assert.deepEqual(numbers, numbers.map((_, i) => `INV-${String(i + 1).padStart(6, '0')}`));
    }
    const again = await batch.s.ok(batch.s.api.post('/v1/bill_runs', {}));
    assert.equal(again.subscriptions_due, 0);
    assert.equal(again.invoices_created, 0);
  });
});

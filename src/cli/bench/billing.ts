import { ManualClock } from '../../kernel/clock.ts';
import { createMetric, createPlan, getCurrentPlanVersion } from '../../modules/catalog/index.ts';
import { runBillRun } from '../../modules/billing/index.ts';
import { rebuildUsageRollups } from '../../modules/metering/index.ts';
import { createWorkspace } from '../../modules/workspaces/index.ts';
import { createTandem } from '../../tandem.ts';
import type { Ctx } from '../../context.ts';
import { scratchDatabase } from './ingest-server.ts';

/**
 * `tandem bench billing`: N subscriptions on a plan with a flat fee and a graduated usage price,
 * each account with a few usage events, all due at once; then one bill run (timed), then the
 * same bill run again (timed: it must find nothing to do). Setup is set-based SQL (the bench
 * measures billing, not the API). Prints one JSON line.
 */
export async function benchBilling(opts: { subscriptions?: number; eventsPerAccount?: number; concurrency?: number }) {
  const url = process.env.DATABASE_URL || undefined;
  const n = opts.subscriptions ?? (url ? 100_000 : 2_000);
  const eventsPer = opts.eventsPerAccount ?? 3;
  // A scratch database next to the configured one (dropped at the end), or in-memory PGlite.
  const scratch = await scratchDatabase('billing', { memory: true });
  const database = await scratch.open((opts.concurrency ?? 8) + 2);
  await database.migrate();
  const clock = new ManualClock('2026-01-01T00:00:00Z');
  const t = await createTandem({ database, clock });
  const start = new Date('2026-01-01T00:00:00Z');
  const ws = await createWorkspace(t.deps, { name: 'Bench', sandbox: true, clockStart: start });
  const ctx: Ctx = { deps: t.deps, workspaceId: ws.workspace.id, asOf: start, actor: { type: 'cli' } };
  await createMetric(ctx, { key: 'api_calls', name: 'API calls', event_name: 'API Call', aggregation: 'count' });
  const plan = await createPlan(ctx, {
    key: 'pro',
    name: 'Pro',
    currency: 'usd',
    prices: [
      { type: 'flat', interval: 'month', unit_amount: 19900 },
      { type: 'usage', interval: 'month', billable_metric: 'api_calls', charge_model: 'graduated', tiers: [{ up_to: 1, unit_amount: 0 }, { up_to: null, unit_amount_decimal: '25' }] },
    ],
  } as never);
  const version = await getCurrentPlanVersion(database.db, ctx.workspaceId, plan.plan.id);
  const w = ctx.workspaceId;
  const periodEnd = '2026-02-01T00:00:00Z';
  const setup0 = performance.now();
  // Accounts, subscriptions (due at periodEnd) and usage events, set-based.
  await database.query(
    `INSERT INTO accounts (id, workspace_id, external_id, name, status, traits, created_at, updated_at)
     SELECT 'acct_bench' || lpad(i::text, 8, '0'), $1, 'ext-' || i, 'Company ' || i, 'active', '{}'::jsonb, $2, $2 FROM generate_series(1, $3::int) i`,
    [w, start, n],
  );
  await database.query(
    `INSERT INTO subscriptions (id, workspace_id, account_id, status, plan_id, plan_version_id, interval, currency, quantity, collection_method,
        days_until_due, anchor_day, current_period_start, current_period_end, usage_since, created_at, updated_at)
     SELECT 'sub_bench' || lpad(i::text, 8, '0'), $1, 'acct_bench' || lpad(i::text, 8, '0'), 'active', $2, $3, 'month', 'usd', 1, 'send_invoice',
        30, 1, $4, $5, $4, $4, $4 FROM generate_series(1, $6::int) i`,
    [w, plan.plan.id, version.id, start, periodEnd, n],
  );
  await database.query(
    `INSERT INTO product_events (id, workspace_id, message_id, type, event, user_id, account_id, timestamp, received_at, properties)
     SELECT 'pev_bench' || i || '_' || e, $1, 'm-' || i || '-' || e, 'track', 'API Call', 'u' || i, 'acct_bench' || lpad(i::text, 8, '0'),
        $2::timestamptz + (e || ' hours')::interval, $2::timestamptz + (e || ' hours')::interval, '{}'::jsonb
     FROM generate_series(1, $3::int) i, generate_series(1, $4::int) e`,
    [w, start, n, eventsPer],
  );
  // Loaded straight into product_events, not through ingestion: build their usage rollups.
  await rebuildUsageRollups(database.db, w);
  const setupS = (performance.now() - setup0) / 1000;
  await database.query(`UPDATE workspaces SET test_clock_time = $1 WHERE id = $2`, [periodEnd, w]);
  const runCtx: Ctx = { ...ctx, asOf: new Date(periodEnd) };
  const t0 = performance.now();
  const r = await runBillRun(runCtx, { concurrency: opts.concurrency ?? 8 });
  const seconds = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  const again = await runBillRun(runCtx, { concurrency: opts.concurrency ?? 8 });
  const rerunSeconds = (performance.now() - t1) / 1000;
  const [check] = await database.query<{ invoices: number; total: string }>(`SELECT count(*)::int AS invoices, coalesce(sum(total), 0)::text AS total FROM invoices WHERE workspace_id = $1 AND billing_reason = 'subscription_cycle'`, [w]);
  const expectedPer = 19900 + (eventsPer - 1) * 25;
  const out = {
    database: database.kind,
    subscriptions: n,
    invoices: r.invoices_created,
    seconds: Number(seconds.toFixed(2)),
    invoices_per_s: Math.round(r.invoices_created / seconds),
    rerun_seconds: Number(rerunSeconds.toFixed(2)),
    rerun_invoices: again.invoices_created,
    failed: r.failed.length,
    invoices_in_db: check.invoices,
    total_correct: check.total === String(expectedPer * n),
    setup_seconds: Number(setupS.toFixed(2)),
  };
  await t.close();
  await database.close();
  await scratch.drop();
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

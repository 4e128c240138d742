import type { Ctx, Db } from '../../context.ts';
import { publish } from '../../jobs/outbox.ts';
import { newId } from '../../kernel/ids.ts';
import { rows, sql } from '../../db/sql.ts';
import { dec } from '../../kernel/decimal.ts';
import { notFound } from '../../kernel/errors.ts';
import { listSubscriptions, LIVE_STATUSES, type Subscription } from '../billing/index.ts';
import { findMetrics, getEntitlements, type BillableMetric, type Entitlement } from '../catalog/index.ts';
import { usageForPeriods } from '../metering/index.ts';
import { mergedInto } from '../accounts/index.ts';
import { execIn } from '../events/index.ts';
import { limitWindow } from './entitlements.ts';

/** Thresholds announced once per subscription, feature and period: 80 % (approaching) and 100 % (reached). */
export const THRESHOLDS = [80, 100] as const;

/** The job's debounce key: one pending threshold check per workspace. */
const THRESHOLDS_KEY = 'entitlements.thresholds';
/**
 * How long a live workspace's check waits for more accounts before it runs. A sandbox's check is
 * due at once: its clock moves only when advanced, and a test reads alerts right after ingesting.
 */
export const THRESHOLD_CHECK_DELAY_MS = 1000;

/**
 * After events arrive for accounts, their metered limits are checked in a job, outside the
 * ingestion request. ONE pending job per workspace carries the set of accounts touched since the
 * last check started (payload `{accounts: {<id>: true, …}}`): each call adds its accounts to the
 * pending job (an upsert on the debounce index) or queues a new one, due THRESHOLD_CHECK_DELAY_MS
 * later in a live workspace. So checks cost one job per workspace per second under any ingest
 * rate, and each account is checked once per job however many batches touched it. Example: 300
 * batches in a second touching 1,000 accounts → one job checking 1,000 accounts (before: one
 * job per account per batch that found none pending).
 *
 * The merge is skipped when the pending set already holds every account (`@>` on the object's
 * sorted keys), so steady traffic over the same accounts does not rewrite the row. Once a job
 * has been claimed it is no longer pending: accounts touched meanwhile start the next one, which
 * sees their events. Worst case an account is checked twice; `usage_alerts` keeps each
 * announcement to once per period.
 */
export async function scheduleThresholdChecks(ctx: Ctx, accountIds: readonly string[]): Promise<void> {
  const accounts: Record<string, true> = {};
  let n = 0;
  for (const a of accountIds) if (a && !accounts[a]) ((accounts[a] = true), n++);
  if (n === 0) return;
  const asOf = ctx.asOf.toISOString();
  await ctx.deps.database.db.execute(sql`
    INSERT INTO jobs (id, workspace_id, kind, payload, run_at, debounce_key, max_attempts, created_at)
    SELECT ${newId('job')}, w.id, ${THRESHOLDS_KEY}, jsonb_build_object('accounts', ${JSON.stringify(accounts)}::jsonb),
           ${asOf}::timestamptz + CASE WHEN w.sandbox THEN interval '0' ELSE ${THRESHOLD_CHECK_DELAY_MS}::int * interval '1 millisecond' END,
           ${THRESHOLDS_KEY}, 10, ${asOf}::timestamptz
    FROM workspaces w WHERE w.id = ${ctx.workspaceId}
    ON CONFLICT (coalesce(workspace_id, ''), debounce_key) WHERE debounce_key IS NOT NULL AND status = 'pending' AND attempts = 0
    DO UPDATE SET payload = jsonb_build_object('accounts', coalesce(jobs.payload->'accounts', '{}'::jsonb) || (EXCLUDED.payload->'accounts'))
    WHERE NOT coalesce((jobs.payload->'accounts') @> (EXCLUDED.payload->'accounts'), false)`);
}

/** The accounts a threshold job checks (also the one-account payload of jobs queued before the set). */
export function accountsOfJob(payload: Record<string, unknown>): string[] {
  const set = payload.accounts;
  const out = set && typeof set === 'object' && !Array.isArray(set) ? Object.keys(set) : [];
  if (typeof payload.account_id === 'string') out.push(payload.account_id);
  return [...new Set(out)].sort();
}

/** Subscriptions read per page when scanning a workspace's instead of asking account by account. */
const SUBSCRIPTION_PAGE = 1000;

/**
 * The live subscription of each account (the newest live one, as `listSubscriptions` orders
 * them), read the cheaper way: by scanning the workspace's subscriptions a page at a time while
 * that costs fewer queries than one per account (a page counts as ten), else account by account.
 * Example: 1,000 accounts in a workspace with 2,500 subscriptions → 3 pages instead of 1,000
 * queries; with no subscription at all → one query.
 */
async function liveSubscriptions(inTx: Ctx, accountIds: readonly string[]): Promise<Map<string, Subscription>> {
  const wanted = new Set(accountIds);
  const found = new Map<string, Subscription>();
  const maxPages = Math.max(1, Math.floor(wanted.size / 10));
  let after: string | undefined;
  for (let page = 0; page < maxPages; page++) {
    const subs = await listSubscriptions(inTx, { limit: SUBSCRIPTION_PAGE, startingAfter: after });
    const more = subs.length > SUBSCRIPTION_PAGE;
    for (const s of more ? subs.slice(0, SUBSCRIPTION_PAGE) : subs) {
      if (wanted.has(s.accountId) && !found.has(s.accountId) && LIVE_STATUSES.includes(s.status)) found.set(s.accountId, s);
    }
    if (!more) return found;
    after = subs[SUBSCRIPTION_PAGE - 1].id;
  }
  found.clear();
  for (const a of wanted) {
    const subs = await listSubscriptions(inTx, { limit: 50, accountId: a });
    const sub = subs.find((s) => LIVE_STATUSES.includes(s.status));
    if (sub) found.set(a, sub);
  }
  return found;
}

/** Checks every account of a threshold job (see `checkThresholds`); returns the announcements made. */
export async function checkThresholdsMany(tx: Db, ctx: Ctx, accountIds: readonly string[]): Promise<number> {
  if (accountIds.length === 0) return 0;
  // Events land on a merge's survivor; a merged account's subscription keeps its old id and
  // counts the survivor's events (metering resolves it), so it is checked with its survivor.
  const merged = await mergedInto(execIn(tx), ctx.workspaceId, accountIds);
  const all = [...new Set([...accountIds, ...merged])];
  const subs = await liveSubscriptions(inTxCtx(tx, ctx), all);
  return checkSubscriptions(
    tx,
    ctx,
    all.flatMap((a) => {
      const sub = subs.get(a);
      return sub ? [{ accountId: a, sub }] : [];
    }),
  );
}

const inTxCtx = (tx: Db, ctx: Ctx): Ctx => ({ ...ctx, deps: { ...ctx.deps, database: { ...ctx.deps.database, db: tx } } });

/**
 * Publishes `usage.threshold_crossed` for each limit the account's usage has reached 80 % or
 * 100 % of in the current window, once: the `usage_alerts` row (unique per subscription,
 * feature, period start and threshold) is the proof it was announced.
 */
export async function checkThresholds(tx: Db, ctx: Ctx, accountId: string): Promise<number> {
  // Billing's reader takes a ctx; inside this job's transaction it must read through `tx`.
  const subs = await listSubscriptions(inTxCtx(tx, ctx), { limit: 50, accountId });
  const sub = subs.find((s) => LIVE_STATUSES.includes(s.status));
  return sub ? checkSubscriptions(tx, ctx, [{ accountId, sub }]) : 0;
}

/**
 * Checks the metered limits of each (account, live subscription), reading in bulk: each plan
 * version's entitlements once, their metrics in one statement, and the usage of every account in
 * one statement per metric (the shared aggregation, `usageForPeriods`). Example: a job of 100
 * accounts on one plan with one metered limit → 3 reads, where it was 4 per account (400), each
 * costing this process's event loop — which answers the entitlement checks — its share.
 */
async function checkSubscriptions(tx: Db, ctx: Ctx, items: ReadonlyArray<{ accountId: string; sub: Subscription }>): Promise<number> {
  const entsOf = new Map<string, Entitlement[]>();
  for (const { sub } of items) {
    if (entsOf.has(sub.planVersionId)) continue;
    const ents = await getEntitlements(tx, ctx.workspaceId, sub.planVersionId);
    entsOf.set(
      sub.planVersionId,
      ents.filter((e) => e.featureType === 'limit' && e.limit !== null && e.limit > 0 && e.billableMetricId),
    );
  }
  const metricIds = [...new Set([...entsOf.values()].flat().map((e) => e.billableMetricId as string))];
  const metrics = new Map<string, BillableMetric>((metricIds.length ? await findMetrics(tx, ctx.workspaceId, metricIds) : []).map((m) => [m.id, m]));
  const checks = items.flatMap(({ accountId, sub }) =>
    (entsOf.get(sub.planVersionId) ?? []).map((ent) => ({ accountId, sub, ent, window: limitWindow(ent.period, sub, ctx.asOf), key: '' })),
  );
  const byMetric = new Map<string, typeof checks>();
  checks.forEach((c, i) => {
    c.key = String(i);
    const list = byMetric.get(c.ent.billableMetricId as string);
    if (list) list.push(c);
    else byMetric.set(c.ent.billableMetricId as string, [c]);
  });
  const used = new Map<string, string>();
  for (const [metricId, list] of byMetric) {
    const metric = metrics.get(metricId);
    if (!metric) throw notFound('billable metric', metricId);
    const values = await usageForPeriods(tx, { workspaceId: ctx.workspaceId, metric, periods: list.map((c) => ({ key: c.key, accountId: c.accountId, start: c.window.start, end: c.window.end })) });
    for (const c of list) used.set(c.key, values.get(c.key) ?? '0');
  }
  let announced = 0;
  for (const c of checks) announced += await announce(tx, ctx, c.accountId, c.sub, c.ent, c.window, used.get(c.key) ?? '0');
  return announced;
}

/** The announcements due for one limit at `used`. */
async function announce(tx: Db, ctx: Ctx, accountId: string, sub: Subscription, ent: Entitlement, window: { start: Date; end: Date }, used: string): Promise<number> {
  let announced = 0;
  const limit = ent.limit as number;
  for (const t of THRESHOLDS) {
    // used × 100 ≥ limit × t, in exact decimals
    if (dec(used).times(100).lessThan(dec(limit).times(t))) continue;
    const inserted = await rows(
      tx,
      sql`INSERT INTO usage_alerts (workspace_id, subscription_id, feature_key, period_start, threshold_percent, created_at)
          VALUES (${ctx.workspaceId}, ${sub.id}, ${ent.featureKey}, ${window.start}, ${t}, ${ctx.asOf}) ON CONFLICT DO NOTHING RETURNING 1 AS x`,
    );
    if (!inserted.length) continue;
    announced++;
    await publish(tx, ctx, 'usage.threshold_crossed', {
      account: accountId,
      subscription: sub.id,
      feature: ent.featureKey,
      threshold_percent: t,
      limit: ent.limit,
      used,
      period: { start: window.start.toISOString(), end: window.end.toISOString() },
    });
  }
  return announced;
}

import type { Ctx, Db } from '../../context.ts';
import { publish } from '../../jobs/outbox.ts';
import { enqueueMany } from '../../jobs/queue.ts';
import { rows, sql } from '../../db/sql.ts';
import { dec } from '../../kernel/decimal.ts';
import { listSubscriptions, LIVE_STATUSES } from '../billing/index.ts';
import { getEntitlements, getMetric } from '../catalog/index.ts';
import { usageForPeriod } from '../metering/index.ts';
import { limitWindow } from './entitlements.ts';

/** Thresholds announced once per subscription, feature and period: 80 % (approaching) and 100 % (reached). */
export const THRESHOLDS = [80, 100] as const;

/**
 * After events arrive for an account, its metered limits are checked in a job, outside the
 * ingestion request; debounced per account, so a burst of batches queues one check.
 */
export async function scheduleThresholdChecks(ctx: Ctx, accountIds: readonly string[]): Promise<void> {
  await enqueueMany(
    ctx.deps.database.db,
    accountIds.map((a) => ({ workspaceId: ctx.workspaceId, kind: 'entitlements.thresholds', runAt: ctx.asOf, payload: { account_id: a }, debounceKey: `thresholds:${a}`, asOf: ctx.asOf })),
  );
}

/**
 * Publishes `usage.threshold_crossed` for each limit the account's usage has reached 80 % or
 * 100 % of in the current window, once: the `usage_alerts` row (unique per subscription,
 * feature, period start and threshold) is the proof it was announced.
 */
export async function checkThresholds(tx: Db, ctx: Ctx, accountId: string): Promise<number> {
  // Billing's reader takes a ctx; inside this job's transaction it must read through `tx`.
  const inTx: Ctx = { ...ctx, deps: { ...ctx.deps, database: { ...ctx.deps.database, db: tx } } };
  const subs = await listSubscriptions(inTx, { limit: 50, accountId });
  const sub = subs.find((s) => LIVE_STATUSES.includes(s.status));
  if (!sub) return 0;
  let announced = 0;
  for (const ent of await getEntitlements(tx, ctx.workspaceId, sub.planVersionId)) {
    if (ent.featureType !== 'limit' || ent.limit === null || ent.limit <= 0 || !ent.billableMetricId) continue;
    const window = limitWindow(ent.period, sub, ctx.asOf);
    const metric = await getMetric(tx, ctx.workspaceId, ent.billableMetricId);
    const used = await usageForPeriod(tx, { workspaceId: ctx.workspaceId, accountId, metric, start: window.start, end: window.end });
    for (const t of THRESHOLDS) {
      // used × 100 ≥ limit × t, in exact decimals
      if (dec(used).times(100).lessThan(dec(ent.limit).times(t))) continue;
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
  }
  return announced;
}

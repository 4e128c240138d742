import type { Ctx } from '../../context.ts';
import { dec } from '../../kernel/decimal.ts';
import { notFound } from '../../kernel/errors.ts';
import { resolveAccountId } from '../accounts/index.ts';
import { listSubscriptions, LIVE_STATUSES, type Subscription } from '../billing/index.ts';
import { findFeatureByKey, getEntitlements, getMetric, getPlan } from '../catalog/index.ts';
import { usageForPeriod } from '../metering/index.ts';
import { limitWindow, type EntitlementCheck } from './entitlements.ts';

/**
 * Entitlement checks, answered from an in-process cache that stays correct as events arrive:
 * ingestion calls `invalidateAccounts` for the accounts of every stored batch, so a check after
 * an acknowledged event sees it. A short TTL (1 s by default) bounds what a cache can miss that
 * this process did not see: an event stored by another API process, a subscription change.
 * Entries are keyed by the workspace clock's second too, so advancing a test clock never serves
 * an answer computed for another instant.
 */
const TTL_MS = Number(process.env.TANDEM_ENTITLEMENT_CACHE_MS ?? 1000);
const MAX_ENTRIES = 100_000;
const cache = new Map<string, { at: number; value: EntitlementCheck; accountKey: string }>();
const byAccount = new Map<string, Set<string>>();

const acctKey = (ws: string, account: string) => `${ws}|${account}`;

export function invalidateAccounts(workspaceId: string, accountIds: Iterable<string>): void {
  for (const a of accountIds) {
    const k = acctKey(workspaceId, a);
    for (const key of byAccount.get(k) ?? []) cache.delete(key);
    byAccount.delete(k);
  }
}

export function clearEntitlementCache(): void {
  cache.clear();
  byAccount.clear();
}

async function liveSubscription(ctx: Ctx, accountId: string): Promise<Subscription | undefined> {
  const subs = await listSubscriptions(ctx, { limit: 50, accountId });
  return subs.find((s) => LIVE_STATUSES.includes(s.status));
}

/** Percent with two decimals, as a string: 80000 of 100000 → "80.00". */
function percent(used: string, limit: number): string | null {
  if (limit <= 0) return null;
  return dec(used).times(100).dividedBy(limit).toDecimalPlaces(2).toFixed(2);
}

export async function checkEntitlement(ctx: Ctx, accountRef: string, featureKey: string, opts: { fresh?: boolean } = {}): Promise<EntitlementCheck> {
  const wall = ctx.deps.clock.now().getTime();
  const key = `${ctx.workspaceId}|${accountRef}|${featureKey}|${ctx.asOf.getTime() >= 0 ? Math.floor(ctx.asOf.getTime() / 1000) : 0}`;
  const hit = cache.get(key);
  if (!opts.fresh && hit && wall - hit.at < TTL_MS) return hit.value;
  const value = await compute(ctx, accountRef, featureKey);
  if (cache.size >= MAX_ENTRIES) clearEntitlementCache();
  const ak = acctKey(ctx.workspaceId, value.account);
  cache.set(key, { at: wall, value, accountKey: ak });
  if (!byAccount.has(ak)) byAccount.set(ak, new Set());
  byAccount.get(ak)!.add(key);
  return value;
}

async function compute(ctx: Ctx, accountRef: string, featureKey: string): Promise<EntitlementCheck> {
  const db = ctx.deps.database.db;
  const accountId = await resolveAccountId(db, ctx.workspaceId, accountRef);
  if (!accountId) throw notFound('account', accountRef, 'account');
  const feature = await findFeatureByKey(db, ctx.workspaceId, featureKey);
  if (!feature) throw notFound('feature', featureKey, 'feature');
  const base: EntitlementCheck = { account: accountId, feature: feature.key, allowed: false, type: feature.type, limit: null, used: null, remaining: null, percent_used: null, period: null, subscription: null, plan: null, reason: null };
  const sub = await liveSubscription(ctx, accountId);
  if (!sub) return { ...base, reason: 'no_active_subscription' };
  const plan = await getPlan(db, ctx.workspaceId, sub.planId);
  const ent = (await getEntitlements(db, ctx.workspaceId, sub.planVersionId)).find((e) => e.featureId === feature.id);
  const withSub = { ...base, subscription: sub.id, plan: plan.key };
  if (!ent) return { ...withSub, reason: 'not_in_plan' };
  if (feature.type === 'boolean') return { ...withSub, allowed: ent.enabled, reason: ent.enabled ? null : 'feature_disabled' };
  const window = limitWindow(ent.period, sub, ctx.asOf);
  const period = { start: window.start.toISOString(), end: window.end.toISOString() };
  if (!ent.billableMetricId) return { ...withSub, allowed: true, limit: ent.limit, period, reason: 'no_meter' };
  const metric = await getMetric(db, ctx.workspaceId, ent.billableMetricId);
  const used = await usageForPeriod(db, { workspaceId: ctx.workspaceId, accountId, metric, start: window.start, end: window.end });
  if (ent.limit === null) return { ...withSub, allowed: true, limit: null, used, period };
  const left = dec(ent.limit).minus(used);
  const remaining = left.isNegative() ? '0' : left.toString();
  const allowed = left.greaterThan(0);
  return { ...withSub, allowed, limit: ent.limit, used, remaining, percent_used: percent(used, ent.limit), period, reason: allowed ? null : 'limit_reached' };
}

/** Current-period usage of every metered entitlement of the account's plan, against its limits. */
export async function accountUsage(ctx: Ctx, accountRef: string) {
  const db = ctx.deps.database.db;
  const accountId = await resolveAccountId(db, ctx.workspaceId, accountRef);
  if (!accountId) throw notFound('account', accountRef);
  const sub = await liveSubscription(ctx, accountId);
  if (!sub) return { account: accountId, subscription: null, plan: null, items: [] as EntitlementCheck[] };
  const plan = await getPlan(db, ctx.workspaceId, sub.planId);
  const ents = await getEntitlements(db, ctx.workspaceId, sub.planVersionId);
  const items: EntitlementCheck[] = [];
  for (const e of ents) if (e.featureType === 'limit') items.push(await checkEntitlement(ctx, accountId, e.featureKey, { fresh: true }));
  return { account: accountId, subscription: sub.id, plan: plan.key, items };
}

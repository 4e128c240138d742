import type { Db } from '../../context.ts';
import { AppError } from '../../kernel/errors.ts';
import { findMetrics, getPlan, getPlanVersion, type BillableMetric, type Plan, type PlanVersion } from '../catalog/index.ts';
import { usageForPeriods } from '../metering/index.ts';
import { overridesOf, pendingSchedulesOf, type ScheduleRow } from './batch.repo.ts';
import type { Subscription, SubscriptionChange } from './billing.ts';
import { advanceLines, usageLines, type BillableItem, type ComputedLine } from './compute/invoice.ts';
import { periodFrom, type Interval, type Period } from './compute/periods.ts';

/**
 * "Setup → compute" for subscriptions: reading what subscriptions bill (their items, usage so
 * far, scheduled changes) and computing the lines, without writing anything. The renewal (a
 * job's one subscription or a bill run's batch) and the upcoming-invoice preview both load with
 * `loadRenewalInputs` and compute with `computeRenewal`, so the preview is exactly what the
 * renewal will bill (given the same usage).
 */
export interface PricedPlan {
  planName: string;
  version: PlanVersion;
  items: BillableItem[];
}

/** A plan version with its plan: what pricing needs from the catalog, read once per version. */
export interface CatalogEntry {
  version: PlanVersion;
  plan: Plan;
}

/**
 * Catalog reads kept across the batches of one bill run: a plan version is immutable, so each
 * is read once per run (with its plan), and each billable metric once — the catalog as of the
 * run. A renewal job or a preview starts with an empty one.
 */
export interface CatalogCache {
  versions: Map<string, CatalogEntry>;
  /** By id and by key. */
  metrics: Map<string, BillableMetric>;
}

export const newCatalogCache = (): CatalogCache => ({ versions: new Map(), metrics: new Map() });

/** Reads the versions not yet in `into` (one catalog read per distinct version and plan). */
export async function loadCatalog(db: Db, workspaceId: string, versionIds: Iterable<string>, into = new Map<string, CatalogEntry>()): Promise<Map<string, CatalogEntry>> {
  const plans = new Map<string, Plan>([...into.values()].map((e) => [e.plan.id, e.plan]));
  for (const id of new Set(versionIds)) {
    if (into.has(id)) continue;
    const version = await getPlanVersion(db, workspaceId, id);
    const plan = plans.get(version.planId) ?? (await getPlan(db, workspaceId, version.planId));
    plans.set(plan.id, plan);
    into.set(id, { version, plan });
  }
  return into;
}

export interface PricingInput {
  interval: Interval;
  quantity: number;
  overrides: Record<string, number>;
}

/** The billable items of a catalog entry for an interval, seats and negotiated amounts (pure). */
export function priceItems(entry: CatalogEntry, input: PricingInput): PricedPlan {
  const { version, plan } = entry;
  const prices = version.prices.filter((p) => p.interval === input.interval);
  if (prices.length === 0) {
    throw new AppError({ code: 'parameter_invalid', message: `Plan '${plan.key}' (version ${version.version}) has no ${input.interval}ly price.`, param: 'interval' });
  }
  return {
    planName: plan.name,
    version,
    items: prices.map((price) => ({ price, quantity: input.quantity, unitAmountOverride: input.overrides[price.id] ?? null })),
  };
}

export async function pricedPlan(db: Db, workspaceId: string, input: PricingInput & { planVersionId: string }): Promise<PricedPlan> {
  const catalog = await loadCatalog(db, workspaceId, [input.planVersionId]);
  return priceItems(catalog.get(input.planVersionId)!, input);
}

export interface UsageRequest {
  key: string;
  accountId: string;
  items: readonly BillableItem[];
  period: Period;
}

/**
 * Metered quantities for many (account, items, period) requests, by request key then metric id:
 * one statement per metric, whatever the number of requests.
 */
export async function usageForMany(db: Db, workspaceId: string, requests: readonly UsageRequest[], metricCache = new Map<string, BillableMetric>()): Promise<Map<string, Map<string, string>>> {
  const out = new Map<string, Map<string, string>>(requests.map((r) => [r.key, new Map()]));
  const refs = new Map<string, Set<string>>();
  for (const r of requests) {
    if (r.period.end <= r.period.start) continue;
    const ids = r.items.map((i) => i.price.billableMetricId).filter((m): m is string => Boolean(m));
    if (ids.length) refs.set(r.key, new Set(ids));
  }
  if (!refs.size) return out;
  const wanted = [...new Set([...refs.values()].flatMap((s) => [...s]))];
  const missing = wanted.filter((ref) => !metricCache.has(ref));
  if (missing.length) for (const m of await findMetrics(db, workspaceId, missing)) metricCache.set(m.id, m).set(m.key, m);
  const metrics = [...new Set(wanted.map((ref) => metricCache.get(ref)).filter((m): m is BillableMetric => Boolean(m)))];
  for (const metric of metrics) {
    const periods = requests
      .filter((r) => refs.get(r.key)?.has(metric.id) || refs.get(r.key)?.has(metric.key))
      .map((r) => ({ key: r.key, accountId: r.accountId, start: r.period.start, end: r.period.end }));
    const values = await usageForPeriods(db, { workspaceId, metric, periods });
    for (const [key, value] of values) out.get(key)!.set(metric.id, value);
  }
  return out;
}

/** Metered quantities for the usage items, by metric id, over `period`. */
export async function usageFor(db: Db, workspaceId: string, accountId: string, items: readonly BillableItem[], period: Period): Promise<Map<string, string>> {
  return (await usageForMany(db, workspaceId, [{ key: '', accountId, items, period }])).get('')!;
}

/** The subscription as it will be after applying scheduled changes (in order). */
export function applyChanges(sub: Subscription, overrides: Record<string, number>, changes: readonly SubscriptionChange[]) {
  let next = { ...sub };
  let nextOverrides = overrides;
  let cancel = sub.cancelAtPeriodEnd;
  for (const c of changes) {
    if (c.planVersionId) next = { ...next, planVersionId: c.planVersionId, planId: c.planId ?? next.planId };
    if (c.interval) next = { ...next, interval: c.interval };
    if (c.quantity !== undefined) next = { ...next, quantity: c.quantity };
    if (c.collectionMethod) next = { ...next, collectionMethod: c.collectionMethod, daysUntilDue: c.collectionMethod === 'send_invoice' ? (c.daysUntilDue ?? 30) : null };
    if (c.paymentMethodId !== undefined) next = { ...next, paymentMethodId: c.paymentMethodId };
    if (c.priceOverrides) nextOverrides = c.priceOverrides;
    if (c.cancel) cancel = true;
  }
  return { sub: next, overrides: nextOverrides, cancel };
}

export interface RenewalPlan {
  /** The period that ends (its usage is billed in arrears). */
  ended: Period;
  usagePeriod: Period;
  /** The next period (its fees billed in advance); null when the subscription ends. */
  next: Period | null;
  after: Subscription;
  overrides: Record<string, number>;
  cancel: boolean;
  scheduleIds: string[];
  lines: ComputedLine[];
  planName: string;
}

/** Everything the renewals of a set of subscriptions read, loaded set-based. */
export interface RenewalInputs {
  overrides: ReadonlyMap<string, Record<string, number>>;
  /** The scheduled changes due at each subscription's period end, in order. */
  schedules: ReadonlyMap<string, ScheduleRow[]>;
  catalog: ReadonlyMap<string, CatalogEntry>;
  usage: ReadonlyMap<string, Map<string, string>>;
}

const currentPricing = (sub: Subscription, inputs: Pick<RenewalInputs, 'overrides' | 'catalog'>) =>
  priceItems(inputs.catalog.get(sub.planVersionId)!, { interval: sub.interval, quantity: sub.quantity, overrides: inputs.overrides.get(sub.id) ?? {} });

/**
 * Loads the renewal inputs of `subs` (each renewing at its own `current_period_end`): overrides
 * and pending schedules in one query each, each distinct plan version once (or never, when
 * `cache` has it), usage in one statement per metric. A trial's usage is free, so it is not read.
 */
export async function loadRenewalInputs(db: Db, workspaceId: string, subs: readonly Subscription[], cache = newCatalogCache()): Promise<RenewalInputs> {
  const ids = subs.map((s) => s.id);
  const overrides = await overridesOf(db, workspaceId, ids);
  const pending = await pendingSchedulesOf(db, workspaceId, ids);
  const schedules = new Map<string, ScheduleRow[]>();
  for (const sub of subs) schedules.set(sub.id, (pending.get(sub.id) ?? []).filter((s) => s.effectiveAt <= sub.currentPeriodEnd));
  const versionIds = subs.flatMap((s) => [s.planVersionId, ...schedules.get(s.id)!.map((c) => (c.change as SubscriptionChange).planVersionId).filter((v): v is string => Boolean(v))]);
  const catalog = await loadCatalog(db, workspaceId, versionIds, cache.versions);
  const requests = subs
    .filter((s) => s.status !== 'trialing')
    .map((s) => ({ key: s.id, accountId: s.accountId, items: currentPricing(s, { overrides, catalog }).items, period: { start: s.usageSince, end: s.currentPeriodEnd } }));
  const usage = await usageForMany(db, workspaceId, requests, cache.metrics);
  return { overrides, schedules, catalog, usage };
}

/** The renewal of one subscription at its period end, from loaded inputs (pure). */
export function computeRenewal(sub: Subscription, inputs: RenewalInputs): RenewalPlan {
  const at = sub.currentPeriodEnd;
  const overrides = inputs.overrides.get(sub.id) ?? {};
  const current = currentPricing(sub, inputs);
  const usagePeriod: Period = { start: sub.usageSince, end: at };
  const lines: ComputedLine[] = [];
  // A trial is free, usage included.
  if (sub.status !== 'trialing') {
    lines.push(...usageLines(current.items, usagePeriod, inputs.usage.get(sub.id) ?? new Map(), current.planName));
  }
  const schedules = inputs.schedules.get(sub.id) ?? [];
  const applied = applyChanges(sub, overrides, schedules.map((s) => s.change as SubscriptionChange));
  let next: Period | null = null;
  let planName = current.planName;
  if (!applied.cancel) {
    next = periodFrom(at, applied.sub.interval, applied.sub.anchorDay);
    const upcoming = priceItems(inputs.catalog.get(applied.sub.planVersionId)!, { interval: applied.sub.interval, quantity: applied.sub.quantity, overrides: applied.overrides });
    planName = upcoming.planName;
    lines.push(...advanceLines(upcoming.items, next, upcoming.planName));
  }
  return {
    ended: { start: sub.currentPeriodStart, end: at },
    usagePeriod,
    next,
    after: applied.sub,
    overrides: applied.overrides,
    cancel: applied.cancel,
    scheduleIds: schedules.map((s) => s.id),
    lines,
    planName,
  };
}

/** One subscription's next renewal (the upcoming-invoice preview), by the renewal's own code. */
export async function planRenewal(db: Db, sub: Subscription): Promise<RenewalPlan> {
  return computeRenewal(sub, await loadRenewalInputs(db, sub.workspaceId, [sub]));
}

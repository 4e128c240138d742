import type { Db } from '../../context.ts';
import { AppError } from '../../kernel/errors.ts';
import { findMetrics, getPlan, getPlanVersion, type PlanVersion } from '../catalog/index.ts';
import { usageForPeriod } from '../metering/index.ts';
import * as repo from './billing.repo.ts';
import type { Subscription, SubscriptionChange } from './billing.ts';
import { advanceLines, usageLines, type BillableItem, type ComputedLine } from './compute/invoice.ts';
import { periodFrom, type Interval, type Period } from './compute/periods.ts';

/**
 * "Setup → compute" for subscriptions: reading what a subscription bills (its items, usage so
 * far, scheduled changes) and computing the lines, without writing anything. The renewal job,
 * the bill run and the upcoming-invoice preview all call `planRenewal`, so the preview is
 * exactly what the renewal will bill (given the same usage).
 */
export interface PricedPlan {
  planName: string;
  version: PlanVersion;
  items: BillableItem[];
}

export async function pricedPlan(
  db: Db,
  workspaceId: string,
  input: { planVersionId: string; interval: Interval; quantity: number; overrides: Record<string, number> },
): Promise<PricedPlan> {
  const version = await getPlanVersion(db, workspaceId, input.planVersionId);
  const plan = await getPlan(db, workspaceId, version.planId);
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

/** Metered quantities for the usage items, by metric id, over `period`. */
export async function usageFor(db: Db, workspaceId: string, accountId: string, items: readonly BillableItem[], period: Period): Promise<Map<string, string>> {
  const metricIds = [...new Set(items.map((i) => i.price.billableMetricId).filter((m): m is string => Boolean(m)))];
  const out = new Map<string, string>();
  if (!metricIds.length || period.end <= period.start) return out;
  for (const metric of await findMetrics(db, workspaceId, metricIds)) {
    out.set(metric.id, await usageForPeriod(db, { workspaceId, accountId, metric, start: period.start, end: period.end }));
  }
  return out;
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

export async function planRenewal(db: Db, sub: Subscription): Promise<RenewalPlan> {
  const ws = sub.workspaceId;
  const at = sub.currentPeriodEnd;
  const overrides = await repo.getOverrides(db, ws, sub.id);
  const current = await pricedPlan(db, ws, { planVersionId: sub.planVersionId, interval: sub.interval, quantity: sub.quantity, overrides });
  const usagePeriod: Period = { start: sub.usageSince, end: at };
  const lines: ComputedLine[] = [];
  // A trial is free, usage included.
  if (sub.status !== 'trialing') {
    lines.push(...usageLines(current.items, usagePeriod, await usageFor(db, ws, sub.accountId, current.items, usagePeriod), current.planName));
  }
  const schedules = (await repo.pendingSchedules(db, ws, sub.id)).filter((s) => s.effectiveAt <= at);
  const applied = applyChanges(sub, overrides, schedules.map((s) => s.change as SubscriptionChange));
  let next: Period | null = null;
  let planName = current.planName;
  if (!applied.cancel) {
    next = periodFrom(at, applied.sub.interval, applied.sub.anchorDay);
    const upcoming = await pricedPlan(db, ws, { planVersionId: applied.sub.planVersionId, interval: applied.sub.interval, quantity: applied.sub.quantity, overrides: applied.overrides });
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

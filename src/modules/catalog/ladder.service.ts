import type { Ctx } from '../../context.ts';
import { dec, isDecimalString } from '../../kernel/decimal.ts';
import { AppError } from '../../kernel/errors.ts';
import * as repo from './catalog.repo.ts';
import {
  METADATA_TYPICAL_MONTHLY_AMOUNT,
  METADATA_TYPICAL_SEATS,
  METADATA_TYPICAL_USAGE_PREFIX,
  type Plan,
  type PlanVersion,
} from './catalog.ts';
import { checkCurrency } from './catalog.validate.ts';
import { DEFAULT_DEAD_ZONE_FACTOR, findDeadZones, orderLadder, type DeadZone } from './compute/ladder.ts';
import { typicalMonthlyAmount } from './compute/pricing.ts';

export interface LadderEntry {
  planId: string;
  key: string;
  name: string;
  plan: Plan;
  version: PlanVersion;
  /** Integer minor units per month; null for a custom-priced plan with no estimate. */
  amount: number | null;
  /**
   * month / year: computed from the version's monthly prices (or annual ones / 12);
   * metadata: the plan's `typical_monthly_amount`; free: a public plan with no prices;
   * custom: no prices and no estimate (quote-only plans), not compared.
   */
  basis: 'month' | 'year' | 'metadata' | 'free' | 'custom';
}

export interface PricingLadder {
  currency: string;
  factor: string;
  entries: LadderEntry[];
  deadZones: DeadZone[];
}

/** The workspace's most used plan currency among active plans (ties: alphabetical); usd when none. */
function commonCurrency(active: Plan[]): string {
  const counts = new Map<string, number>();
  for (const p of active) counts.set(p.currency, (counts.get(p.currency) ?? 0) + 1);
  const ranked = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return ranked[0]?.[0] ?? 'usd';
}

/**
 * Active plans in one currency, ordered by typical monthly amount, with dead zones flagged.
 * A plan's typical amount comes, in order of preference, from its metadata
 * `typical_monthly_amount` (what RevOps says deals close at, e.g. for a quote-only Enterprise
 * plan), else from its current version's prices at `typical_seats` seats (default 1) and
 * `typical_usage.<metric_key>` usage (default 0), else 0 for a public plan without prices (a free
 * plan), else unknown.
 */
export async function pricingLadder(ctx: Ctx, opts: { currency?: string; factor?: string }): Promise<PricingLadder> {
  const factor = opts.factor ?? DEFAULT_DEAD_ZONE_FACTOR;
  if (!isDecimalString(factor) || !dec(factor).greaterThan(1) || dec(factor).greaterThan(1000)) {
    throw new AppError({ code: 'parameter_invalid', message: `factor must be a decimal number above 1 (and at most 1000), e.g. "10"; got '${factor}'.`, param: 'factor' });
  }
  const db = ctx.deps.database.db;
  const active = await repo.listActivePlans(db, ctx.workspaceId);
  const currency = opts.currency === undefined ? commonCurrency(active) : checkCurrency(opts.currency);
  const inCurrency = active.filter((p) => p.currency === currency);
  const versions = await repo.findVersions(db, ctx.workspaceId, inCurrency.map((p) => ({ planId: p.id, version: p.currentVersion })));

  const metricKeys = new Set<string>();
  for (const p of inCurrency) for (const k of Object.keys(p.metadata)) if (k.startsWith(METADATA_TYPICAL_USAGE_PREFIX)) metricKeys.add(k.slice(METADATA_TYPICAL_USAGE_PREFIX.length));
  const metrics = await repo.findMetricsByRefs(db, ctx.workspaceId, [...metricKeys]);

  const entries: LadderEntry[] = inCurrency.map((plan) => {
    const version = versions.find((v) => v.planId === plan.id)!;
    const base = { planId: plan.id, key: plan.key, name: plan.name, plan, version };
    const stated = plan.metadata[METADATA_TYPICAL_MONTHLY_AMOUNT];
    if (stated !== undefined) return { ...base, amount: Number(stated), basis: 'metadata' as const };
    if (version.prices.length === 0) return plan.visibility === 'public' ? { ...base, amount: 0, basis: 'free' as const } : { ...base, amount: null, basis: 'custom' as const };
    const usageByMetricId: Record<string, string> = {};
    for (const [k, v] of Object.entries(plan.metadata)) {
      if (!k.startsWith(METADATA_TYPICAL_USAGE_PREFIX)) continue;
      const metric = metrics.find((m) => m.key === k.slice(METADATA_TYPICAL_USAGE_PREFIX.length));
      if (metric) usageByMetricId[metric.id] = v;
    }
    const seats = plan.metadata[METADATA_TYPICAL_SEATS];
    const typical = typicalMonthlyAmount(version, { currency, seats: seats === undefined ? 1 : Number(seats), usageByMetricId });
    return { ...base, amount: typical.amount, basis: typical.basis === 'year' ? ('year' as const) : ('month' as const) };
  });

  const ordered = orderLadder(entries);
  return { currency, factor: dec(factor).toString(), entries: ordered, deadZones: findDeadZones(ordered, { factor, currency }) };
}

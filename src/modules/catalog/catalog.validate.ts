import { isCurrency } from '../../kernel/currency.ts';
import { dec, isDecimalString } from '../../kernel/decimal.ts';
import { AppError } from '../../kernel/errors.ts';
import { propertyText } from './compute/metrics.ts';
import {
  KEY_PATTERN,
  MAX_AMOUNT,
  MAX_QUANTITY,
  MAX_RATE_SCALE,
  METADATA_TYPICAL_MONTHLY_AMOUNT,
  METADATA_TYPICAL_SEATS,
  METADATA_TYPICAL_USAGE_PREFIX,
  type BillableMetric,
  type Entitlement,
  type Feature,
  type MetricFilter,
  type Price,
  type Tier,
} from './catalog.ts';
import type { CreateMetricParams, EntitlementParams, PriceParams, TierParams } from './catalog.params.ts';

/**
 * Business-rule validation of catalog input, pure: the service looks up the referenced features
 * and metrics first and passes them in. Every failure is a 400 naming the parameter by path.
 */
const invalid = (param: string, message: string) => new AppError({ code: 'parameter_invalid', message, param });
const missing = (param: string, message: string) => new AppError({ code: 'parameter_missing', message, param });

/** A price as stored, before it gets ids. */
export type PriceSpec = Omit<Price, 'id' | 'workspaceId' | 'planId' | 'planVersionId' | 'createdAt'>;
/** An entitlement as stored, before it gets ids. */
export type EntitlementSpec = Omit<Entitlement, 'id' | 'planVersionId'>;

export function checkKey(key: string, param = 'key'): void {
  if (!KEY_PATTERN.test(key)) throw invalid(param, `'${key}' is not a valid key: use 1–64 lower-case letters, digits, '_', '-' or '.', starting with a letter or digit.`);
}

export function checkCurrency(currency: string, param = 'currency'): string {
  const c = currency.toLowerCase();
  if (!isCurrency(c)) throw new AppError({ code: 'currency_unknown', message: `Unknown currency '${currency}'.`, param });
  return c;
}

function checkAmount(v: number, param: string): number {
  if (!Number.isSafeInteger(v) || v < 0 || v > MAX_AMOUNT) throw invalid(param, `${param} must be an integer number of minor units between 0 and ${MAX_AMOUNT}; got ${v}.`);
  return v;
}

/** A rate in minor units: "0.04", at most 12 decimal places, ≥ 0. Stored normalised ("0.0400" → "0.04"). */
export function checkRate(v: string, param: string): string {
  if (!isDecimalString(v)) throw invalid(param, `${param} must be a decimal string such as "0.04" (minor units); got '${v}'.`);
  const d = dec(v);
  if (d.isNegative()) throw invalid(param, `${param} must not be negative.`);
  if (d.decimalPlaces() > MAX_RATE_SCALE) throw invalid(param, `${param} has more than ${MAX_RATE_SCALE} decimal places.`);
  if (d.greaterThan(MAX_AMOUNT)) throw invalid(param, `${param} is larger than ${MAX_AMOUNT} minor units.`);
  return d.toString();
}

/** Exactly one of an integer and a decimal form (Stripe's unit_amount / unit_amount_decimal), as a rate string. */
function oneRate(intValue: number | undefined, decValue: string | undefined, param: string): string | undefined {
  if (intValue !== undefined && decValue !== undefined) throw invalid(`${param}_decimal`, `Give ${param} or ${param}_decimal, not both.`);
  if (intValue !== undefined) return String(checkAmount(intValue, param));
  if (decValue !== undefined) return checkRate(decValue, `${param}_decimal`);
  return undefined;
}

function refuse(p: PriceParams, fields: Array<keyof PriceParams>, base: string, why: string): void {
  for (const f of fields) if (p[f] !== undefined) throw invalid(`${base}.${f}`, `${f} is not used by ${why}.`);
}

/**
 * Tiers: ascending inclusive `up_to`, the last one unbounded (null or "inf"), each with a
 * per-unit rate (unit_amount or unit_amount_decimal, default 0) and a flat fee (default 0).
 */
export function normalizeTiers(tiers: TierParams[] | undefined, base: string): Tier[] {
  if (!tiers || tiers.length === 0) throw missing(`${base}.tiers`, 'Graduated and volume prices need tiers.');
  if (tiers.length > 50) throw invalid(`${base}.tiers`, 'At most 50 tiers.');
  let previous = 0;
  return tiers.map((t, i) => {
    const p = `${base}.tiers.${i}`;
    const last = i === tiers.length - 1;
    const upTo = t.up_to === 'inf' ? null : t.up_to;
    if (upTo === null) {
      if (!last) throw invalid(`${p}.up_to`, `Only the last tier is unbounded; tier ${i + 1} of ${tiers.length} has up_to null.`);
    } else {
      if (last) throw invalid(`${p}.up_to`, `The last tier must be unbounded (up_to null or "inf") so every quantity has a price; it ends at ${upTo}.`);
      if (!Number.isSafeInteger(upTo) || upTo <= 0 || upTo > MAX_QUANTITY) throw invalid(`${p}.up_to`, `up_to must be a positive whole number; got ${upTo}.`);
      if (upTo <= previous) throw invalid(`${p}.up_to`, `Tiers must be in ascending up_to order: ${upTo} follows ${previous}.`);
      previous = upTo;
    }
    return {
      upTo,
      unitAmountDecimal: oneRate(t.unit_amount, t.unit_amount_decimal, `${p}.unit_amount`) ?? '0',
      flatAmount: t.flat_amount === undefined ? 0 : checkAmount(t.flat_amount, `${p}.flat_amount`),
    };
  });
}

export interface PriceContext {
  currency: string;
  /** The metric a price's `billable_metric` (id or key) refers to, if it exists. */
  metric: (ref: string) => BillableMetric | undefined;
}

export function normalizePrice(p: PriceParams, index: number, ctx: PriceContext): PriceSpec {
  const base = `prices.${index}`;
  const currency = p.currency === undefined ? ctx.currency : checkCurrency(p.currency, `${base}.currency`);
  if (currency !== ctx.currency) {
    throw new AppError({ code: 'currency_mismatch', message: `Price currency '${currency}' differs from the plan's '${ctx.currency}'.`, param: `${base}.currency` });
  }
  const spec: PriceSpec = {
    position: index,
    nickname: p.nickname ?? null,
    type: p.type,
    interval: p.interval ?? 'month',
    currency,
    chargeModel: null,
    unitAmount: null,
    unitAmountDecimal: null,
    tiers: [],
    packageSize: null,
    packageAmount: null,
    minimumAmount: p.minimum_amount === undefined ? null : checkAmount(p.minimum_amount, `${base}.minimum_amount`),
    billableMetricId: null,
  };
  if (p.type === 'flat') {
    refuse(p, ['charge_model', 'unit_amount_decimal', 'tiers', 'package_size', 'package_amount', 'minimum_amount', 'billable_metric'], base, 'flat prices');
    if (p.unit_amount === undefined) throw missing(`${base}.unit_amount`, 'A flat price needs unit_amount (integer minor units: 4900 is $49.00).');
    spec.unitAmount = checkAmount(p.unit_amount, `${base}.unit_amount`);
    return spec;
  }
  if (p.type === 'per_seat') {
    refuse(p, ['billable_metric', 'package_size', 'package_amount'], base, 'per-seat prices');
    const model = p.charge_model ?? 'per_unit';
    if (model === 'package') throw invalid(`${base}.charge_model`, 'Per-seat prices are per_unit, graduated or volume.');
    spec.chargeModel = model;
    if (model === 'per_unit') {
      refuse(p, ['tiers', 'unit_amount_decimal'], base, 'per_unit per-seat prices (use integer unit_amount)');
      if (p.unit_amount === undefined) throw missing(`${base}.unit_amount`, 'A per-seat price needs unit_amount per seat (integer minor units).');
      spec.unitAmount = checkAmount(p.unit_amount, `${base}.unit_amount`);
    } else {
      refuse(p, ['unit_amount', 'unit_amount_decimal'], base, `${model} prices (give tiers)`);
      spec.tiers = normalizeTiers(p.tiers, base);
    }
    return spec;
  }
  // usage: metered, billed in arrears from a billable metric's aggregate over the period
  if (p.billable_metric === undefined) throw missing(`${base}.billable_metric`, 'A usage price needs billable_metric (the id or key of the metric it charges for).');
  const metric = ctx.metric(p.billable_metric);
  if (!metric) throw invalid(`${base}.billable_metric`, `No such billable metric: '${p.billable_metric}'.`);
  spec.billableMetricId = metric.id;
  const model = p.charge_model ?? 'per_unit';
  spec.chargeModel = model;
  if (model === 'per_unit') {
    refuse(p, ['tiers', 'package_size', 'package_amount'], base, 'per_unit prices');
    const rate = oneRate(p.unit_amount, p.unit_amount_decimal, `${base}.unit_amount`);
    if (rate === undefined) throw missing(`${base}.unit_amount_decimal`, 'A per_unit usage price needs unit_amount or unit_amount_decimal (minor units per unit, e.g. "0.04").');
    spec.unitAmountDecimal = rate;
  } else if (model === 'package') {
    refuse(p, ['tiers', 'unit_amount', 'unit_amount_decimal'], base, 'package prices (give package_size and package_amount)');
    if (p.package_size === undefined) throw missing(`${base}.package_size`, 'A package price needs package_size (units per package).');
    if (!Number.isSafeInteger(p.package_size) || p.package_size <= 0 || p.package_size > MAX_QUANTITY) throw invalid(`${base}.package_size`, 'package_size must be a whole number > 0.');
    if (p.package_amount === undefined) throw missing(`${base}.package_amount`, 'A package price needs package_amount (integer minor units per package).');
    spec.packageSize = p.package_size;
    spec.packageAmount = checkAmount(p.package_amount, `${base}.package_amount`);
  } else {
    refuse(p, ['unit_amount', 'unit_amount_decimal', 'package_size', 'package_amount'], base, `${model} prices (give tiers)`);
    spec.tiers = normalizeTiers(p.tiers, base);
  }
  return spec;
}

export function normalizePrices(prices: PriceParams[] | undefined, ctx: PriceContext): PriceSpec[] {
  const list = prices ?? [];
  if (list.length > 50) throw invalid('prices', 'At most 50 prices per plan version.');
  return list.map((p, i) => normalizePrice(p, i, ctx));
}

export interface EntitlementContext {
  feature: (key: string) => Feature | undefined;
  metric: (ref: string) => BillableMetric | undefined;
}

export function normalizeEntitlements(list: EntitlementParams[] | undefined, ctx: EntitlementContext): EntitlementSpec[] {
  const seen = new Set<string>();
  return (list ?? []).map((e, i) => {
    const base = `entitlements.${i}`;
    const feature = ctx.feature(e.feature_key);
    if (!feature) throw invalid(`${base}.feature_key`, `No such feature: '${e.feature_key}'. Create it with POST /v1/features first.`);
    if (seen.has(feature.id)) throw invalid(`${base}.feature_key`, `Feature '${e.feature_key}' appears twice.`);
    seen.add(feature.id);
    const spec: EntitlementSpec = { featureId: feature.id, featureKey: feature.key, featureType: feature.type, enabled: true, limit: null, period: null, billableMetricId: null };
    if (feature.type === 'boolean') {
      for (const f of ['limit', 'period', 'billable_metric'] as const) {
        if (e[f] !== undefined) throw invalid(`${base}.${f}`, `'${feature.key}' is a boolean feature: give enabled, not ${f}.`);
      }
      spec.enabled = e.enabled ?? true;
      return spec;
    }
    if (e.enabled !== undefined) throw invalid(`${base}.enabled`, `'${feature.key}' is a limit feature: give limit (0 to withhold it, null for unlimited).`);
    if (e.limit === undefined) throw missing(`${base}.limit`, `'${feature.key}' is a limit feature: give limit (an integer, or null for unlimited).`);
    if (e.limit !== null && (!Number.isSafeInteger(e.limit) || e.limit < 0 || e.limit > MAX_QUANTITY)) throw invalid(`${base}.limit`, 'limit must be a whole number ≥ 0, or null for unlimited.');
    spec.limit = e.limit;
    spec.period = e.period ?? 'month';
    if (e.billable_metric !== undefined) {
      const metric = ctx.metric(e.billable_metric);
      if (!metric) throw invalid(`${base}.billable_metric`, `No such billable metric: '${e.billable_metric}'.`);
      spec.billableMetricId = metric.id;
    }
    return spec;
  });
}

/** Stripe-style metadata limits, plus the ladder's typical_* keys must parse. */
export function checkMetadata(metadata: Record<string, string> | undefined): Record<string, string> {
  const m = metadata ?? {};
  const keys = Object.keys(m);
  if (keys.length > 50) throw invalid('metadata', 'At most 50 metadata keys.');
  for (const k of keys) {
    const v = m[k];
    if (k.length === 0 || k.length > 40) throw invalid(`metadata.${k}`, 'Metadata keys are 1–40 characters.');
    if (typeof v !== 'string' || v.length > 500) throw invalid(`metadata.${k}`, 'Metadata values are strings of at most 500 characters.');
    const whole = /^(0|[1-9]\d{0,14})$/;
    if ((k === METADATA_TYPICAL_SEATS || k === METADATA_TYPICAL_MONTHLY_AMOUNT) && !whole.test(v)) {
      throw invalid(`metadata.${k}`, `${k} must be a whole number as a string, e.g. "10"; got '${v}'.`);
    }
    if (k.startsWith(METADATA_TYPICAL_USAGE_PREFIX) && (!isDecimalString(v) || v.startsWith('-'))) {
      throw invalid(`metadata.${k}`, `${k} must be a non-negative decimal string, e.g. "100000"; got '${v}'.`);
    }
  }
  return m;
}

/** Metric definition rules: `property` for every aggregation but count; filters' value(s) by operator. */
export function normalizeMetric(p: CreateMetricParams): { property: string | null; filters: MetricFilter[] } {
  checkKey(p.key);
  if (p.aggregation === 'count') {
    if (p.property !== undefined) throw invalid('property', 'A count metric counts events; it takes no property.');
  } else if (!p.property) {
    throw missing('property', `A ${p.aggregation} metric needs the event property to aggregate.`);
  }
  const filters = (p.filters ?? []).map((f, i): MetricFilter => {
    const base = `filters.${i}`;
    if (!f.property) throw missing(`${base}.property`, 'A filter needs the property it tests.');
    const single = f.operator === 'eq' || f.operator === 'neq';
    if (f.value !== undefined && f.values !== undefined) throw invalid(`${base}.values`, 'Give value or values, not both.');
    const raw = f.value !== undefined ? [f.value] : f.values;
    if (!raw || raw.length === 0) throw missing(single ? `${base}.value` : `${base}.values`, `The ${f.operator} filter needs ${single ? 'a value' : 'values'}.`);
    if (single && raw.length !== 1) throw invalid(`${base}.values`, `${f.operator} compares with exactly one value; use ${f.operator === 'eq' ? 'in' : 'not_in'} for several.`);
    if (raw.length > 100) throw invalid(`${base}.values`, 'At most 100 values per filter.');
    return { property: f.property, operator: f.operator, values: [...new Set(raw.map((v) => propertyText(v)!))] };
  });
  if (filters.length > 20) throw invalid('filters', 'At most 20 filters.');
  return { property: p.property ?? null, filters };
}

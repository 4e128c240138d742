import { Decimal } from '../../../kernel/decimal.ts';
import type { BillableMetric, MetricFilter } from '../catalog.ts';

/**
 * Billable metric aggregation, pure. The metering side computes the same thing in SQL; these
 * are the semantics both must share.
 *
 * Filters (all must match, ANDed) compare an event property's TEXT form with the filter's values:
 *   - text form: strings as they are, numbers as JavaScript prints them (2 → "2", 0.5 → "0.5"),
 *     booleans "true"/"false", objects/arrays as JSON; a missing or null property has no text form.
 *     This is what PostgreSQL's `properties->>'p'` returns for canonical JSON numbers.
 *   - eq / in:      the property is present and its text is one of the values.
 *                   SQL: `properties->>'p' = ANY($values)`
 *   - neq / not_in: the property is missing, or its text is none of the values.
 *                   SQL: `NOT coalesce(properties->>'p' = ANY($values), false)`
 *   Properties are top-level keys of the event's `properties` object (no dotted paths).
 *
 * Aggregations over the matching events (result is a decimal string; "0" when nothing counts):
 *   - count:        number of matching events.
 *   - sum:          sum of the property's numeric values.
 *   - max:          largest numeric value.
 *   - unique_count: number of distinct text forms of the property (missing/null not counted).
 *   - latest:       numeric value of the matching event with the latest timestamp (ties: the
 *                   later one in the input).
 *   Numeric values are JSON numbers and decimal strings ("12.5"); anything else (booleans,
 *   "abc", objects) is ignored by sum/max/latest and reported in `ignored` as not_numeric. A
 *   missing or null property is skipped by every aggregation but count and reported as missing.
 */
export interface MeterEvent {
  /** When given, events of another name are skipped (not counted, not reported). */
  event?: string;
  properties: Record<string, unknown>;
  timestamp: Date;
}

export interface IgnoredValue {
  /** Index in the input array. */
  index: number;
  reason: 'missing' | 'not_numeric';
  value: unknown;
}

export interface AggregateResult {
  value: string;
  /** Events that passed the name and filters. */
  matched: number;
  /** Matching events whose property could not be used, total count. */
  ignoredCount: number;
  /** The first few of them, to show the customer what is wrong with their events. */
  ignored: IgnoredValue[];
}

export type MetricDefinition = Pick<BillableMetric, 'eventName' | 'aggregation' | 'property' | 'filters'>;

const MAX_IGNORED_SAMPLES = 20;
const NUMERIC_STRING = /^-?[0-9]+(\.[0-9]+)?$/;

/** The text form of a property value, as `properties->>'p'` gives it; null when missing or JSON null. */
export function propertyText(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return JSON.stringify(v);
}

/** A usable numeric value: a finite JSON number or a decimal string; null otherwise. */
export function numericValue(v: unknown): Decimal | null {
  // A JSON number arrives as a JS number; its shortest printed form is its exact decimal reading
  // (0.1 → "0.1"), which is what we sum — never the binary float itself.
  if (typeof v === 'number') return Number.isFinite(v) ? new Decimal(String(v)) : null;
  // Same test as the SQL side (`text ~ '^-?[0-9]+(\.[0-9]+)?$'`): no spaces, no exponent; leading zeros allowed.
  if (typeof v === 'string') return NUMERIC_STRING.test(v) ? new Decimal(v) : null;
  return null;
}

export function matchesFilter(filter: MetricFilter, properties: Record<string, unknown>): boolean {
  const text = propertyText(Object.hasOwn(properties, filter.property) ? properties[filter.property] : undefined);
  const hit = text !== null && filter.values.includes(text);
  switch (filter.operator) {
    case 'eq':
    case 'in':
      return hit;
    case 'neq':
    case 'not_in':
      return !hit;
  }
}

export function matchesFilters(filters: readonly MetricFilter[], properties: Record<string, unknown>): boolean {
  return filters.every((f) => matchesFilter(f, properties));
}

export function aggregate(metric: MetricDefinition, events: readonly MeterEvent[]): AggregateResult {
  let matched = 0;
  let ignoredCount = 0;
  const ignored: IgnoredValue[] = [];
  const skip = (index: number, reason: IgnoredValue['reason'], value: unknown) => {
    ignoredCount++;
    if (ignored.length < MAX_IGNORED_SAMPLES) ignored.push({ index, reason, value });
  };

  let total = new Decimal(0);
  let max: Decimal | null = null;
  let latest: { at: number; value: Decimal } | null = null;
  const distinct = new Set<string>();

  events.forEach((e, index) => {
    if (e.event !== undefined && e.event !== metric.eventName) return;
    const props = e.properties ?? {};
    if (!matchesFilters(metric.filters, props)) return;
    matched++;
    if (metric.aggregation === 'count') return;
    const prop = metric.property!;
    const raw = Object.hasOwn(props, prop) ? props[prop] : undefined;
    if (raw === undefined || raw === null) return skip(index, 'missing', raw ?? null);
    if (metric.aggregation === 'unique_count') {
      distinct.add(propertyText(raw)!);
      return;
    }
    const n = numericValue(raw);
    if (n === null) return skip(index, 'not_numeric', raw);
    if (metric.aggregation === 'sum') total = total.plus(n);
    else if (metric.aggregation === 'max') max = max === null || n.greaterThan(max) ? n : max;
    else {
      const at = e.timestamp.getTime();
      if (latest === null || at >= latest.at) latest = { at, value: n };
    }
  });

  let value: Decimal;
  switch (metric.aggregation) {
    case 'count':
      value = new Decimal(matched);
      break;
    case 'sum':
      value = total;
      break;
    case 'max':
      value = max ?? new Decimal(0);
      break;
    case 'unique_count':
      value = new Decimal(distinct.size);
      break;
    case 'latest':
      value = (latest as { value: Decimal } | null)?.value ?? new Decimal(0);
      break;
  }
  return { value: value.isZero() ? '0' : value.toString(), matched, ignoredCount, ignored };
}

/**
 * A scoring model as JSON, validated by zod. The structure is checked here; the rules that
 * span fields (weights summing to 100, a points function that fits the signal's source) are
 * checked by `modelProblems` so that every problem names its path.
 */
import { z } from 'zod';

export const CATEGORIES = ['usage', 'fit', 'behavior'] as const;
export type Category = (typeof CATEGORIES)[number];

/**
 * How matching events are aggregated per account over the window [asOf − window_days, asOf):
 * - count: matching events;
 * - distinct_users: distinct user ids;
 * - distinct_days: distinct days (24-hour periods counted back from asOf) with a matching event;
 * - daily_active_users: average daily active users = distinct (user, day) pairs ÷ window_days;
 * - distinct_events: distinct event names;
 * - distinct_property: distinct values of `property` (e.g. distinct features used);
 * - trend: matching events in the window ÷ matching events in the window before it (floored at 1, capped at 10);
 *   0 below `min_events` matching events in the window.
 */
export const AGGREGATIONS = ['count', 'distinct_users', 'distinct_days', 'daily_active_users', 'distinct_events', 'distinct_property', 'trend'] as const;
export type Aggregation = (typeof AGGREGATIONS)[number];

export const FIRMOGRAPHIC_FIELDS = ['employees', 'industry', 'country', 'tech_stack'] as const;
export type FirmographicField = (typeof FIRMOGRAPHIC_FIELDS)[number];

const Key = z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'snake_case, e.g. pricing_page');
const Points = z.number().finite().min(-100).max(100);

export const PropertyFilterSchema = z.object({
  property: z.string().min(1).max(200),
  operator: z.enum(['eq', 'neq', 'in', 'not_in', 'exists', 'not_exists']),
  values: z.array(z.string().max(500)).max(100).default([]),
});

export const EventSourceSchema = z.object({
  kind: z.literal('events'),
  events: z.array(z.string().min(1).max(200)).max(100).default([]).describe('track event names; with no events, page paths or page names: any track, page or screen event'),
  page_paths: z.array(z.string().regex(/^\//, 'a path such as /pricing').max(500)).max(100).default([]).describe('page views by path (properties.path or context.page.path)'),
  page_names: z.array(z.string().min(1).max(200)).max(100).default([]).describe('page or screen views by name'),
  filters: z.array(PropertyFilterSchema).max(20).default([]),
  window_days: z.number().int().min(1).max(365),
  aggregation: z.enum(AGGREGATIONS),
  property: z.string().min(1).max(200).optional().describe('distinct_property: the property whose distinct values count'),
  min_events: z.number().int().min(0).max(1_000_000).optional().describe('trend: fewer matching events than this in the window → 0 (a handful of events is not a trend)'),
});

export const FirmographicSourceSchema = z.object({
  kind: z.literal('firmographic'),
  field: z.enum(FIRMOGRAPHIC_FIELDS),
});

const Band = z.object({ min: z.number().finite(), points: Points });

export const PointsSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('bands'), bands: z.array(Band).min(1).max(50).describe('the last band whose min ≤ the raw value gives the points; below every band: 0') }),
  z.object({ type: z.literal('linear'), per_unit: z.number().finite(), offset: z.number().finite().default(0).describe('points = (raw − offset) × per_unit, then capped') }),
  z.object({
    type: z.literal('match'),
    groups: z.array(z.object({ values: z.array(z.string().min(1).max(200)).min(1).max(500), points: Points })).min(1).max(20),
    default: Points.default(0).describe('points when nothing matches'),
  }),
]);

export const SignalSchema = z.object({
  key: Key,
  label: z.string().min(1).max(200),
  category: z.enum(CATEGORIES),
  source: z.discriminatedUnion('kind', [EventSourceSchema, FirmographicSourceSchema]),
  points: PointsSchema,
  max_points: z.number().finite().min(0).max(100).describe('cap'),
  min_points: z.number().finite().min(-100).max(0).default(0).describe('floor; below 0 makes negative points possible'),
  half_life_days: z.number().positive().max(365).optional().describe('event signals: points halve every half_life_days since the latest matching event'),
  explain: z.string().min(1).max(300).describe('plain-language template: {value} {s} {times} {window} {window_days} {matched} {change}'),
});

export const DisqualifierSchema = z.object({
  key: Key,
  label: z.string().min(1).max(200),
  source: z.discriminatedUnion('kind', [EventSourceSchema, FirmographicSourceSchema]),
  when: z
    .object({ gte: z.number().finite().optional(), lt: z.number().finite().optional(), in: z.array(z.string().min(1).max(200)).max(500).optional() })
    .describe('numeric sources: raw ≥ gte and/or raw < lt; text and list sources: a value in `in`'),
});

export const EnterpriseFitSchema = z.object({
  min_employees: z.number().int().min(0).describe('indicator: more than this many employees'),
  team_property: z.string().min(1).max(200).describe('indicator: events carry this property naming the team; several distinct teams = multiple teams'),
  min_teams: z.number().int().min(2),
  feature_events: z.array(z.string().min(1).max(200)).max(100).describe('indicator: enterprise feature interest'),
  procurement_events: z.array(z.string().min(1).max(200)).max(100).describe('indicator: procurement signals'),
  window_days: z.number().int().min(1).max(365),
  min_indicators: z.number().int().min(1).max(4).describe('indicators needed for enterprise fit'),
});

export const ModelConfigSchema = z
  .object({
    weights: z.object({ usage: z.number().int().min(0).max(100), fit: z.number().int().min(0).max(100), behavior: z.number().int().min(0).max(100) }).describe('percent; sums to 100'),
    thresholds: z.object({
      sales_assist: z.number().min(0).max(100).describe('PQL above this → Sales Assist'),
      enterprise: z.number().min(0).max(100).describe('PQL above this with enterprise fit → Enterprise'),
    }),
    enterprise_fit: EnterpriseFitSchema,
    signals: z.array(SignalSchema).min(1).max(50),
    disqualifiers: z.array(DisqualifierSchema).max(20).default([]),
  })
  .meta({ id: 'ScoringModelConfig' });

export type ModelConfig = z.infer<typeof ModelConfigSchema>;
export type ModelConfigInput = z.input<typeof ModelConfigSchema>;
export type Signal = z.infer<typeof SignalSchema>;
export type Disqualifier = z.infer<typeof DisqualifierSchema>;
export type EventSource = z.infer<typeof EventSourceSchema>;
export type FirmographicSource = z.infer<typeof FirmographicSourceSchema>;
export type PointsSpec = z.infer<typeof PointsSchema>;
export type PropertyFilter = z.infer<typeof PropertyFilterSchema>;
export type EnterpriseFitConfig = z.infer<typeof EnterpriseFitSchema>;

export interface ModelProblem {
  path: string;
  message: string;
}

/** Cross-field rules; an empty list means the model is valid. */
export function modelProblems(m: ModelConfig): ModelProblem[] {
  const out: ModelProblem[] = [];
  const w = m.weights;
  if (w.usage + w.fit + w.behavior !== 100) out.push({ path: 'weights', message: `weights must sum to 100; they sum to ${w.usage + w.fit + w.behavior}` });
  if (m.thresholds.enterprise < m.thresholds.sales_assist) out.push({ path: 'thresholds.enterprise', message: 'the enterprise threshold must not be below the sales assist threshold' });
  const keys = new Set<string>();
  m.signals.forEach((s, i) => {
    const p = `signals[${i}]`;
    if (keys.has(s.key)) out.push({ path: `${p}.key`, message: `duplicate signal key '${s.key}'` });
    keys.add(s.key);
    if (s.min_points > s.max_points) out.push({ path: `${p}.min_points`, message: 'min_points must not exceed max_points' });
    out.push(...sourceProblems(s.source, p));
    const field = s.source.kind === 'firmographic' ? s.source.field : null;
    const textual = field !== null && field !== 'employees';
    if (textual && s.points.type !== 'match') out.push({ path: `${p}.points`, message: `${field} is text: use points of type 'match'` });
    if (!textual && s.points.type === 'match') out.push({ path: `${p}.points`, message: "numeric sources use 'bands' or 'linear' points" });
    if (s.half_life_days !== undefined && s.source.kind !== 'events') out.push({ path: `${p}.half_life_days`, message: 'decay applies to event signals only' });
    if (s.points.type === 'bands') {
      const mins = s.points.bands.map((b) => b.min);
      if (mins.some((v, j) => j > 0 && v <= mins[j - 1])) out.push({ path: `${p}.points.bands`, message: 'bands must be in increasing order of min' });
    }
  });
  const dkeys = new Set<string>();
  m.disqualifiers.forEach((d, i) => {
    const p = `disqualifiers[${i}]`;
    if (dkeys.has(d.key)) out.push({ path: `${p}.key`, message: `duplicate disqualifier key '${d.key}'` });
    dkeys.add(d.key);
    out.push(...sourceProblems(d.source, p));
    const textual = d.source.kind === 'firmographic' && d.source.field !== 'employees';
    if (textual && !d.when.in?.length) out.push({ path: `${p}.when.in`, message: 'text sources disqualify on a list of values' });
    if (!textual && d.when.gte === undefined && d.when.lt === undefined) out.push({ path: `${p}.when`, message: 'numeric sources disqualify on gte and/or lt' });
  });
  return out;
}

function sourceProblems(s: EventSource | FirmographicSource, p: string): ModelProblem[] {
  if (s.kind !== 'events') return [];
  const out: ModelProblem[] = [];
  if (s.aggregation === 'distinct_property' && !s.property) out.push({ path: `${p}.source.property`, message: 'distinct_property needs a property' });
  if (s.aggregation === 'trend' && s.window_days > 182) out.push({ path: `${p}.source.window_days`, message: 'a trend compares two windows: at most 182 days each' });
  s.filters.forEach((f, j) => {
    if ((f.operator === 'eq' || f.operator === 'neq') && f.values.length !== 1) out.push({ path: `${p}.source.filters[${j}].values`, message: `${f.operator} takes exactly one value` });
    if ((f.operator === 'in' || f.operator === 'not_in') && f.values.length === 0) out.push({ path: `${p}.source.filters[${j}].values`, message: `${f.operator} takes at least one value` });
  });
  return out;
}

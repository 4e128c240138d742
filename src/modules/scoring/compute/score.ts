/**
 * A model applied to one account's measured inputs: signal raw values → points → sub-scores →
 * total → level. Pure: the database aggregates (see scoring.sql.ts) and this function decides.
 */
import type { Category, EventSource, FirmographicField, ModelConfig } from '../model.schema.ts';
import type { Contribution, EnterpriseIndicators, Firmographics, Level, ScoreResult } from '../scoring.ts';
import { clamp, roundTo, signalPoints, weightedTotal } from './points.ts';

/** One aggregate as measured for an account: the value, the previous window (trend), days since the latest match. */
export interface AggValue {
  value: number;
  prev: number;
  lastDays: number | null;
}
export type Aggregates = Record<string, AggValue>;

export interface AggregateSpec {
  id: string;
  source: EventSource;
  /** A decaying signal needs its latest matching event. */
  decays?: boolean;
}

const ZERO: AggValue = { value: 0, prev: 0, lastDays: null };
const base = { events: [], page_paths: [], page_names: [], filters: [] };

/** Everything the database has to measure for a model, one entry per event signal, disqualifier and enterprise indicator. */
export function aggregateSpecs(model: ModelConfig): AggregateSpec[] {
  const specs: AggregateSpec[] = [];
  for (const s of model.signals) if (s.source.kind === 'events') specs.push({ id: `s:${s.key}`, source: s.source, decays: s.half_life_days !== undefined });
  for (const d of model.disqualifiers) if (d.source.kind === 'events') specs.push({ id: `d:${d.key}`, source: d.source });
  const ef = model.enterprise_fit;
  specs.push({ id: 'e:teams', source: { kind: 'events', ...base, window_days: ef.window_days, aggregation: 'distinct_property', property: ef.team_property } });
  // An empty list would mean "any event": such an indicator is simply never met.
  if (ef.feature_events.length) specs.push({ id: 'e:features', source: { kind: 'events', ...base, events: ef.feature_events, window_days: ef.window_days, aggregation: 'count' } });
  if (ef.procurement_events.length) specs.push({ id: 'e:procurement', source: { kind: 'events', ...base, events: ef.procurement_events, window_days: ef.window_days, aggregation: 'count' } });
  return specs;
}

/**
 * The raw value of an event signal from its aggregate.
 * daily_active_users: distinct (user, day) pairs ÷ window days, one decimal — 42 pairs over 7 days → 6.
 * trend: this window ÷ the previous one (previous floored at 1, ratio capped at 10), two decimals —
 * 30 events after 20 → 1.5; 12 after none → 10 (capped); none at all, or fewer than min_events → 0.
 */
export function eventRaw(source: EventSource, agg: AggValue | undefined): number {
  const a = agg ?? ZERO;
  switch (source.aggregation) {
    case 'daily_active_users':
      return roundTo(a.value / source.window_days, 1);
    case 'trend':
      return a.value === 0 || a.value < (source.min_events ?? 0) ? 0 : roundTo(Math.min(a.value / Math.max(a.prev, 1), 10), 2);
    default:
      return a.value;
  }
}

export function firmographicRaw(field: FirmographicField, f: Firmographics): number | string | string[] | null {
  switch (field) {
    case 'employees':
      return f.employees;
    case 'industry':
      return f.industry;
    case 'country':
      return f.country;
    case 'tech_stack':
      return f.techStack;
  }
}

function disqualifies(when: { gte?: number; lt?: number; in?: string[] }, raw: number | string | string[] | null): boolean {
  if (raw === null) return false;
  if (typeof raw === 'number') return (when.gte === undefined || raw >= when.gte) && (when.lt === undefined || raw < when.lt) && (when.gte !== undefined || when.lt !== undefined);
  const values = (typeof raw === 'string' ? [raw] : raw).map((v) => v.trim().toLowerCase());
  return (when.in ?? []).some((x) => values.includes(x.trim().toLowerCase()));
}

export function enterpriseIndicators(model: ModelConfig, aggregates: Aggregates, f: Firmographics): { fit: boolean; indicators: EnterpriseIndicators } {
  const ef = model.enterprise_fit;
  const teams = aggregates['e:teams']?.value ?? 0;
  const features = aggregates['e:features']?.value ?? 0;
  const procurement = aggregates['e:procurement']?.value ?? 0;
  const met: string[] = [];
  if (f.employees !== null && f.employees > ef.min_employees) met.push('size');
  if (teams >= ef.min_teams) met.push('teams');
  if (features > 0) met.push('enterprise_features');
  if (procurement > 0) met.push('procurement');
  return { fit: met.length >= ef.min_indicators, indicators: { employees: f.employees, teams, enterprise_feature_events: features, procurement_events: procurement, met } };
}

export function levelOf(model: ModelConfig, total: number, enterpriseFit: boolean, disqualified: boolean): Level {
  if (disqualified) return 'none';
  if (total > model.thresholds.enterprise && enterpriseFit) return 'enterprise';
  if (total > model.thresholds.sales_assist) return 'sales_assist';
  return 'none';
}

/**
 * Scores one account. Each signal: raw → points function → cap [min_points, max_points] → decay;
 * a sub-score is the sum of its signals' points, clamped to [0, 100]; the total is the weighted
 * sum (integer percent weights). A disqualifier that matches sets the total to 0 (the breakdown
 * is kept so the rep sees why).
 */
export function evaluate(model: ModelConfig, input: { aggregates: Aggregates; firmographics: Firmographics }): ScoreResult {
  const contributions: Contribution[] = model.signals.map((s) => {
    const agg = s.source.kind === 'events' ? input.aggregates[`s:${s.key}`] : undefined;
    const raw = s.source.kind === 'events' ? eventRaw(s.source, agg) : firmographicRaw(s.source.field, input.firmographics);
    const daysSinceLast = s.source.kind === 'events' ? (agg?.lastDays ?? null) : null;
    const p = signalPoints({ spec: s.points, raw, maxPoints: s.max_points, minPoints: s.min_points, halfLifeDays: s.half_life_days, daysSinceLast });
    return { key: s.key, category: s.category, raw: raw ?? null, base: p.base, points: p.points, days_since_last: daysSinceLast };
  });
  const sum = (c: Category) => roundTo(clamp(contributions.filter((x) => x.category === c).reduce((a, x) => a + x.points, 0), 0, 100));
  const sub = { usage: sum('usage'), fit: sum('fit'), behavior: sum('behavior') };
  const disqualifier = model.disqualifiers.find((d) => {
    const raw = d.source.kind === 'events' ? eventRaw(d.source, input.aggregates[`d:${d.key}`]) : firmographicRaw(d.source.field, input.firmographics);
    return disqualifies(d.when, raw);
  });
  const ent = enterpriseIndicators(model, input.aggregates, input.firmographics);
  const total = disqualifier ? 0 : weightedTotal(model.weights, sub);
  return {
    total,
    ...sub,
    level: levelOf(model, total, ent.fit, Boolean(disqualifier)),
    enterpriseFit: ent.fit,
    disqualifiedBy: disqualifier?.key ?? null,
    contributions,
    indicators: ent.indicators,
  };
}

/** Everything that makes the score (a change writes a snapshot); raw values may move within a band. */
export function pointsKey(r: ScoreResult): string {
  return JSON.stringify([r.total, r.usage, r.fit, r.behavior, r.level, r.enterpriseFit, r.disqualifiedBy, r.contributions.map((c) => [c.key, c.points])]);
}

/** Points and every raw input: equal keys mean there is nothing to write at all. */
export function inputsKey(r: ScoreResult, points = pointsKey(r)): string {
  return JSON.stringify([points, compactContributions(r.contributions), compactIndicators(r.indicators)]);
}

export const samePoints = (a: ScoreResult, b: ScoreResult) => pointsKey(a) === pointsKey(b);

/** Storage form of contributions: [key, category, raw, base, points, days_since_last] (jsonb keeps arrays in order). */
export function compactContributions(cs: readonly Contribution[]): unknown[] {
  return cs.map((c) => [c.key, c.category, c.raw, c.base, c.points, c.days_since_last]);
}

export function expandContributions(v: unknown): Contribution[] {
  return (v as unknown[][]).map(([key, category, raw, base, points, days]) => ({
    key: key as string,
    category: category as Contribution['category'],
    raw: raw as Contribution['raw'],
    base: Number(base),
    points: Number(points),
    days_since_last: days === null || days === undefined ? null : Number(days),
  }));
}

export function compactIndicators(i: EnterpriseIndicators): unknown[] {
  return [i.employees, i.teams, i.enterprise_feature_events, i.procurement_events, i.met];
}

export function expandIndicators(v: unknown): EnterpriseIndicators {
  const [employees, teams, features, procurement, met] = v as unknown[];
  return { employees: employees === null ? null : Number(employees), teams: Number(teams), enterprise_feature_events: Number(features), procurement_events: Number(procurement), met: met as string[] };
}

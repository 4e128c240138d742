/**
 * Points functions, caps and decay: pure arithmetic on plain numbers (scores are points, not
 * money). Every result is rounded once, to one decimal, half away from zero, so a score is
 * the same on every run and every machine.
 */
import type { PointsSpec } from '../model.schema.ts';

/** Round to `places` decimals, half away from zero: 2.25 → 2.3, −2.25 → −2.3, 17.999999 → 18. */
export function roundTo(x: number, places = 1): number {
  const f = 10 ** places;
  const r = Math.round(Math.abs(x) * f + 1e-9) / f;
  return x < 0 && r !== 0 ? -r : r;
}

export const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));

/** Bands: the last band whose min ≤ raw gives the points; below every band → 0. Bands are in increasing min. */
export function bandPoints(bands: readonly { min: number; points: number }[], raw: number): number {
  let points = 0;
  for (const b of bands) if (raw >= b.min) points = b.points;
  return points;
}

/** Linear: (raw − offset) × per_unit. 3 techs × 10 = 30; the signal's cap is applied afterwards. */
export function linearPoints(spec: { per_unit: number; offset: number }, raw: number): number {
  return (raw - spec.offset) * spec.per_unit;
}

const norm = (s: string) => s.trim().toLowerCase();

type MatchSpec = { groups: readonly { values: readonly string[]; points: number }[]; default: number };
/** Normalised value → points of the first group listing it, built once per spec (specs are immutable). */
const lookups = new WeakMap<MatchSpec, Map<string, number>>();
function lookup(spec: MatchSpec): Map<string, number> {
  let m = lookups.get(spec);
  if (!m) {
    m = new Map();
    for (const g of spec.groups) for (const v of g.values) if (!m.has(norm(v))) m.set(norm(v), g.points);
    lookups.set(spec, m);
  }
  return m;
}

/**
 * Match (text and list values, case-insensitive): each distinct value earns the points of the
 * first group that lists it, summed; nothing matched → `default`.
 * Worked example (tech stack, groups [segment, stripe]: 10, [aws]: 5): ['Segment', 'AWS', 'Vue'] → 10 + 5 = 15.
 */
export function matchPoints(spec: MatchSpec, raw: string | readonly string[] | null): { points: number; matched: string[] } {
  const values = raw === null ? [] : typeof raw === 'string' ? [raw] : raw;
  const table = lookup(spec);
  const seen = new Set<string>();
  let points = 0;
  const matched: string[] = [];
  for (const v of values) {
    const n = norm(v);
    if (!n || seen.has(n)) continue;
    seen.add(n);
    const p = table.get(n);
    if (p !== undefined) {
      points += p;
      matched.push(v.trim());
    }
  }
  return matched.length ? { points, matched } : { points: spec.default, matched };
}

/** The points function applied to a raw value (before cap and decay). Null raw (unknown) earns 0 on numeric functions. */
export function rawPoints(spec: PointsSpec, raw: number | string | readonly string[] | null): { points: number; matched: string[] } {
  switch (spec.type) {
    case 'bands':
      return { points: typeof raw === 'number' ? bandPoints(spec.bands, raw) : 0, matched: [] };
    case 'linear':
      return { points: typeof raw === 'number' ? linearPoints(spec, raw) : 0, matched: [] };
    case 'match':
      return matchPoints(spec, typeof raw === 'number' ? String(raw) : raw);
  }
}

/**
 * Exponential decay by the age of the latest matching event: points × 0.5^(days / half-life),
 * whole days. Worked example: 24 points, last pricing view 7 days ago, half-life 7 → 12;
 * 14 days → 6; 3 days → 24 × 0.5^(3/7) = 17.8.
 */
export function decayFactor(daysSinceLast: number | null, halfLifeDays: number | undefined): number {
  if (halfLifeDays === undefined || daysSinceLast === null || daysSinceLast <= 0) return 1;
  return 0.5 ** (daysSinceLast / halfLifeDays);
}

/** raw → points function → cap to [min, max] → decay → round. Returns the capped (pre-decay) and final points. */
export function signalPoints(input: {
  spec: PointsSpec;
  raw: number | string | readonly string[] | null;
  maxPoints: number;
  minPoints: number;
  halfLifeDays?: number;
  daysSinceLast: number | null;
}): { base: number; points: number; matched: string[] } {
  const { points, matched } = rawPoints(input.spec, input.raw);
  const base = roundTo(clamp(points, input.minPoints, input.maxPoints));
  const final = roundTo(base * decayFactor(input.daysSinceLast, input.halfLifeDays));
  return { base, points: final === 0 ? 0 : final, matched };
}

/**
 * The total from sub-scores (one decimal) and integer percent weights, in exact integer tenths,
 * rounded once half up: 40 × 62 + 35 × 55 + 25 × 80 = 6405 → 64.05 → 64.1.
 */
export function weightedTotal(weights: { usage: number; fit: number; behavior: number }, sub: { usage: number; fit: number; behavior: number }): number {
  const t = (x: number) => Math.round(x * 10);
  const s = weights.usage * t(sub.usage) + weights.fit * t(sub.fit) + weights.behavior * t(sub.behavior);
  return Math.floor((s + 50) / 100) / 10;
}

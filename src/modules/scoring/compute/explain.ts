/**
 * Plain-language explanations a rep reads in one glance: "6 daily active users (+18 usage)",
 * "viewed pricing 4 times this week (+24 behavior)".
 */
import { CATEGORIES, type EventSource, type ModelConfig, type Signal } from '../model.schema.ts';
import type { Contribution, ScoreResult } from '../scoring.ts';
import { matchPoints } from './points.ts';

/** 6 → "6", 0.60 → "0.6", 1.25 → "1.25", 2400 → "2,400". */
export function formatNumber(n: number): string {
  const fixed = Number.isInteger(n) ? String(n) : String(Math.round(n * 100) / 100);
  const [int, frac] = fixed.split('.');
  const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return frac ? `${grouped}.${frac}` : grouped;
}

export function formatPoints(p: number): string {
  return p < 0 ? `−${formatNumber(-p)}` : `+${formatNumber(p)}`;
}

function times(n: number): string {
  return n === 1 ? 'once' : n === 2 ? 'twice' : `${formatNumber(n)} times`;
}

/** 7 → "this week", 1 → "in the last day", 14 → "in the last 2 weeks", 30 → "in the last 30 days". */
export function windowPhrase(days: number): string {
  if (days === 1) return 'in the last day';
  if (days === 7) return 'this week';
  if (days % 7 === 0 && days <= 28) return `in the last ${days / 7} weeks`;
  return `in the last ${days} days`;
}

function list(values: string[]): string {
  if (values.length <= 1) return values[0] ?? 'nothing on the target list';
  return `${values.slice(0, -1).join(', ')} and ${values[values.length - 1]}`;
}

function rawText(raw: Contribution['raw']): string {
  if (raw === null) return 'unknown';
  if (typeof raw === 'number') return formatNumber(raw);
  if (typeof raw === 'string') return raw;
  return raw.length ? raw.join(', ') : 'none';
}

/** The trend ratio as a change: 1.5 → "up 50%", 0.8 → "down 20%", 1 → "flat". */
function change(raw: Contribution['raw']): string {
  if (typeof raw !== 'number') return 'unknown';
  const pct = Math.round((raw - 1) * 100);
  return pct === 0 ? 'flat' : pct > 0 ? `up ${pct}%` : `down ${-pct}%`;
}

/** Renders a signal's template for its measured value: {value} {s} {times} {window} {window_days} {matched} {change}. */
export function renderTemplate(signal: Signal, c: Contribution): string {
  const source = signal.source.kind === 'events' ? (signal.source as EventSource) : null;
  if (source?.aggregation === 'trend' && c.raw === 0) return `too little activity to measure a trend ${windowPhrase(source.window_days)}`;
  const n = typeof c.raw === 'number' ? c.raw : null;
  const matched = signal.points.type === 'match' ? matchPoints(signal.points, typeof c.raw === 'number' ? String(c.raw) : c.raw).matched : [];
  const vars: Record<string, string> = {
    value: rawText(c.raw),
    s: n === 1 ? '' : 's',
    times: n === null ? rawText(c.raw) : times(n),
    window: source ? windowPhrase(source.window_days) : '',
    window_days: source ? String(source.window_days) : '',
    matched: list(matched),
    change: change(c.raw),
  };
  return signal.explain.replace(/\{(\w+)\}/g, (whole, name: string) => vars[name] ?? whole).replace(/\s+/g, ' ').trim();
}

/** "viewed pricing 4 times this week (+24 behavior)"; decayed: "(+12 behavior, decayed from 24: latest 7 days ago)". */
export function explainContribution(signal: Signal, c: Contribution): string {
  const decayed = c.points !== c.base && c.days_since_last !== null;
  const detail = decayed ? `, decayed from ${formatNumber(c.base)}: latest ${c.days_since_last} day${c.days_since_last === 1 ? '' : 's'} ago` : '';
  return `${renderTemplate(signal, c)} (${formatPoints(c.points)} ${c.category}${detail})`;
}

export interface Explanation {
  summary: string;
  top_contributors: string[];
  held_back_by: string[];
}

const LEVEL_TEXT = { sales_assist: 'Sales Assist', enterprise: 'Enterprise' } as const;

/**
 * The whole score in words: a summary line, the top contributors by their weight in the total
 * (points × category weight; the best of each category, then the next best, up to 4), and what
 * holds the score back (negative points).
 */
export function explainScore(model: ModelConfig, r: ScoreResult): Explanation {
  const bySignal = new Map(model.signals.map((s) => [s.key, s]));
  const weight = (c: Contribution) => c.points * model.weights[c.category];
  const known = r.contributions.filter((c) => bySignal.has(c.key));
  const ranked = known.filter((c) => c.points > 0 && weight(c) > 0).sort((a, b) => weight(b) - weight(a) || a.key.localeCompare(b.key));
  // The best of each category first (a rep sees usage, fit and behavior), then the next best, up to 4.
  const picked = new Set(CATEGORIES.map((cat) => ranked.find((c) => c.category === cat)).filter((c): c is Contribution => c !== undefined));
  for (const c of ranked) if (picked.size < 4) picked.add(c);
  const top = ranked.filter((c) => picked.has(c)).map((c) => explainContribution(bySignal.get(c.key)!, c));
  const held = known
    .filter((c) => c.points < 0)
    .sort((a, b) => weight(a) - weight(b))
    .map((c) => explainContribution(bySignal.get(c.key)!, c));
  const subs = `Usage ${formatNumber(r.usage)} · Fit ${formatNumber(r.fit)} · Behavior ${formatNumber(r.behavior)}`;
  const t = model.thresholds;
  let verdict: string;
  if (r.disqualifiedBy) {
    const d = model.disqualifiers.find((x) => x.key === r.disqualifiedBy);
    verdict = `Disqualified: ${d?.label ?? r.disqualifiedBy}. Not routed to sales.`;
  } else if (r.level === 'enterprise') {
    verdict = `PQL ${formatNumber(r.total)} is above ${formatNumber(t.enterprise)} with enterprise fit (${r.indicators.met.join(', ').replace(/_/g, ' ')}): route to ${LEVEL_TEXT.enterprise}.`;
  } else if (r.level === 'sales_assist') {
    const why = r.total > t.enterprise ? ` (above ${formatNumber(t.enterprise)} but without enterprise fit)` : '';
    verdict = `PQL ${formatNumber(r.total)} is above ${formatNumber(t.sales_assist)}${why}: route to ${LEVEL_TEXT.sales_assist}.`;
  } else {
    verdict = `PQL ${formatNumber(r.total)} is at or below ${formatNumber(t.sales_assist)}: self-serve, keep monitoring.`;
  }
  return { summary: `${verdict} ${subs}.`, top_contributors: top, held_back_by: held };
}

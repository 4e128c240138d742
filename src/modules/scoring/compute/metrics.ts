/**
 * Backtest accuracy metrics over (score, outcome) observations. Pure; ratios rounded to 4 decimals.
 */
import { roundTo } from './points.ts';

export interface Observation {
  score: number;
  label: boolean;
}

const ratio = (a: number, b: number): number | null => (b === 0 ? null : roundTo(a / b, 4));

export interface ThresholdMetrics {
  threshold: number;
  predicted_positive: number;
  true_positive: number;
  precision: number | null;
  recall: number | null;
}

/**
 * Precision and recall of "score > threshold" (the routing rule is strict). Worked example:
 * scores [95, 80, 72, 40], outcomes [yes, no, yes, yes] at 70 → predicted 3, hits 2:
 * precision 2/3 = 0.6667, recall 2/3 = 0.6667.
 */
export function atThreshold(obs: readonly Observation[], threshold: number): ThresholdMetrics {
  let predicted = 0;
  let tp = 0;
  let positives = 0;
  for (const o of obs) {
    if (o.label) positives++;
    if (o.score > threshold) {
      predicted++;
      if (o.label) tp++;
    }
  }
  return { threshold, predicted_positive: predicted, true_positive: tp, precision: ratio(tp, predicted), recall: ratio(tp, positives) };
}

export interface Decile {
  decile: number;
  count: number;
  positives: number;
  conversion_rate: number | null;
  lift: number | null;
  min_score: number | null;
  max_score: number | null;
}

/**
 * Conversion lift by decile: observations sorted by score (highest first; ties keep input order),
 * cut into 10 near-equal groups; lift = the decile's conversion rate ÷ the overall rate.
 */
export function liftByDecile(obs: readonly Observation[]): Decile[] {
  const sorted = obs.map((o, i) => ({ ...o, i })).sort((a, b) => b.score - a.score || a.i - b.i);
  const n = sorted.length;
  const base = n ? sorted.filter((o) => o.label).length / n : 0;
  const out: Decile[] = [];
  for (let d = 0; d < 10; d++) {
    const part = sorted.slice(Math.floor((d * n) / 10), Math.floor(((d + 1) * n) / 10));
    const positives = part.filter((o) => o.label).length;
    const rate = part.length ? positives / part.length : null;
    out.push({
      decile: d + 1,
      count: part.length,
      positives,
      conversion_rate: rate === null ? null : roundTo(rate, 4),
      lift: rate === null || base === 0 ? null : roundTo(rate / base, 4),
      min_score: part.length ? part[part.length - 1].score : null,
      max_score: part.length ? part[0].score : null,
    });
  }
  return out;
}

/**
 * Area under the ROC curve by the rank-sum (Mann–Whitney) formula, tied scores sharing their
 * average rank: the probability that a random converter outscores a random non-converter
 * (ties count half). Worked example: positives [90, 60], negatives [60, 10] → pairs won 3.5 of 4 → 0.875.
 */
export function auc(obs: readonly Observation[]): number | null {
  const pos = obs.filter((o) => o.label).length;
  const neg = obs.length - pos;
  if (pos === 0 || neg === 0) return null;
  const sorted = [...obs].sort((a, b) => a.score - b.score);
  let rankSumPos = 0;
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j < sorted.length && sorted[j].score === sorted[i].score) j++;
    const avgRank = (i + 1 + j) / 2; // ranks i+1 … j
    for (let k = i; k < j; k++) if (sorted[k].label) rankSumPos += avgRank;
    i = j;
  }
  return roundTo((rankSumPos - (pos * (pos + 1)) / 2) / (pos * neg), 4);
}

export interface CalibrationBucket {
  from: number;
  to: number;
  count: number;
  mean_score: number | null;
  conversion_rate: number | null;
}

/** Observed conversion by score bucket of 10 points ([0,10) … [90,100]): a good model rises bucket by bucket. */
export function calibration(obs: readonly Observation[]): CalibrationBucket[] {
  const buckets: CalibrationBucket[] = [];
  for (let b = 0; b < 10; b++) {
    const from = b * 10;
    const to = from + 10;
    const part = obs.filter((o) => o.score >= from && (b === 9 ? o.score <= to : o.score < to));
    const positives = part.filter((o) => o.label).length;
    buckets.push({
      from,
      to,
      count: part.length,
      mean_score: part.length ? roundTo(part.reduce((a, o) => a + o.score, 0) / part.length, 2) : null,
      conversion_rate: ratio(positives, part.length),
    });
  }
  return buckets;
}

export interface AccuracyReport {
  observations: number;
  positives: number;
  base_rate: number | null;
  thresholds: ThresholdMetrics[];
  auc: number | null;
  lift_by_decile: Decile[];
  top_decile_lift: number | null;
  calibration: CalibrationBucket[];
}

export function accuracyReport(obs: readonly Observation[], thresholds: readonly number[]): AccuracyReport {
  const positives = obs.filter((o) => o.label).length;
  const deciles = liftByDecile(obs);
  return {
    observations: obs.length,
    positives,
    base_rate: ratio(positives, obs.length),
    thresholds: thresholds.map((t) => atThreshold(obs, t)),
    auc: auc(obs),
    lift_by_decile: deciles,
    top_decile_lift: deciles[0]?.lift ?? null,
    calibration: calibration(obs),
  };
}

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { accuracyReport, atThreshold, auc, calibration, liftByDecile } from '../compute/metrics.ts';

const obs = (pairs: Array<[number, boolean]>) => pairs.map(([score, label]) => ({ score, label }));

describe('backtest metrics', () => {
  it('precision and recall of score > threshold (strict, as routing is)', () => {
    const o = obs([[95, true], [80, false], [72, true], [70, true], [40, true], [10, false]]);
    // at 70: predicted 95, 80, 72 (70 is not above 70) → hits 95, 72 → precision 2/3, recall 2/4
    assert.deepEqual(atThreshold(o, 70), { threshold: 70, predicted_positive: 3, true_positive: 2, precision: 0.6667, recall: 0.5 });
    assert.deepEqual(atThreshold(o, 90), { threshold: 90, predicted_positive: 1, true_positive: 1, precision: 1, recall: 0.25 });
    assert.deepEqual(atThreshold(obs([[10, false]]), 70), { threshold: 70, predicted_positive: 0, true_positive: 0, precision: null, recall: null });
  });

  it('AUC by ranks with ties counting half: positives [90, 60], negatives [60, 10] → 3.5 / 4', () => {
    assert.equal(auc(obs([[90, true], [60, true], [60, false], [10, false]])), 0.875);
    assert.equal(auc(obs([[1, true], [2, false]])), 0);
    assert.equal(auc(obs([[5, true], [5, false]])), 0.5);
    assert.equal(auc(obs([[5, true]])), null, 'needs both classes');
  });

  it('AUC equals the share of (positive, negative) pairs ranked right, for any data', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 20 }), fc.boolean()), { minLength: 2, maxLength: 60 }), (pairs) => {
        const o = obs(pairs);
        const pos = o.filter((x) => x.label);
        const neg = o.filter((x) => !x.label);
        if (!pos.length || !neg.length) return;
        let won = 0;
        for (const p of pos) for (const n of neg) won += p.score > n.score ? 1 : p.score === n.score ? 0.5 : 0;
        assert.equal(auc(o), Math.round((won / (pos.length * neg.length)) * 10_000) / 10_000);
      }),
    );
  });

  it('lift by decile: 10 near-equal groups by score, each rate over the base rate', () => {
    // 20 observations, scores 100, 95, …, 5; the top 4 converted → base rate 0.2
    const o = obs(Array.from({ length: 20 }, (_, i) => [100 - 5 * i, i < 4]));
    const d = liftByDecile(o);
    assert.equal(d.length, 10);
    assert.deepEqual(d.map((x) => x.count), [2, 2, 2, 2, 2, 2, 2, 2, 2, 2]);
    assert.deepEqual(d.map((x) => x.lift), [5, 5, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert.deepEqual([d[0].max_score, d[0].min_score, d[9].min_score], [100, 95, 5]);
  });

  it('calibration: observed conversion per 10-point bucket', () => {
    const c = calibration(obs([[5, false], [8, false], [55, true], [51, false], [100, true], [91, true]]));
    assert.deepEqual(c[0], { from: 0, to: 10, count: 2, mean_score: 6.5, conversion_rate: 0 });
    assert.deepEqual(c[5], { from: 50, to: 60, count: 2, mean_score: 53, conversion_rate: 0.5 });
    assert.deepEqual(c[9], { from: 90, to: 100, count: 2, mean_score: 95.5, conversion_rate: 1 });
    assert.equal(c[3].conversion_rate, null);
  });

  it('the report puts it together', () => {
    const r = accuracyReport(obs([[95, true], [75, true], [50, false], [20, false]]), [70, 90]);
    assert.deepEqual([r.observations, r.positives, r.base_rate, r.auc, r.top_decile_lift], [4, 2, 0.5, 1, null]);
    assert.deepEqual(r.thresholds.map((t) => [t.precision, t.recall]), [[1, 1], [1, 0.5]]);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bandPoints, decayFactor, linearPoints, matchPoints, rawPoints, roundTo, signalPoints, weightedTotal } from '../compute/points.ts';
import { eventRaw } from '../compute/score.ts';
import { DEFAULT_MODEL, type EventSource, type Signal } from '../scoring.ts';

const signal = (key: string): Signal => DEFAULT_MODEL.signals.find((s) => s.key === key)!;
const pointsOf = (key: string, raw: number | string | string[] | null, daysSinceLast: number | null = null) => {
  const s = signal(key);
  return signalPoints({ spec: s.points, raw, maxPoints: s.max_points, minPoints: s.min_points, halfLifeDays: s.half_life_days, daysSinceLast }).points;
};

describe('points functions', () => {
  it('rounds half away from zero to one decimal, and absorbs float noise', () => {
    assert.equal(roundTo(2.25), 2.3);
    assert.equal(roundTo(-2.25), -2.3);
    assert.equal(roundTo(17.999999999), 18);
    assert.equal(roundTo(0.1 + 0.2), 0.3);
    assert.equal(roundTo(1.005, 2), 1.01);
    assert.equal(roundTo(-0.04), 0);
  });

  it('bands: the last band whose min ≤ raw; below every band → 0', () => {
    const bands = [
      { min: 1, points: 8 },
      { min: 2, points: 14 },
      { min: 4, points: 24 },
    ];
    assert.equal(bandPoints(bands, 0), 0);
    assert.equal(bandPoints(bands, 1), 8);
    assert.equal(bandPoints(bands, 3.9), 14);
    assert.equal(bandPoints(bands, 4), 24);
    assert.equal(bandPoints(bands, 400), 24);
    assert.equal(bandPoints([{ min: 0, points: -10 }, { min: 1, points: 0 }], 0.5), -10, 'a band may carry negative points');
  });

  it('linear: (raw − offset) × per unit; the cap comes after', () => {
    assert.equal(linearPoints({ per_unit: 10, offset: 0 }, 3), 30);
    assert.equal(linearPoints({ per_unit: 2.5, offset: 4 }, 10), 15);
    const capped = signalPoints({ spec: { type: 'linear', per_unit: 10, offset: 0 }, raw: 7, maxPoints: 30, minPoints: 0, daysSinceLast: null });
    assert.deepEqual([capped.base, capped.points], [30, 30], '7 × 10 = 70, capped at 30');
    const floored = signalPoints({ spec: { type: 'linear', per_unit: -5, offset: 0 }, raw: 6, maxPoints: 0, minPoints: -20, daysSinceLast: null });
    assert.equal(floored.points, -20, '6 × −5 = −30, floored at min_points −20');
  });

  it('match: each distinct value earns its first group’s points, case-insensitive; nothing matched → default', () => {
    const spec = { groups: [{ values: ['Segment', 'stripe'], points: 10 }, { values: ['aws'], points: 5 }], default: -3 };
    assert.deepEqual(matchPoints(spec, ['segment', 'AWS', 'vue', 'Segment']), { points: 15, matched: ['segment', 'AWS'] });
    assert.deepEqual(matchPoints(spec, 'Stripe'), { points: 10, matched: ['Stripe'] });
    assert.deepEqual(matchPoints(spec, ['vue']), { points: -3, matched: [] });
    assert.deepEqual(matchPoints(spec, null), { points: -3, matched: [] });
    assert.equal(rawPoints({ type: 'bands', bands: [{ min: 1, points: 5 }] }, null).points, 0, 'unknown numeric raw earns nothing');
  });

  it('decay halves points every half-life since the latest matching event (whole days)', () => {
    assert.equal(decayFactor(null, 7), 1);
    assert.equal(decayFactor(0, 7), 1);
    assert.equal(decayFactor(7, 7), 0.5);
    assert.equal(decayFactor(14, 7), 0.25);
    assert.equal(decayFactor(5, undefined), 1, 'no half-life, no decay');
    // 24 × 0.5^(3/7) = 24 × 0.742997 = 17.83 → 17.8
    assert.equal(signalPoints({ spec: { type: 'bands', bands: [{ min: 4, points: 24 }] }, raw: 4, maxPoints: 30, minPoints: 0, halfLifeDays: 7, daysSinceLast: 3 }).points, 17.8);
    // negative points decay toward 0 too: −10 × 0.5 = −5
    assert.equal(signalPoints({ spec: { type: 'bands', bands: [{ min: 0, points: -10 }] }, raw: 1, maxPoints: 0, minPoints: -10, halfLifeDays: 2, daysSinceLast: 2 }).points, -5);
  });

  it('weights: the total in exact tenths, rounded once (40 × 62 + 35 × 55 + 25 × 80 = 6405 → 64.1)', () => {
    assert.equal(weightedTotal({ usage: 40, fit: 35, behavior: 25 }, { usage: 62, fit: 55, behavior: 80 }), 64.1);
    assert.equal(weightedTotal({ usage: 40, fit: 35, behavior: 25 }, { usage: 100, fit: 100, behavior: 100 }), 100);
    assert.equal(weightedTotal({ usage: 40, fit: 35, behavior: 25 }, { usage: 5, fit: 4, behavior: 3.7 }), 4.3, '200 + 140 + 92.5 = 432.5 → 4.325 → 4.3');
    assert.equal(weightedTotal({ usage: 100, fit: 0, behavior: 0 }, { usage: 33.3, fit: 90, behavior: 90 }), 33.3);
  });
});

describe('the default model, signal by signal (PRODUCT.md numbers)', () => {
  it('is 40/35/25 with thresholds 70 and 90, and every sub-score adds up to 100 points', () => {
    assert.deepEqual(DEFAULT_MODEL.weights, { usage: 40, fit: 35, behavior: 25 });
    assert.deepEqual(DEFAULT_MODEL.thresholds, { sales_assist: 70, enterprise: 90 });
    const caps = (c: string) => DEFAULT_MODEL.signals.filter((s) => s.category === c).map((s) => [s.key, s.max_points]);
    assert.deepEqual(caps('usage'), [['daily_active_users', 30], ['feature_adoption', 30], ['usage_trend', 20], ['collaboration', 20]]);
    assert.deepEqual(caps('fit'), [['company_size', 40], ['industry', 30], ['tech_stack', 30]]);
    assert.deepEqual(caps('behavior'), [['pricing_page', 30], ['upgrade_intent', 40], ['support_engagement', 30]]);
    assert.equal(DEFAULT_MODEL.enterprise_fit.min_employees, 500);
  });

  it('daily active users: distinct (user, day) pairs ÷ 7; 6 DAU → 18 points, 20 → 30 (cap)', () => {
    const src = signal('daily_active_users').source as EventSource;
    assert.equal(eventRaw(src, { value: 42, prev: 0, lastDays: 0 }), 6);
    assert.equal(eventRaw(src, { value: 3, prev: 0, lastDays: 0 }), 0.4, '3 ÷ 7 = 0.43 → 0.4');
    assert.deepEqual([0.4, 0.5, 1, 2, 3, 6, 10, 20, 200].map((v) => pointsOf('daily_active_users', v)), [0, 3, 6, 10, 14, 18, 24, 30, 30]);
  });

  it('feature adoption: distinct features in 30 days', () => {
    assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 8, 12].map((v) => pointsOf('feature_adoption', v)), [0, 5, 10, 10, 18, 18, 24, 30, 30]);
  });

  it('usage trend: this 14 days ÷ the 14 before (previous floored at 1, capped at 10; at least 10 events)', () => {
    const src = signal('usage_trend').source as EventSource;
    assert.equal(eventRaw(src, { value: 90, prev: 45, lastDays: 0 }), 2);
    assert.equal(eventRaw(src, { value: 15, prev: 20, lastDays: 0 }), 0.75);
    assert.equal(eventRaw(src, { value: 6, prev: 2, lastDays: 0 }), 0, 'fewer than 10 events is not a trend');
    assert.equal(eventRaw(src, { value: 12, prev: 0, lastDays: 0 }), 10, 'all new: capped at 10');
    assert.equal(eventRaw(src, { value: 0, prev: 9, lastDays: null }), 0);
    assert.deepEqual([0.75, 1, 1.2, 1.25, 1.5, 10].map((v) => pointsOf('usage_trend', v)), [0, 8, 8, 14, 20, 20]);
  });

  it('collaboration: invites sent and users added in 30 days', () => {
    assert.deepEqual([0, 1, 3, 5, 10, 50].map((v) => pointsOf('collaboration', v)), [0, 5, 10, 15, 20, 20]);
  });

  it('company size: employee bands up to 40 points', () => {
    assert.deepEqual([null, 0, 1, 6, 10, 50, 180, 250, 500, 501, 2400].map((v) => pointsOf('company_size', v)), [0, 0, 4, 4, 10, 18, 26, 32, 36, 36, 40]);
  });

  it('industry: target 30, adjacent 15, anything else 0', () => {
    assert.deepEqual(['Software', 'financial services', 'Healthcare', 'Education', null].map((v) => pointsOf('industry', v)), [30, 30, 15, 0, 0]);
  });

  it('tech stack: 10 per target tool, 5 per cloud, capped at 30', () => {
    assert.equal(pointsOf('tech_stack', ['segment', 'hubspot', 'aws']), 25);
    assert.equal(pointsOf('tech_stack', ['salesforce', 'snowflake', 'okta', 'aws']), 30, '35 capped at 30');
    assert.equal(pointsOf('tech_stack', ['wordpress', 'mailchimp']), 0);
  });

  it('pricing page: views this week, half-life 7 days', () => {
    assert.deepEqual([0, 1, 2, 4, 6, 9].map((v) => pointsOf('pricing_page', v, 0)), [0, 8, 14, 24, 30, 30]);
    assert.equal(pointsOf('pricing_page', 4, 7), 12, '24 halved after 7 days');
    assert.equal(pointsOf('pricing_page', 5, 1), 21.7, '24 × 0.5^(1/7) = 21.74');
  });

  it('upgrade intent: upgrade clicks, paywall hits, trial and demo requests, enterprise features in 14 days, half-life 7', () => {
    assert.deepEqual([1, 2, 3, 5].map((v) => pointsOf('upgrade_intent', v, 0)), [15, 25, 32, 40]);
    assert.equal(pointsOf('upgrade_intent', 3, 1), 29, '32 × 0.905724 = 28.98 → 29');
    assert.equal(pointsOf('upgrade_intent', 2, 2), 20.5, '25 × 0.820335 = 20.51 → 20.5');
  });

  it('support engagement: tickets in 30 days, half-life 14', () => {
    assert.deepEqual([1, 2, 3, 4].map((v) => pointsOf('support_engagement', v, 0)), [10, 20, 20, 30]);
    assert.equal(pointsOf('support_engagement', 1, 20), 3.7, '10 × 0.5^(20/14) = 3.715');
    assert.equal(pointsOf('support_engagement', 2, 6), 14.9, '20 × 0.742997 = 14.86');
  });
});

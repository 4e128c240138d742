import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { explainContribution, explainScore } from '../compute/explain.ts';
import { evaluate, type Aggregates } from '../compute/score.ts';
import { DEFAULT_MODEL, modelProblems, ModelConfigSchema, type Firmographics, type ModelConfig } from '../scoring.ts';

const agg = (value: number, lastDays: number | null = 0, prev = 0) => ({ value, prev, lastDays });
const firm = (employees: number | null, industry: string | null, techStack: string[]): Firmographics => ({ domain: null, employees, industry, country: 'US', techStack, sources: {} });
const points = (r: ReturnType<typeof evaluate>) => Object.fromEntries(r.contributions.map((c) => [c.key, c.points]));

/**
 * Three example accounts, scored by hand with the default model (PRODUCT.md section 1).
 * Measured values are what the events add up to; each line shows band → points (→ decay).
 */
const examples: Record<string, { aggregates: Aggregates; firmographics: Firmographics }> = {
  // Low-fit SMB: 6-person education company, one user poking around, one old support ticket.
  //   usage:    DAU 3 pairs ÷ 7 = 0.4 → 0 · 1 feature → 5 · trend: 6 events (< 10) → 0 · no invites → 0 = 5
  //   fit:      6 employees → 4 · Education → 0 · wordpress, mailchimp → 0                            = 4
  //   behavior: 1 ticket → 10, 20 days ago: 10 × 0.5^(20/14) = 3.7                                    = 3.7
  //   PQL = (40 × 5 + 35 × 4 + 25 × 3.7) / 100 = 4.325 → 4.3 → none
  lowFitSmb: {
    aggregates: {
      's:daily_active_users': agg(3),
      's:feature_adoption': agg(1, 2),
      's:usage_trend': agg(6, 0, 8),
      's:support_engagement': agg(1, 20),
    },
    firmographics: firm(6, 'Education', ['wordpress', 'mailchimp']),
  },
  // Fast-growing mid-market team: 180-person software company, 6 daily users, usage doubling.
  //   usage:    DAU 42 ÷ 7 = 6 → 18 · 5 features → 18 · trend 90 ÷ 45 = 2 → 20 · 6 invites → 15         = 71
  //   fit:      180 → 26 · Software → 30 · segment 10 + hubspot 10 + aws 5 = 25                         = 81
  //   behavior: 6 pricing views today → 30 · 3 upgrade signals, latest 1 day ago: 32 × 0.905724 = 29
  //             · 1 ticket 3 days ago: 10 × 0.5^(3/14) = 8.6                                             = 67.6
  //   PQL = (40 × 71 + 35 × 81 + 25 × 67.6) / 100 = 73.65 → 73.7 → sales_assist (> 70)
  fastGrowingMidMarket: {
    aggregates: {
      's:daily_active_users': agg(42),
      's:feature_adoption': agg(5, 1),
      's:usage_trend': agg(90, 0, 45),
      's:collaboration': agg(6, 2),
      's:pricing_page': agg(6, 0),
      's:upgrade_intent': agg(3, 1),
      's:support_engagement': agg(1, 3),
      'e:teams': agg(1),
    },
    firmographics: firm(180, 'Software', ['segment', 'hubspot', 'aws']),
  },
  // Enterprise evaluator: 2,400-person bank, three teams, enterprise features, a security review.
  //   usage:    DAU 70 ÷ 7 = 10 → 24 · 9 features → 30 · trend 120 ÷ 60 = 2 → 20 · 12 users added → 20   = 94
  //   fit:      2,400 → 40 · Financial Services → 30 · 10 + 10 + 10 + 5 = 35 → cap 30                 = 100
  //   behavior: 5 pricing views, latest yesterday: 24 × 0.905724 = 21.7 · 5 upgrade signals today → 40
  //             · 2 tickets, latest 6 days ago: 20 × 0.5^(6/14) = 14.9                                = 76.6
  //   PQL = (40 × 94 + 35 × 100 + 25 × 76.6) / 100 = 91.75 → 91.8
  //   enterprise fit: > 500 employees, 3 teams, enterprise features, procurement (4 ≥ 2) → enterprise
  enterpriseEvaluator: {
    aggregates: {
      's:daily_active_users': agg(70),
      's:feature_adoption': agg(9, 1),
      's:usage_trend': agg(120, 0, 60),
      's:collaboration': agg(12, 3),
      's:pricing_page': agg(5, 1),
      's:upgrade_intent': agg(5, 0),
      's:support_engagement': agg(2, 6),
      'e:teams': agg(3),
      'e:features': agg(3),
      'e:procurement': agg(1, 2),
    },
    firmographics: firm(2400, 'Financial Services', ['salesforce', 'snowflake', 'okta', 'aws']),
  },
};

describe('the default model reproduces hand-computed scores', () => {
  it('low-fit SMB: 4.3, no routing', () => {
    const r = evaluate(DEFAULT_MODEL, examples.lowFitSmb);
    assert.deepEqual(points(r), { daily_active_users: 0, feature_adoption: 5, usage_trend: 0, collaboration: 0, company_size: 4, industry: 0, tech_stack: 0, pricing_page: 0, upgrade_intent: 0, support_engagement: 3.7 });
    assert.deepEqual([r.usage, r.fit, r.behavior, r.total, r.level, r.enterpriseFit], [5, 4, 3.7, 4.3, 'none', false]);
  });

  it('fast-growing mid-market team: 73.7, Sales Assist', () => {
    const r = evaluate(DEFAULT_MODEL, examples.fastGrowingMidMarket);
    assert.deepEqual(points(r), { daily_active_users: 18, feature_adoption: 18, usage_trend: 20, collaboration: 15, company_size: 26, industry: 30, tech_stack: 25, pricing_page: 30, upgrade_intent: 29, support_engagement: 8.6 });
    assert.deepEqual([r.usage, r.fit, r.behavior, r.total, r.level, r.enterpriseFit], [71, 81, 67.6, 73.7, 'sales_assist', false]);
    assert.deepEqual(r.indicators.met, []);
  });

  it('enterprise evaluator: 91.8 with enterprise fit, Enterprise', () => {
    const r = evaluate(DEFAULT_MODEL, examples.enterpriseEvaluator);
    assert.deepEqual(points(r), { daily_active_users: 24, feature_adoption: 30, usage_trend: 20, collaboration: 20, company_size: 40, industry: 30, tech_stack: 30, pricing_page: 21.7, upgrade_intent: 40, support_engagement: 14.9 });
    assert.deepEqual([r.usage, r.fit, r.behavior, r.total, r.level, r.enterpriseFit], [94, 100, 76.6, 91.8, 'enterprise', true]);
    assert.deepEqual(r.indicators.met, ['size', 'teams', 'enterprise_features', 'procurement']);
  });

  it('a score above 90 without enterprise fit stays with Sales Assist; one indicator is not enough', () => {
    const r = evaluate(DEFAULT_MODEL, { ...examples.enterpriseEvaluator, aggregates: { ...examples.enterpriseEvaluator.aggregates, 'e:teams': agg(1), 'e:features': agg(0, null), 'e:procurement': agg(0, null) } });
    assert.equal(r.total, 91.8);
    assert.deepEqual([r.level, r.enterpriseFit, r.indicators.met], ['sales_assist', false, ['size']]);
  });
});

describe('explanations read well', () => {
  it('lists the top contributors in plain language with their points and category', () => {
    const r = evaluate(DEFAULT_MODEL, examples.fastGrowingMidMarket);
    const e = explainScore(DEFAULT_MODEL, r);
    assert.equal(e.summary, 'PQL 73.7 is above 70: route to Sales Assist. Usage 71 · Fit 81 · Behavior 67.6.');
    // by weight in the total: 30 × 35% = 10.5, 26 × 35% = 9.1, 20 × 40% = 8, 30 × 25% = 7.5 (the best of each category is always shown)
    assert.deepEqual(e.top_contributors, ['industry: Software (+30 fit)', '180 employees (+26 fit)', 'activity up 100% vs the 14 days before (+20 usage)', 'viewed pricing 6 times this week (+30 behavior)']);
    assert.deepEqual(e.held_back_by, []);
  });

  it('says what decayed, in words', () => {
    const r = evaluate(DEFAULT_MODEL, examples.enterpriseEvaluator);
    const model: ModelConfig = { ...DEFAULT_MODEL, weights: { usage: 0, fit: 0, behavior: 100 } };
    const e = explainScore(model, r);
    assert.deepEqual(e.top_contributors, [
      'showed upgrade intent 5 times in the last 2 weeks (upgrade clicks, paywall hits, trial or demo requests) (+40 behavior)',
      'viewed pricing 5 times this week (+21.7 behavior, decayed from 24: latest 1 day ago)',
      'opened 2 support tickets in the last 30 days (+14.9 behavior, decayed from 20: latest 6 days ago)',
    ]);
    assert.match(explainScore(DEFAULT_MODEL, r).summary, /^PQL 91\.8 is above 90 with enterprise fit \(size, teams, enterprise features, procurement\): route to Enterprise\./);
  });

  it('reads "viewed pricing 4 times this week (+24 behavior)" and "1 daily active user"', () => {
    const r = evaluate(DEFAULT_MODEL, { aggregates: { 's:pricing_page': agg(4, 0), 's:daily_active_users': agg(7) }, firmographics: firm(null, null, []) });
    const e = explainScore(DEFAULT_MODEL, r);
    assert.deepEqual(e.top_contributors, ['viewed pricing 4 times this week (+24 behavior)', '1 daily active user (+6 usage)']);
    assert.equal(e.summary, 'PQL 8.4 is at or below 70: self-serve, keep monitoring. Usage 6 · Fit 0 · Behavior 24.');
    const line = (key: string, raw: number | null) =>
      explainContribution(DEFAULT_MODEL.signals.find((x) => x.key === key)!, { key, category: 'usage', raw, base: 0, points: 0, days_since_last: null });
    assert.equal(line('usage_trend', 0), 'too little activity to measure a trend in the last 2 weeks (+0 usage)');
    assert.equal(line('usage_trend', 0.8), 'activity down 20% vs the 14 days before (+0 usage)');
    assert.equal(line('company_size', 1), '1 employee (+0 usage)');
    assert.equal(line('company_size', null), 'unknown employees (+0 usage)');
  });

  it('names what holds a score back (negative points) and a disqualifier', () => {
    const model = ModelConfigSchema.parse({
      ...DEFAULT_MODEL,
      signals: [
        ...DEFAULT_MODEL.signals,
        {
          key: 'churn_risk',
          label: 'Cancellation intent',
          category: 'usage',
          source: { kind: 'events', events: ['Cancellation Page Viewed'], window_days: 14, aggregation: 'count' },
          points: { type: 'bands', bands: [{ min: 1, points: -15 }] },
          max_points: 0,
          min_points: -15,
          explain: 'viewed the cancellation page {times} {window}',
        },
      ],
      disqualifiers: [{ key: 'student', label: 'Education (non-commercial) account', source: { kind: 'firmographic', field: 'industry' }, when: { in: ['education'] } }],
    });
    assert.deepEqual(modelProblems(model), []);
    const busy = evaluate(model, { ...examples.fastGrowingMidMarket, aggregates: { ...examples.fastGrowingMidMarket.aggregates, 's:churn_risk': agg(2, 1) } });
    assert.equal(busy.usage, 56, '71 − 15');
    assert.deepEqual(explainScore(model, busy).held_back_by, ['viewed the cancellation page twice in the last 2 weeks (−15 usage)']);
    const student = evaluate(model, examples.lowFitSmb);
    assert.deepEqual([student.total, student.level, student.disqualifiedBy, student.usage], [0, 'none', 'student', 5]);
    assert.match(explainScore(model, student).summary, /^Disqualified: Education \(non-commercial\) account\./);
  });
});

describe('model validation', () => {
  it('accepts the default model and reports cross-field problems with their paths', () => {
    assert.deepEqual(modelProblems(DEFAULT_MODEL), []);
    const bad = ModelConfigSchema.parse({
      ...DEFAULT_MODEL,
      weights: { usage: 50, fit: 35, behavior: 25 },
      signals: [
        { ...DEFAULT_MODEL.signals[0], points: { type: 'bands', bands: [{ min: 2, points: 1 }, { min: 1, points: 2 }] } },
        { ...DEFAULT_MODEL.signals[0] },
        { ...DEFAULT_MODEL.signals[5], points: { type: 'bands', bands: [{ min: 1, points: 1 }] } },
        { ...DEFAULT_MODEL.signals[1], source: { ...DEFAULT_MODEL.signals[1].source, property: undefined } },
      ],
    });
    assert.deepEqual(
      modelProblems(bad).map((p) => p.path),
      ['weights', 'signals[0].points.bands', 'signals[1].key', 'signals[2].points', 'signals[3].source.property'],
    );
  });
});

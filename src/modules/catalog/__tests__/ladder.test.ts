import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findDeadZones, orderLadder, ratioString, type LadderRung } from '../compute/ladder.ts';

const rung = (key: string, amount: number | null): LadderRung => ({ planId: `plan_${key}`, key, name: key[0].toUpperCase() + key.slice(1), amount });

describe('pricing ladder', () => {
  it('orders cheapest first, custom-priced plans last', () => {
    const ordered = orderLadder([rung('enterprise', null), rung('pro', 19900), rung('free', 0), rung('starter', 4900)]);
    assert.deepEqual(
      ordered.map((r) => r.key),
      ['free', 'starter', 'pro', 'enterprise'],
    );
  });

  it('prints ratios with two decimals, rounded half up, without floats', () => {
    assert.equal(ratioString(500000, 5000), '100.00');
    assert.equal(ratioString(150000, 19900), '7.54'); // 7.5376…
    assert.equal(ratioString(2, 3), '0.67');
    assert.equal(ratioString(100005, 100000), '1.00'); // 1.00005
    assert.equal(ratioString(100500, 100000), '1.01'); // 1.005 → half up
  });

  it('flags $50 → $5,000 and suggests a plan around $500', () => {
    const zones = findDeadZones(orderLadder([rung('free', 0), rung('starter', 5000), rung('business', 500000)]), { factor: '10', currency: 'usd' });
    assert.equal(zones.length, 1);
    assert.equal(zones[0].fromPlan, 'plan_starter');
    assert.equal(zones[0].toPlan, 'plan_business');
    assert.equal(zones[0].ratio, '100.00');
    assert.equal(zones[0].suggestedAmount, 50000);
    assert.equal(zones[0].message, 'Business follows Starter: $50/month → $5,000/month is a 100x jump; add a plan around $500/month');
  });

  it('accepts the ladder once the gap is filled, and honours a stricter factor', () => {
    const fixed = orderLadder([rung('starter', 5000), rung('pro', 50000), rung('business', 500000)]);
    assert.deepEqual(findDeadZones(fixed, { factor: '10', currency: 'usd' }), [], 'exactly 10x is not above the factor');
    assert.equal(findDeadZones(fixed, { factor: '5', currency: 'usd' }).length, 2);
    assert.equal(findDeadZones(fixed, { factor: '9.99', currency: 'usd' }).length, 2);
  });

  it('does not compare free plans or custom-priced plans', () => {
    const zones = findDeadZones(orderLadder([rung('free', 0), rung('starter', 4900), rung('enterprise', null)]), { factor: '10', currency: 'usd' });
    assert.deepEqual(zones, []);
  });

  it('rounds the suggestion to two significant digits and shows cents only when there are some', () => {
    const [z] = findDeadZones([rung('pro', 19900), rung('enterprise', 5_000_000)], { factor: '10', currency: 'usd' });
    // √(19,900 × 5,000,000) = 315,436.2… → 320,000 → $3,200
    assert.equal(z.suggestedAmount, 320000);
    assert.match(z.message, /\$199\/month → \$50,000\/month is a 251\.26x jump; add a plan around \$3,200\/month$/);
    const [c] = findDeadZones([rung('a', 4950), rung('b', 99000)], { factor: '10', currency: 'usd' });
    assert.match(c.message, /\$49\.50\/month → \$990\/month is a 20x jump/);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { dec, roundToInteger } from '../../../kernel/decimal.ts';
import { AppError } from '../../../kernel/errors.ts';
import type { Tier } from '../catalog.ts';
import { priceForQuantity, typicalMonthlyAmount, type LadderPrice, type PriceTerms } from '../compute/pricing.ts';

const base: PriceTerms = {
  type: 'usage',
  currency: 'usd',
  chargeModel: 'per_unit',
  unitAmount: null,
  unitAmountDecimal: null,
  tiers: [],
  packageSize: null,
  packageAmount: null,
  minimumAmount: null,
};
const price = (over: Partial<PriceTerms>): PriceTerms => ({ ...base, ...over });
const tier = (upTo: number | null, unitAmountDecimal: string, flatAmount = 0): Tier => ({ upTo, unitAmountDecimal, flatAmount });
const amounts = (r: { lines: { amount: number }[] }) => r.lines.map((l) => l.amount);

// 1–1,000 free, 1,001–10,000 at half a cent, above at 0.4 of a cent.
const API_TIERS = [tier(1000, '0'), tier(10000, '0.5'), tier(null, '0.4')];

describe('priceForQuantity: per unit', () => {
  it('rounds a sub-cent rate once per line, half up: 12,345 × 0.04¢ = 493.8 → 494', () => {
    const r = priceForQuantity(price({ unitAmountDecimal: '0.04' }), 12345);
    assert.equal(r.amount, 494);
    assert.deepEqual(amounts(r), [494]);
    assert.equal(r.lines[0].quantity, '12345');
    assert.equal(r.lines[0].unitAmountDecimal, '0.04');
  });

  it('rounds .5 away from zero and below .5 down', () => {
    assert.equal(priceForQuantity(price({ unitAmountDecimal: '0.5' }), 1).amount, 1);
    assert.equal(priceForQuantity(price({ unitAmountDecimal: '0.5' }), 3).amount, 2); // 1.5 → 2
    assert.equal(priceForQuantity(price({ unitAmountDecimal: '0.0004' }), 1234).amount, 0); // 0.4936 → 0
    assert.equal(priceForQuantity(price({ unitAmountDecimal: '0.0004' }), 1250).amount, 1); // 0.5 → 1
  });

  it('accepts decimal quantities as strings (sums of a numeric property)', () => {
    assert.equal(priceForQuantity(price({ unitAmountDecimal: '2' }), '1234.5').amount, 2469);
    assert.equal(priceForQuantity(price({ unitAmountDecimal: '0.3' }), '0.5').amount, 0); // 0.15 → 0
  });

  it('charges nothing at quantity 0', () => {
    const r = priceForQuantity(price({ unitAmountDecimal: '100' }), 0);
    assert.equal(r.amount, 0);
    assert.deepEqual(r.lines, []);
  });

  it('refuses negative, malformed and float quantities', () => {
    assert.throws(() => priceForQuantity(price({ unitAmountDecimal: '1' }), '-1'), (e) => e instanceof AppError && e.param === 'quantity');
    assert.throws(() => priceForQuantity(price({ unitAmountDecimal: '1' }), 'abc'), (e) => e instanceof AppError && e.param === 'quantity');
    assert.throws(() => priceForQuantity(price({ unitAmountDecimal: '1' }), 1.5), /pass decimals as strings/);
  });
});

describe('priceForQuantity: flat and per seat', () => {
  it('a flat fee does not depend on the quantity', () => {
    const flat = price({ type: 'flat', chargeModel: null, unitAmount: 4900 });
    assert.equal(priceForQuantity(flat, 1).amount, 4900);
    assert.equal(priceForQuantity(flat, 0).amount, 4900);
    assert.equal(priceForQuantity(flat, 7).amount, 4900);
  });

  it('per seat: unit amount × seats, seats whole', () => {
    const seat = price({ type: 'per_seat', unitAmount: 1500 });
    assert.equal(priceForQuantity(seat, 7).amount, 10500);
    assert.equal(priceForQuantity(seat, 0).amount, 0);
    assert.throws(() => priceForQuantity(seat, '2.5'), (e) => e instanceof AppError && e.param === 'quantity');
  });

  it('per seat with graduated tiers: 5 seats at $10, then $8', () => {
    const seat = price({ type: 'per_seat', chargeModel: 'graduated', tiers: [tier(5, '1000'), tier(null, '800')] });
    assert.equal(priceForQuantity(seat, 5).amount, 5000);
    assert.equal(priceForQuantity(seat, 8).amount, 5000 + 3 * 800);
  });
});

describe('priceForQuantity: graduated', () => {
  it('prices each slice at its tier: 12,345 units = 0 + 9,000 × 0.5 + 2,345 × 0.4 = 5,438', () => {
    const r = priceForQuantity(price({ chargeModel: 'graduated', tiers: API_TIERS }), 12345);
    assert.deepEqual(amounts(r), [0, 4500, 938]);
    assert.deepEqual(
      r.lines.map((l) => l.quantity),
      ['1000', '9000', '2345'],
    );
    assert.equal(r.amount, 5438);
    assert.equal(r.lines[1].description, 'Tier 2 (1001–10000)');
  });

  it('treats up_to as inclusive: exactly 1,000 stays in tier 1; 1,001 reaches tier 2', () => {
    const g = price({ chargeModel: 'graduated', tiers: API_TIERS });
    assert.equal(priceForQuantity(g, 1000).lines.length, 1);
    assert.equal(priceForQuantity(g, 1000).amount, 0);
    const r = priceForQuantity(g, 1001);
    assert.equal(r.lines.length, 2);
    assert.equal(r.amount, 1); // 1 × 0.5 = 0.5 → 1
    assert.equal(priceForQuantity(g, 10000).amount, 4500);
    assert.equal(priceForQuantity(g, 10001).amount, 4500); // 1 × 0.4 = 0.4 → 0
    assert.equal(priceForQuantity(g, 10002).amount, 4501); // 2 × 0.4 = 0.8 → 1
  });

  it('adds a tier flat fee once the quantity reaches into the tier, and nothing at zero', () => {
    const g = price({ chargeModel: 'graduated', tiers: [tier(10, '0', 1000), tier(null, '100', 500)] });
    assert.equal(priceForQuantity(g, 0).amount, 0);
    assert.deepEqual(priceForQuantity(g, 0).lines, []);
    assert.equal(priceForQuantity(g, 1).amount, 1000);
    assert.equal(priceForQuantity(g, 10).amount, 1000);
    const r = priceForQuantity(g, 11);
    assert.equal(r.amount, 1000 + 100 + 500);
    assert.equal(r.lines[1].flatAmount, 500);
    assert.equal(priceForQuantity(g, '10.5').amount, 1000 + 50 + 500);
  });
});

describe('priceForQuantity: volume', () => {
  const v = price({ chargeModel: 'volume', tiers: [tier(100, '10'), tier(1000, '8', 200), tier(null, '5')] });

  it('prices the whole quantity at the tier it falls in', () => {
    assert.equal(priceForQuantity(v, 100).amount, 1000); // at the boundary: still tier 1
    assert.equal(priceForQuantity(v, 101).amount, 808 + 200); // the whole quantity drops to 8, plus tier 2's flat fee
    assert.equal(priceForQuantity(v, 1000).amount, 8000 + 200);
    assert.equal(priceForQuantity(v, 1001).amount, 5005);
    assert.equal(priceForQuantity(v, 1001).lines[0].tier, 3);
  });

  it('charges nothing at zero, not even a flat fee', () => {
    const withFlat = price({ chargeModel: 'volume', tiers: [tier(10, '0', 5000), tier(null, '1')] });
    assert.equal(priceForQuantity(withFlat, 0).amount, 0);
    assert.equal(priceForQuantity(withFlat, 1).amount, 5000);
  });
});

describe('priceForQuantity: package and minimum', () => {
  const pkg = price({ chargeModel: 'package', packageSize: 1000, packageAmount: 500 });

  it('charges per started package, rounding partial packages up', () => {
    assert.equal(priceForQuantity(pkg, 0).amount, 0);
    assert.equal(priceForQuantity(pkg, 1).amount, 500);
    assert.equal(priceForQuantity(pkg, 1000).amount, 500);
    assert.equal(priceForQuantity(pkg, 1001).amount, 1000);
    const r = priceForQuantity(pkg, '2500.5');
    assert.equal(r.amount, 1500);
    assert.equal(r.lines[0].quantity, '3');
  });

  it('tops a charge up to its minimum with an adjustment line', () => {
    const m = price({ unitAmountDecimal: '1', minimumAmount: 1000 });
    const r = priceForQuantity(m, 300);
    assert.deepEqual(amounts(r), [300, 700]);
    assert.equal(r.lines[1].kind, 'minimum');
    assert.equal(r.amount, 1000);
    assert.equal(priceForQuantity(m, 1500).lines.length, 1, 'no adjustment above the minimum');
    assert.equal(priceForQuantity(m, 1000).lines.length, 1, 'none exactly at it');
    assert.equal(priceForQuantity(m, 0).amount, 1000, 'a minimum is a commitment: it applies at zero usage');
  });
});

describe('typicalMonthlyAmount', () => {
  const lp = (over: Partial<LadderPrice>): LadderPrice => ({ ...price(over), interval: 'month', billableMetricId: null, ...over });

  it('uses monthly prices when there are some, ignoring the annual alternative', () => {
    const r = typicalMonthlyAmount({ prices: [lp({ type: 'flat', chargeModel: null, unitAmount: 4900 }), lp({ type: 'flat', chargeModel: null, unitAmount: 49000, interval: 'year' })] }, { currency: 'usd' });
    assert.deepEqual(r, { amount: 4900, currency: 'usd', basis: 'month' });
  });

  it('divides annual-only prices by 12, rounding once: 49,000 / 12 = 4,083.33 → 4,083', () => {
    const r = typicalMonthlyAmount({ prices: [lp({ type: 'flat', chargeModel: null, unitAmount: 49000, interval: 'year' })] }, { currency: 'usd' });
    assert.deepEqual(r, { amount: 4083, currency: 'usd', basis: 'year' });
  });

  it('counts seats (default 1) and typical usage per metric (default 0)', () => {
    const prices = [
      lp({ type: 'flat', chargeModel: null, unitAmount: 10000 }),
      lp({ type: 'per_seat', unitAmount: 1500 }),
      lp({ type: 'usage', unitAmountDecimal: '0.04', billableMetricId: 'bm_1' }),
    ];
    assert.equal(typicalMonthlyAmount({ prices }, { currency: 'usd' }).amount, 11500);
    assert.equal(typicalMonthlyAmount({ prices }, { currency: 'usd', seats: 10, usageByMetricId: { bm_1: '12345' } }).amount, 10000 + 15000 + 494);
  });

  it('is 0 with no prices', () => {
    assert.deepEqual(typicalMonthlyAmount({ prices: [] }, { currency: 'usd' }), { amount: 0, currency: 'usd', basis: 'none' });
  });
});

// ---- properties -----------------------------------------------------------------------------

const rate = fc.tuple(fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 0, max: 9999 })).map(([a, b]) => dec(`${a}.${String(b).padStart(4, '0')}`).toString());
const tiersArb = fc
  .array(fc.tuple(fc.integer({ min: 1, max: 100_000 }), rate, fc.integer({ min: 0, max: 100_000 })), { minLength: 1, maxLength: 5 })
  .map((parts) => {
    let upTo = 0;
    return parts.map(([step, r, flat], i) => {
      upTo += step;
      return tier(i === parts.length - 1 ? null : upTo, r, flat);
    });
  });
const quantity = fc.oneof(
  fc.integer({ min: 0, max: 2_000_000 }),
  fc.tuple(fc.integer({ min: 0, max: 2_000_000 }), fc.integer({ min: 0, max: 999 })).map(([a, b]) => `${a}.${String(b).padStart(3, '0')}`),
);

describe('pricing properties', () => {
  it('every model returns a safe integer equal to the sum of its lines', () => {
    const model = fc.constantFrom('per_unit', 'graduated', 'volume', 'package') as fc.Arbitrary<'per_unit' | 'graduated' | 'volume' | 'package'>;
    fc.assert(
      fc.property(model, tiersArb, rate, fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 0, max: 1_000_000 }), fc.option(fc.integer({ min: 0, max: 1_000_000 })), quantity, (m, tiers, r, size, amt, min, q) => {
        const p = price({ chargeModel: m, tiers, unitAmountDecimal: r, packageSize: size, packageAmount: amt, minimumAmount: min });
        const out = priceForQuantity(p, q);
        assert.ok(Number.isSafeInteger(out.amount));
        assert.ok(out.amount >= 0);
        assert.equal(out.amount, out.lines.reduce((s, l) => s + l.amount, 0));
        for (const l of out.lines) assert.ok(Number.isSafeInteger(l.amount));
        if (min !== null) assert.ok(out.amount >= min);
      }),
    );
  });

  it('graduated is monotonic non-decreasing in quantity', () => {
    fc.assert(
      fc.property(tiersArb, quantity, quantity, (tiers, a, b) => {
        const [lo, hi] = dec(a).lte(dec(b)) ? [a, b] : [b, a];
        const p = price({ chargeModel: 'graduated', tiers });
        assert.ok(priceForQuantity(p, lo).amount <= priceForQuantity(p, hi).amount, `${lo} vs ${hi}`);
      }),
    );
  });

  it('graduated slices add up to the quantity', () => {
    fc.assert(
      fc.property(tiersArb, quantity, (tiers, q) => {
        const out = priceForQuantity(price({ chargeModel: 'graduated', tiers }), q);
        const covered = out.lines.reduce((s, l) => s.plus(l.quantity), dec(0));
        assert.equal(covered.toString(), dec(q).toString());
      }),
    );
  });

  it('volume at a tier boundary uses that tier for the whole quantity', () => {
    fc.assert(
      fc.property(tiersArb, (tiers) => {
        const p = price({ chargeModel: 'volume', tiers });
        tiers.forEach((t, i) => {
          if (t.upTo === null) return;
          const out = priceForQuantity(p, t.upTo);
          assert.equal(out.lines[0].tier, i + 1);
          assert.equal(out.amount, roundToInteger(dec(t.upTo).times(t.unitAmountDecimal), 'half_up') + t.flatAmount);
          const above = priceForQuantity(p, t.upTo + 1);
          assert.equal(above.lines[0].tier, i + 2);
        });
      }),
    );
  });

  it('package never charges less than the per-unit equivalent (package_amount / package_size per unit)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100_000 }), fc.integer({ min: 0, max: 1_000_000 }), quantity, (size, amt, q) => {
        const out = priceForQuantity(price({ chargeModel: 'package', packageSize: size, packageAmount: amt }), q);
        const lowerBound = dec(q).times(amt).dividedBy(size);
        assert.ok(dec(out.amount).gte(lowerBound));
        assert.ok(dec(out.amount).lt(lowerBound.plus(amt).plus(1)), 'and less than one extra package above it');
      }),
    );
  });
});

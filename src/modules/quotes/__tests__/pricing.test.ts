import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { approvalReasons, freeMonthsCredit, priceQuote } from '../compute/pricing.ts';

const prices = [
  { priceId: 'price_platform', type: 'flat' as const, listUnitAmount: 100_000 },
  { priceId: 'price_seat', type: 'per_seat' as const, listUnitAmount: 4_500 },
  { priceId: 'price_api', type: 'usage' as const, listUnitAmount: null },
];
const base = { prices, quantity: 10, interval: 'month' as const, termMonths: 12, freeMonths: 0, terms: [], discount: null };

describe('quote pricing (pure)', () => {
  it('prices at list with no terms: overrides equal list, usage billed at list in arrears', () => {
    const p = priceQuote(base);
    assert.deepEqual(p.overrides, { price_platform: 100_000, price_seat: 4_500 });
    assert.deepEqual(p.perPeriod, { list: 145_000, net: 145_000, discount: 0 });
    assert.equal(p.totalContractValue, 145_000 * 12);
    assert.equal(p.effectiveDiscountPercent, '0');
    assert.equal(p.lines[2].netUnitAmount, null);
  });

  it('a 15 % quote discount: 4,500 × 0.85 = 3,825 per seat; 100,000 × 0.85 = 85,000', () => {
    const p = priceQuote({ ...base, discount: { type: 'percent', percent: '15' } });
    assert.deepEqual(p.overrides, { price_platform: 85_000, price_seat: 3_825 });
    assert.equal(p.perPeriod.net, 85_000 + 38_250);
    assert.equal(p.effectiveDiscountPercent, '15');
  });

  it('an amount discount is spread by weight and rounded once per unit (the worked example)', () => {
    // flat share 10,000 × 100,000 / 145,000 = 6,896.55… → 93,103.45 → 93,103; seat 310.34… → 4,189.66 → 4,190
    const p = priceQuote({ ...base, discount: { type: 'amount', amount: 10_000 } });
    assert.deepEqual(p.overrides, { price_platform: 93_103, price_seat: 4_190 });
    assert.equal(p.perPeriod.net, 135_003);
  });

  it('line terms: a negotiated unit amount, then the line discount, then the quote discount', () => {
    const p = priceQuote({ ...base, terms: [{ priceId: 'price_seat', unitAmount: 4_000, discountPercent: '12.5' }], discount: { type: 'percent', percent: '10' } });
    // 4,000 × 0.875 × 0.9 = 3,150 ; 100,000 × 0.9 = 90,000
    assert.deepEqual(p.overrides, { price_platform: 90_000, price_seat: 3_150 });
    assert.equal(p.lines[1].negotiatedUnitAmount, 4_000);
  });

  it('half_up once: 1,999 × (1 − 0.333) = 1,333.333 → 1,333; 1,999 × 0.75 = 1,499.25 → 1,499; 2,001 × 0.5 = 1,000.5 → 1,001', () => {
    const one = (unit: number, percent: string) => priceQuote({ ...base, prices: [{ priceId: 'p', type: 'flat', listUnitAmount: unit }], discount: { type: 'percent', percent } }).overrides.p;
    assert.equal(one(1_999, '33.3'), 1_333);
    assert.equal(one(1_999, '25'), 1_499);
    assert.equal(one(2_001, '50'), 1_001);
  });

  it('free months: monthly exact, annual net × n / 12 rounded once', () => {
    assert.equal(freeMonthsCredit(145_000, 'month', 2), 290_000);
    assert.equal(freeMonthsCredit(1_000_001, 'year', 1), 83_333); // 83,333.4166… → 83,333
    assert.equal(freeMonthsCredit(1_000_006, 'year', 1), 83_334); // 83,333.8333… → 83,334
    const p = priceQuote({ ...base, interval: 'year', prices: [{ priceId: 'y', type: 'per_seat', listUnitAmount: 120_000 }], quantity: 10, termMonths: 24, freeMonths: 3 });
    assert.equal(p.freeMonthsCredit, 300_000); // 1,200,000 × 3 / 12
    assert.equal(p.totalContractValue, 1_200_000 * 2 - 300_000);
    assert.equal(p.effectiveDiscountPercent, '12.5');
  });

  it('refuses what billing cannot bill: annual terms in whole years, free months below the term, no usage overrides, no negative prices', () => {
    assert.throws(() => priceQuote({ ...base, interval: 'year', termMonths: 18 }), /whole years/);
    assert.throws(() => priceQuote({ ...base, freeMonths: 12 }), /free_months/);
    assert.throws(() => priceQuote({ ...base, terms: [{ priceId: 'price_api', unitAmount: 5 }] }), /usage price/);
    assert.throws(() => priceQuote({ ...base, terms: [{ priceId: 'price_seat', discountAmount: 5_000 }] }), /larger than its unit amount/);
    assert.throws(() => priceQuote({ ...base, discount: { type: 'amount', amount: 145_001 } }), /larger than the amount per period/);
    assert.throws(() => priceQuote({ ...base, discount: { type: 'percent', percent: '0.1.2' } }), /decimal/);
    assert.throws(() => priceQuote({ ...base, terms: [{ priceId: 'price_nope', unitAmount: 1 }] }), /not a recurring price/);
  });

  it('approval: discount above the limit, or contract value above the threshold (or in another currency)', () => {
    const rules = { maxDiscountPercent: '20', tcvThreshold: 10_000_000, currency: 'usd' };
    assert.deepEqual(approvalReasons({ effectiveDiscountPercent: '20', totalContractValue: 10_000_000 }, 'usd', rules), []);
    assert.deepEqual(approvalReasons({ effectiveDiscountPercent: '20.0001', totalContractValue: 1 }, 'usd', rules), ['discount_above_limit']);
    assert.deepEqual(approvalReasons({ effectiveDiscountPercent: '0', totalContractValue: 10_000_001 }, 'usd', rules), ['contract_value_above_threshold']);
    assert.deepEqual(approvalReasons({ effectiveDiscountPercent: '0', totalContractValue: 1 }, 'eur', rules), ['contract_value_above_threshold']);
  });

  it('property: net unit amounts are integers, never above list, and the period total is their sum', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_000_000 }),
        fc.integer({ min: 1, max: 10_000_000 }),
        fc.integer({ min: 1, max: 500 }),
        fc.integer({ min: 1, max: 9_999 }),
        (flat, seat, qty, bp) => {
          const percent = `${(bp - (bp % 100)) / 100}.${String(bp % 100).padStart(2, '0')}`; // basis points → "12.34"
          const p = priceQuote({ ...base, quantity: qty, prices: [{ priceId: 'f', type: 'flat', listUnitAmount: flat }, { priceId: 's', type: 'per_seat', listUnitAmount: seat }], discount: { type: 'percent', percent } });
          for (const v of Object.values(p.overrides)) assert.ok(Number.isSafeInteger(v) && v >= 0);
          assert.ok(p.overrides.f <= flat && p.overrides.s <= seat);
          assert.equal(p.perPeriod.net, p.overrides.f + p.overrides.s * qty);
        },
      ),
      { numRuns: 200 },
    );
  });
});

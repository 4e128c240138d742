import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { add, allocate, format, fromDecimalPrice, money, multiply, subtract, sum, times, toMajorString } from '../money.ts';
import { AppError } from '../errors.ts';

const amount = fc.integer({ min: -1e12, max: 1e12 });

describe('money', () => {
  it('keeps amounts as integers of the minor unit', () => {
    assert.throws(() => money(10.5, 'usd'), AppError);
    assert.throws(() => money(1, 'xxx'), /Unknown currency/);
    assert.deepEqual(money(4900, 'USD'), { amount: 4900, currency: 'usd' });
  });

  it('refuses to combine currencies', () => {
    assert.throws(() => add(money(1, 'usd'), money(1, 'eur')), (e: unknown) => e instanceof AppError && e.code === 'currency_mismatch');
  });

  it('formats by the currency exponent: USD 2, JPY 0, KWD 3', () => {
    assert.equal(format(money(4900, 'usd')), '$49.00');
    assert.equal(format(money(123456789, 'usd')), '$1,234,567.89');
    assert.equal(format(money(4900, 'jpy')), '¥4,900');
    assert.equal(format(money(4900, 'kwd')), '4.900 KWD');
    assert.equal(format(money(-5, 'eur')), '-€0.05');
    assert.equal(toMajorString(money(-1, 'usd')), '-0.01');
  });

  it('prices sub-cent rates exactly and rounds once: 1,234 calls at $0.0004 = 49.36¢ → 49¢', () => {
    assert.deepEqual(fromDecimalPrice('0.0004', 1234, 'usd', 'half_up'), { amount: 49, currency: 'usd' });
    assert.deepEqual(fromDecimalPrice('0.0004', 1250, 'usd', 'half_up'), { amount: 50, currency: 'usd' });
    assert.deepEqual(fromDecimalPrice('0.0004', 1250, 'usd', 'half_even'), { amount: 50, currency: 'usd' });
    // 0.125 dollars = 12.5 cents: half_even → 12, half_up → 13
    assert.equal(fromDecimalPrice('0.125', 1, 'usd', 'half_even').amount, 12);
    assert.equal(fromDecimalPrice('0.125', 1, 'usd', 'half_up').amount, 13);
    assert.equal(fromDecimalPrice('1.5', 3, 'jpy', 'half_up').amount, 5);
  });

  it('multiplies by a decimal factor with a named rounding mode', () => {
    // a 30-day month, 12 days left: $49.00 × 12/30 = $19.60 exactly
    assert.equal(multiply(money(4900, 'usd'), '0.4', 'half_up').amount, 1960);
    // $10.00 × 1/3 = 333.33…¢ → 333
    assert.equal(multiply(money(1000, 'usd'), '0.33333333333333333333', 'half_up').amount, 333);
  });

  it('property: add and subtract are inverse and exact', () => {
    fc.assert(
      fc.property(amount, amount, (a, b) => {
        const x = money(a, 'usd');
        const y = money(b, 'usd');
        assert.deepEqual(subtract(add(x, y), y), x);
        assert.ok(Number.isSafeInteger(add(x, y).amount));
      }),
    );
  });

  it('property: allocate never loses or invents a minor unit, and shares differ by at most 1 from exact', () => {
    fc.assert(
      fc.property(amount, fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 1, maxLength: 12 }), (a, weights) => {
        fc.pre(weights.some((w) => w > 0));
        const parts = allocate(money(a, 'usd'), weights);
        assert.equal(sum(parts, 'usd').amount, a);
        const total = weights.reduce((s, w) => s + w, 0);
        parts.forEach((p, i) => {
          assert.ok(Number.isInteger(p.amount));
          const exact = (a * weights[i]) / total;
          assert.ok(Math.abs(p.amount - exact) < 1.000001, `share ${p.amount} vs exact ${exact}`);
          if (weights[i] === 0) assert.equal(p.amount, 0);
        });
      }),
    );
  });

  it('allocates $100.00 three ways as 33.34 + 33.33 + 33.33', () => {
    assert.deepEqual(
      allocate(money(10000, 'usd'), [1, 1, 1]).map((m) => m.amount),
      [3334, 3333, 3333],
    );
  });

  it('property: multiply rounds to the nearest integer (within half a minor unit)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e9 }), fc.integer({ min: 0, max: 10_000 }), (a, bp) => {
        const factor = (bp / 10_000).toString();
        const r = multiply(money(a, 'usd'), factor, 'half_up').amount;
        assert.ok(Number.isSafeInteger(r));
        // exact value = a * bp / 10000; compare with integer arithmetic
        const twice = 2 * r * 10_000;
        assert.ok(Math.abs(twice - 2 * a * bp) <= 10_000, `${a} × ${factor} → ${r}`);
      }),
    );
  });

  it('property: times is exact integer multiplication', () => {
    fc.assert(fc.property(fc.integer({ min: -1e6, max: 1e6 }), fc.integer({ min: 0, max: 1e6 }), (a, q) => assert.equal(times(money(a, "usd"), q).amount, a * q + 0)));
  });
});

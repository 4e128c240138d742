import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { prorate, remainingFraction } from '../compute/proration.ts';
import { periodFrom } from '../compute/periods.ts';
import { prorationLines, totals, type BillableItem } from '../compute/invoice.ts';

const flat = (id: string, amount: number): BillableItem => ({
  price: { id, type: 'flat', interval: 'month', currency: 'usd', chargeModel: null, unitAmount: amount, unitAmountDecimal: null, tiers: [], packageSize: null, packageAmount: null, minimumAmount: null, billableMetricId: null, nickname: null },
  quantity: 1,
});

describe('proration', () => {
  const march = { start: new Date('2026-03-01T00:00:00Z'), end: new Date('2026-04-01T00:00:00Z') };

  it('worked example: Pro → Business on March 17 (15 of 31 days left)', () => {
    const at = new Date('2026-03-17T00:00:00Z');
    assert.equal(remainingFraction(march, at).toString(), '0.48387096774193548387096774193548387096774193548387');
    const lines = prorationLines({ changeId: 'chg_1', period: march, at, oldItems: [flat('pro', 19900)], newItems: [flat('biz', 150000)], oldPlanName: 'Pro', newPlanName: 'Business' });
    assert.deepEqual(
      lines.map((l) => l.amount),
      [-9629, 72581],
    );
    assert.equal(totals(lines).subtotal, 62952);
  });

  it('is exact at the boundaries: nothing left at the end, everything at the start', () => {
    assert.equal(prorate(19900, march, march.end), 0);
    assert.equal(prorate(19900, march, march.start), 19900);
    assert.equal(prorate(19900, march, new Date('2027-01-01T00:00:00Z')), 0);
  });

  it('property: amounts are integers within half a minor unit of the exact share, and never exceed the full amount', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000_000 }), fc.integer({ min: 0, max: 1 }), fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true }), fc.double({ min: 0, max: 1, noNaN: true }), (amount, yearly, start, frac) => {
        const period = periodFrom(start, yearly ? 'year' : 'month', start.getUTCDate());
        const ms = period.end.getTime() - period.start.getTime();
        const at = new Date(period.start.getTime() + Math.floor(ms * frac));
        const p = prorate(amount, period, at);
        assert.ok(Number.isSafeInteger(p));
        assert.ok(p >= 0 && p <= amount);
        const exactTwice = (2 * amount * (period.end.getTime() - at.getTime())) / ms;
        assert.ok(Math.abs(2 * p - exactTwice) <= 1 + 1e-6, `${amount} at ${frac}: ${p}`);
      }),
    );
  });

  it('property: a chain of changes within a period bills each plan for its share, within one minor unit per line', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ amount: fc.integer({ min: 0, max: 1_000_000 }), frac: fc.integer({ min: 1, max: 999 }) }), { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 0, max: 1_000_000 }),
        (changes, first) => {
          const sorted = [...changes].sort((a, b) => a.frac - b.frac);
          const ms = march.end.getTime() - march.start.getTime();
          let current = first;
          let billed = first; // the first period is billed in full, in advance
          let exact = 0;
          let prevFrac = 0;
          const lines: number[] = [];
          sorted.forEach((c, i) => {
            const at = new Date(march.start.getTime() + Math.floor((ms * c.frac) / 1000));
            const ls = prorationLines({ changeId: `c${i}`, period: march, at, oldItems: [flat(`p${i}`, current)], newItems: [flat(`p${i + 1}`, c.amount)], oldPlanName: 'a', newPlanName: 'b' });
            for (const l of ls) {
              assert.ok(Number.isSafeInteger(l.amount));
              lines.push(l.amount);
            }
            billed += ls.reduce((s, l) => s + l.amount, 0);
            exact += (current * (at.getTime() - march.start.getTime() - (prevFrac * ms) / 1000)) / ms;
            prevFrac = (at.getTime() - march.start.getTime()) / (ms / 1000);
            current = c.amount;
          });
          exact += (current * (ms - (prevFrac * ms) / 1000)) / ms;
          assert.ok(Math.abs(billed - exact) <= lines.length / 2 + 1, `billed ${billed}, exact ${exact}, ${lines.length} lines`);
        },
      ),
    );
  });
});

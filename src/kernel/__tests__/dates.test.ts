import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { addDuration, addMonths, daysInMonth, iso, parseDuration, parseInstant } from '../dates.ts';
import { ManualClock } from '../clock.ts';

const d = (s: string) => new Date(s);

describe('calendar arithmetic', () => {
  it('clamps to the end of shorter months and returns to the anchor day', () => {
    assert.equal(addMonths(d('2024-01-31T00:00:00Z'), 1).toISOString(), '2024-02-29T00:00:00.000Z'); // leap year
    assert.equal(addMonths(d('2023-01-31T00:00:00Z'), 1).toISOString(), '2023-02-28T00:00:00.000Z');
    assert.equal(addMonths(d('2024-01-31T00:00:00Z'), 2).toISOString(), '2024-03-31T00:00:00.000Z');
    assert.equal(addMonths(d('2024-02-29T00:00:00Z'), 1, 31).toISOString(), '2024-03-31T00:00:00.000Z');
    assert.equal(addMonths(d('2024-02-29T00:00:00Z'), 12).toISOString(), '2025-02-28T00:00:00.000Z');
    assert.equal(addMonths(d('2024-03-31T10:30:00Z'), -1).toISOString(), '2024-02-29T10:30:00.000Z');
    assert.equal(addMonths(d('2024-12-15T00:00:00Z'), 1).toISOString(), '2025-01-15T00:00:00.000Z');
  });

  it('knows 28, 29, 30 and 31-day months', () => {
    assert.deepEqual([daysInMonth(2023, 1), daysInMonth(2024, 1), daysInMonth(2100, 1), daysInMonth(2000, 1), daysInMonth(2024, 3), daysInMonth(2024, 0)], [28, 29, 28, 29, 30, 31]);
  });

  it('property: a series anchored on day N is never more than a month apart and lands on min(N, days in month)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1990, max: 2100 }), fc.integer({ min: 0, max: 11 }), fc.integer({ min: 1, max: 31 }), fc.integer({ min: 0, max: 400 }), (y, m, anchor, k) => {
        const start = new Date(Date.UTC(y, m, Math.min(anchor, daysInMonth(y, m))));
        const a = addMonths(start, k, anchor);
        const b = addMonths(start, k + 1, anchor);
        assert.ok(b > a);
        const gapDays = (b.getTime() - a.getTime()) / 86_400_000;
        assert.ok(gapDays >= 28 && gapDays <= 31, `gap ${gapDays}`);
        assert.equal(b.getUTCDate(), Math.min(anchor, daysInMonth(b.getUTCFullYear(), b.getUTCMonth())));
      }),
    );
  });

  it('parses ISO 8601 durations and applies calendar parts first', () => {
    assert.deepEqual(parseDuration('P1Y2M3DT4H5M6S'), { years: 1, months: 2, weeks: 0, days: 3, hours: 4, minutes: 5, seconds: 6 });
    assert.equal(parseDuration('P'), null);
    assert.equal(parseDuration('1M'), null);
    assert.equal(parseDuration('PT'), null);
    assert.equal(addDuration(d('2024-01-31T00:00:00Z'), parseDuration('P1M1D')!).toISOString(), '2024-03-01T00:00:00.000Z');
    assert.equal(addDuration(d('2024-01-01T00:00:00Z'), parseDuration('P13M')!).toISOString(), '2025-02-01T00:00:00.000Z');
  });

  it('parses strict instants only', () => {
    assert.equal(parseInstant('2026-02-01T00:00:00Z')?.toISOString(), '2026-02-01T00:00:00.000Z');
    assert.equal(parseInstant('2026-02-01')?.toISOString(), '2026-02-01T00:00:00.000Z');
    assert.equal(parseInstant('2026-02-01T00:00:00+02:00')?.toISOString(), '2026-01-31T22:00:00.000Z');
    assert.equal(parseInstant('yesterday'), null);
    assert.equal(parseInstant('2026-02-30T00:00:00'), null);
    assert.equal(parseInstant('2026-13-01T00:00:00Z'), null);
  });
});

describe('ManualClock', () => {
  it('stands still until moved, and only moves forward', () => {
    const c = new ManualClock('2026-01-01T00:00:00Z');
    assert.equal(c.now().toISOString(), c.now().toISOString());
    c.advance(1000);
    assert.equal(c.now().toISOString(), '2026-01-01T00:00:01.000Z');
    assert.throws(() => c.set('2025-01-01T00:00:00Z'));
    assert.throws(() => c.advance(-1));
  });

  it('property: a sequence of advances sums exactly', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 1e9 }), { maxLength: 50 }), (steps) => {
        const c = new ManualClock('2026-01-01T00:00:00Z');
        const t0 = c.now().getTime();
        for (const s of steps) c.advance(s);
        assert.equal(c.now().getTime() - t0, steps.reduce((a, b) => a + b, 0));
      }),
    );
  });
});

describe('iso', () => {
  it('is toISOString for every instant, the years 1000–9999 built by hand and the others not (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.integer({ min: Date.UTC(1000, 0, 1), max: Date.UTC(10000, 0, 1) - 1 }), fc.integer({ min: -8.64e15, max: 8.64e15 })), (ms) => {
        const d = new Date(ms);
        assert.equal(iso(d), d.toISOString());
      }),
      { numRuns: 5000 },
    );
    // The edges of the hand-built range, padding, and the year 10000.
    for (const ms of [Date.UTC(1000, 0, 1), Date.UTC(999, 11, 31, 23, 59, 59, 999), Date.UTC(9999, 11, 31, 23, 59, 59, 999), Date.UTC(10000, 0, 1), Date.UTC(2026, 0, 5, 3, 4, 5, 7), 0]) {
      assert.equal(iso(new Date(ms)), new Date(ms).toISOString());
    }
    assert.throws(() => iso(new Date(NaN)), RangeError);
  });
});

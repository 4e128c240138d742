import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseInstant } from '../../../kernel/dates.ts';
import type { MetricFilter } from '../catalog.ts';
import { aggregate, matchesFilter, propertyText, type MeterEvent, type MetricDefinition } from '../compute/metrics.ts';

const t = (iso: string) => parseInstant(iso)!;
const ev = (properties: Record<string, unknown>, at = '2026-01-01T00:00:00Z', event = 'api_call'): MeterEvent => ({ event, properties, timestamp: t(at) });
const metric = (over: Partial<MetricDefinition>): MetricDefinition => ({ eventName: 'api_call', aggregation: 'count', property: null, filters: [], ...over });

const EVENTS: MeterEvent[] = [
  ev({ region: 'eu', bytes: 100, user: 'u1', env: 'prod' }, '2026-01-01T00:00:00Z'),
  ev({ region: 'us', bytes: '250.5', user: 'u2', env: 'prod' }, '2026-01-03T00:00:00Z'),
  ev({ region: 'eu', bytes: 'lots', user: 'u1', env: 'test' }, '2026-01-02T00:00:00Z'),
  ev({ region: 'apac', user: 'u3' }, '2026-01-04T00:00:00Z'),
  ev({ region: 'eu', bytes: 7, user: 'u4', env: 'prod' }, '2026-01-02T12:00:00Z'),
  ev({ region: 'eu', bytes: 1000 }, '2026-01-05T00:00:00Z', 'page_view'),
];
const prod: MetricFilter = { property: 'env', operator: 'eq', values: ['prod'] };

describe('aggregate', () => {
  it('count: matching events of the metric’s event name', () => {
    assert.equal(aggregate(metric({}), EVENTS).value, '5');
    const r = aggregate(metric({ filters: [prod] }), EVENTS);
    assert.equal(r.value, '3');
    assert.equal(r.matched, 3);
    assert.equal(r.ignoredCount, 0);
  });

  it('sum: numbers and decimal strings add exactly; other values are ignored and reported', () => {
    const r = aggregate(metric({ aggregation: 'sum', property: 'bytes' }), EVENTS);
    assert.equal(r.value, '357.5'); // 100 + 250.5 + 7
    assert.equal(r.matched, 5);
    assert.equal(r.ignoredCount, 2);
    assert.deepEqual(
      r.ignored.map((i) => [i.index, i.reason]),
      [
        [2, 'not_numeric'],
        [3, 'missing'],
      ],
    );
    assert.equal(aggregate(metric({ aggregation: 'sum', property: 'bytes', filters: [{ property: 'region', operator: 'eq', values: ['eu'] }] }), EVENTS).value, '107');
  });

  it('numeric strings follow the SQL side: digits with an optional fraction, nothing else', () => {
    const r = aggregate(metric({ aggregation: 'sum', property: 'x' }), [ev({ x: '007' }), ev({ x: '-2.5' }), ev({ x: ' 12' }), ev({ x: '1e3' }), ev({ x: true })]);
    assert.equal(r.value, '4.5');
    assert.equal(r.ignoredCount, 3);
  });

  it('sum of decimal floats is exact (0.1 + 0.2 = 0.3)', () => {
    const r = aggregate(metric({ aggregation: 'sum', property: 'x' }), [ev({ x: 0.1 }), ev({ x: 0.2 })]);
    assert.equal(r.value, '0.3');
  });

  it('max: largest numeric value, 0 when none', () => {
    assert.equal(aggregate(metric({ aggregation: 'max', property: 'bytes' }), EVENTS).value, '250.5');
    assert.equal(aggregate(metric({ aggregation: 'max', property: 'bytes', filters: [{ property: 'region', operator: 'neq', values: ['us'] }] }), EVENTS).value, '100');
    assert.equal(aggregate(metric({ aggregation: 'max', property: 'bytes' }), []).value, '0');
    assert.equal(aggregate(metric({ aggregation: 'max', property: 'n' }), [ev({ n: -5 }), ev({ n: -2 })]).value, '-2');
  });

  it('unique_count: distinct text forms, missing values not counted', () => {
    assert.equal(aggregate(metric({ aggregation: 'unique_count', property: 'user' }), EVENTS).value, '4');
    assert.equal(aggregate(metric({ aggregation: 'unique_count', property: 'user', filters: [prod] }), EVENTS).value, '3');
    assert.equal(aggregate(metric({ aggregation: 'unique_count', property: 'env' }), EVENTS).value, '2');
    assert.equal(aggregate(metric({ aggregation: 'unique_count', property: 'k' }), [ev({ k: 2 }), ev({ k: '2' })]).value, '1', '2 and "2" have the same text form');
  });

  it('latest: the value of the latest matching event by timestamp, not input order', () => {
    const r = aggregate(metric({ aggregation: 'latest', property: 'bytes' }), EVENTS);
    assert.equal(r.value, '250.5'); // Jan 3 is the latest event with a number (Jan 4 has none, Jan 5 is another event)
    assert.equal(aggregate(metric({ aggregation: 'latest', property: 'bytes', filters: [{ property: 'region', operator: 'eq', values: ['eu'] }] }), EVENTS).value, '7');
    const tie = [ev({ n: 1 }, '2026-01-01T00:00:00Z'), ev({ n: 2 }, '2026-01-01T00:00:00Z')];
    assert.equal(aggregate(metric({ aggregation: 'latest', property: 'n' }), tie).value, '2', 'ties go to the later input');
  });

  it('skips events without a name check when the name is not given', () => {
    const unnamed = EVENTS.map(({ properties, timestamp }) => ({ properties, timestamp }));
    assert.equal(aggregate(metric({}), unnamed).value, '6');
  });
});

describe('filters', () => {
  it('eq / in need the property; neq / not_in match when it is missing', () => {
    const props = { plan: 'pro', seats: 3, beta: true };
    assert.equal(matchesFilter({ property: 'plan', operator: 'eq', values: ['pro'] }, props), true);
    assert.equal(matchesFilter({ property: 'seats', operator: 'eq', values: ['3'] }, props), true);
    assert.equal(matchesFilter({ property: 'beta', operator: 'in', values: ['true', 'yes'] }, props), true);
    assert.equal(matchesFilter({ property: 'plan', operator: 'in', values: ['free', 'starter'] }, props), false);
    assert.equal(matchesFilter({ property: 'missing', operator: 'eq', values: ['x'] }, props), false);
    assert.equal(matchesFilter({ property: 'missing', operator: 'neq', values: ['x'] }, props), true);
    assert.equal(matchesFilter({ property: 'plan', operator: 'neq', values: ['pro'] }, props), false);
    assert.equal(matchesFilter({ property: 'plan', operator: 'not_in', values: ['free', 'starter'] }, props), true);
    assert.equal(matchesFilter({ property: 'nothing', operator: 'not_in', values: ['a'] }, { nothing: null }), true);
  });

  it('does not read inherited properties', () => {
    assert.equal(matchesFilter({ property: 'toString', operator: 'in', values: [String(Object.prototype.toString)] }, {}), false);
  });

  it('property: neq is the complement of eq for any value', () => {
    const value = fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null), fc.constant(undefined));
    fc.assert(
      fc.property(value, fc.string(), (v, target) => {
        const props: Record<string, unknown> = v === undefined ? {} : { p: v };
        const eq = matchesFilter({ property: 'p', operator: 'eq', values: [target] }, props);
        const neq = matchesFilter({ property: 'p', operator: 'neq', values: [target] }, props);
        assert.equal(eq, !neq);
        assert.equal(eq, propertyText(v) === target);
      }),
    );
  });
});

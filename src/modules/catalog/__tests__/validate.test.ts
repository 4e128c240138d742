import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseInstant } from '../../../kernel/dates.ts';
import { AppError } from '../../../kernel/errors.ts';
import type { BillableMetric, Feature } from '../catalog.ts';
import type { PriceParams } from '../catalog.params.ts';
import { checkMetadata, normalizeEntitlements, normalizeMetric, normalizePrice } from '../catalog.validate.ts';

const EPOCH = parseInstant('1970-01-01T00:00:00Z')!;
const calls: BillableMetric = { id: 'bm_1', workspaceId: 'ws', key: 'api_calls', name: 'API calls', description: null, eventName: 'api_call', aggregation: 'count', property: null, filters: [], createdAt: EPOCH };
const ctx = { currency: 'usd', metric: (ref: string) => (ref === 'api_calls' || ref === 'bm_1' ? calls : undefined) };
const norm = (p: PriceParams) => normalizePrice(p, 0, ctx);

/** Asserts an AppError with this code and param. */
function rejects(fn: () => unknown, code: string, param: string) {
  assert.throws(fn, (e) => {
    assert.ok(e instanceof AppError, String(e));
    assert.equal(e.code, code);
    assert.equal(e.param, param);
    return true;
  });
}

describe('price validation', () => {
  it('normalises a usage price: metric by key, rate in minor units, tiers with "inf"', () => {
    const p = norm({ type: 'usage', charge_model: 'graduated', billable_metric: 'api_calls', tiers: [{ up_to: 1000, unit_amount: 0 }, { up_to: 'inf', unit_amount_decimal: '0.500' }] });
    assert.equal(p.billableMetricId, 'bm_1');
    assert.deepEqual(p.tiers, [
      { upTo: 1000, unitAmountDecimal: '0', flatAmount: 0 },
      { upTo: null, unitAmountDecimal: '0.5', flatAmount: 0 },
    ]);
    assert.equal(norm({ type: 'usage', billable_metric: 'bm_1', unit_amount: 3 }).unitAmountDecimal, '3');
  });

  it('names the parameter of every tier mistake', () => {
    const usage = (tiers: PriceParams['tiers']): PriceParams => ({ type: 'usage', charge_model: 'volume', billable_metric: 'api_calls', tiers });
    rejects(() => norm(usage([{ up_to: 100, unit_amount: 1 }, { up_to: 50, unit_amount: 1 }, { up_to: null }])), 'parameter_invalid', 'prices.0.tiers.1.up_to');
    rejects(() => norm(usage([{ up_to: 100, unit_amount: 1 }, { up_to: 100 }, { up_to: null }])), 'parameter_invalid', 'prices.0.tiers.1.up_to');
    rejects(() => norm(usage([{ up_to: 100, unit_amount: 1 }, { up_to: 200 }])), 'parameter_invalid', 'prices.0.tiers.1.up_to');
    rejects(() => norm(usage([{ up_to: null }, { up_to: null }])), 'parameter_invalid', 'prices.0.tiers.0.up_to');
    rejects(() => norm(usage([{ up_to: 1.5 }, { up_to: null }])), 'parameter_invalid', 'prices.0.tiers.0.up_to');
    rejects(() => norm(usage([{ up_to: null, unit_amount: 1, unit_amount_decimal: '1' }])), 'parameter_invalid', 'prices.0.tiers.0.unit_amount_decimal');
    rejects(() => norm(usage([{ up_to: null, unit_amount_decimal: '-1' }])), 'parameter_invalid', 'prices.0.tiers.0.unit_amount_decimal');
    rejects(() => norm(usage([{ up_to: null, unit_amount_decimal: '0.0000000000001' }])), 'parameter_invalid', 'prices.0.tiers.0.unit_amount_decimal');
    rejects(() => norm(usage([])), 'parameter_missing', 'prices.0.tiers');
  });

  it('requires and refuses fields by type and charge model', () => {
    rejects(() => norm({ type: 'flat' }), 'parameter_missing', 'prices.0.unit_amount');
    rejects(() => norm({ type: 'flat', unit_amount: 4.5 }), 'parameter_invalid', 'prices.0.unit_amount');
    rejects(() => norm({ type: 'flat', unit_amount: -1 }), 'parameter_invalid', 'prices.0.unit_amount');
    rejects(() => norm({ type: 'flat', unit_amount: 100, billable_metric: 'api_calls' }), 'parameter_invalid', 'prices.0.billable_metric');
    rejects(() => norm({ type: 'usage', unit_amount_decimal: '1' }), 'parameter_missing', 'prices.0.billable_metric');
    rejects(() => norm({ type: 'usage', billable_metric: 'nope', unit_amount_decimal: '1' }), 'parameter_invalid', 'prices.0.billable_metric');
    rejects(() => norm({ type: 'usage', billable_metric: 'api_calls' }), 'parameter_missing', 'prices.0.unit_amount_decimal');
    rejects(() => norm({ type: 'usage', billable_metric: 'api_calls', unit_amount_decimal: '1e3' }), 'parameter_invalid', 'prices.0.unit_amount_decimal');
    rejects(() => norm({ type: 'usage', billable_metric: 'api_calls', charge_model: 'package', package_amount: 100 }), 'parameter_missing', 'prices.0.package_size');
    rejects(() => norm({ type: 'usage', billable_metric: 'api_calls', charge_model: 'package', package_size: 0, package_amount: 100 }), 'parameter_invalid', 'prices.0.package_size');
    rejects(() => norm({ type: 'usage', billable_metric: 'api_calls', charge_model: 'graduated', unit_amount: 1, tiers: [{ up_to: null }] }), 'parameter_invalid', 'prices.0.unit_amount');
    rejects(() => norm({ type: 'per_seat', charge_model: 'package' }), 'parameter_invalid', 'prices.0.charge_model');
    rejects(() => norm({ type: 'per_seat', unit_amount_decimal: '0.5' }), 'parameter_invalid', 'prices.0.unit_amount_decimal');
  });

  it('requires the plan currency', () => {
    rejects(() => norm({ type: 'flat', unit_amount: 100, currency: 'eur' }), 'currency_mismatch', 'prices.0.currency');
    rejects(() => norm({ type: 'flat', unit_amount: 100, currency: 'xyz' }), 'currency_unknown', 'prices.0.currency');
    assert.equal(norm({ type: 'flat', unit_amount: 100, currency: 'USD' }).currency, 'usd');
  });
});

describe('entitlement, metric and metadata validation', () => {
  const feats: Feature[] = [
    { id: 'feat_sso', workspaceId: 'ws', key: 'sso', name: 'SSO', description: null, type: 'boolean', createdAt: EPOCH },
    { id: 'feat_seats', workspaceId: 'ws', key: 'seats', name: 'Seats', description: null, type: 'limit', createdAt: EPOCH },
  ];
  const ectx = { feature: (k: string) => feats.find((f) => f.key === k), metric: ctx.metric };

  it('boolean features take enabled; limit features take limit (null = unlimited) and a period', () => {
    const [sso, seats] = normalizeEntitlements([{ feature_key: 'sso' }, { feature_key: 'seats', limit: null, billable_metric: 'api_calls' }], ectx);
    assert.deepEqual([sso.enabled, sso.limit, sso.period], [true, null, null]);
    assert.deepEqual([seats.enabled, seats.limit, seats.period, seats.billableMetricId], [true, null, 'month', 'bm_1']);
    rejects(() => normalizeEntitlements([{ feature_key: 'sso', limit: 3 }], ectx), 'parameter_invalid', 'entitlements.0.limit');
    rejects(() => normalizeEntitlements([{ feature_key: 'seats' }], ectx), 'parameter_missing', 'entitlements.0.limit');
    rejects(() => normalizeEntitlements([{ feature_key: 'seats', limit: 5, enabled: false }], ectx), 'parameter_invalid', 'entitlements.0.enabled');
    rejects(() => normalizeEntitlements([{ feature_key: 'nope' }], ectx), 'parameter_invalid', 'entitlements.0.feature_key');
    rejects(() => normalizeEntitlements([{ feature_key: 'sso' }, { feature_key: 'sso' }], ectx), 'parameter_invalid', 'entitlements.1.feature_key');
  });

  it('metrics need a property except count; filters need the right number of values', () => {
    const base = { key: 'gb', name: 'GB', event_name: 'upload' };
    rejects(() => normalizeMetric({ ...base, aggregation: 'sum' }), 'parameter_missing', 'property');
    rejects(() => normalizeMetric({ ...base, aggregation: 'count', property: 'x' }), 'parameter_invalid', 'property');
    rejects(() => normalizeMetric({ ...base, aggregation: 'count', filters: [{ property: 'a', operator: 'eq', values: ['1', '2'] }] }), 'parameter_invalid', 'filters.0.values');
    rejects(() => normalizeMetric({ ...base, aggregation: 'count', filters: [{ property: 'a', operator: 'in' }] }), 'parameter_missing', 'filters.0.values');
    rejects(() => normalizeMetric({ ...base, key: 'Bad Key', aggregation: 'count' }), 'parameter_invalid', 'key');
    const ok = normalizeMetric({ ...base, aggregation: 'sum', property: 'bytes', filters: [{ property: 'tier', operator: 'in', values: [2, 'x', true, 2] }] });
    assert.deepEqual(ok.filters, [{ property: 'tier', operator: 'in', values: ['2', 'x', 'true'] }]);
  });

  it('metadata typical_* values must parse', () => {
    rejects(() => checkMetadata({ typical_seats: 'ten' }), 'parameter_invalid', 'metadata.typical_seats');
    rejects(() => checkMetadata({ 'typical_usage.api_calls': '-5' }), 'parameter_invalid', 'metadata.typical_usage.api_calls');
    rejects(() => checkMetadata({ typical_monthly_amount: '500000.5' }), 'parameter_invalid', 'metadata.typical_monthly_amount');
    assert.deepEqual(checkMetadata({ typical_seats: '10', owner: 'revops' }), { typical_seats: '10', owner: 'revops' });
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AppError } from '../../src/kernel/errors.ts';
import { getEntitlements, getPlanVersion, getPrice, priceForQuantity } from '../../src/modules/catalog/index.ts';
import { startHarness, type Harness, type TestWorkspace } from '../support/harness.ts';

/** The default catalog PRODUCT.md ships: Free, Starter, Pro, Business (contact sales), Enterprise (quotes). */
async function shipCatalog(h: Harness, ws: TestWorkspace) {
  const api = h.api(ws);
  for (const f of [
    { key: 'sso', name: 'Single sign-on', type: 'boolean' },
    { key: 'seats', name: 'Seats', type: 'limit' },
    { key: 'api_calls', name: 'API calls', type: 'limit' },
  ]) {
    assert.equal((await api.post('/v1/features', f)).status, 200);
  }
  const metric = await api.post('/v1/billable_metrics', { key: 'api_calls', name: 'API calls', event_name: 'api_call', aggregation: 'count', filters: [{ property: 'env', operator: 'eq', value: 'production' }] });
  assert.equal(metric.status, 200, JSON.stringify(metric.body));
  const plans = [
    { key: 'free', name: 'Free', entitlements: [{ feature_key: 'seats', limit: 3 }, { feature_key: 'api_calls', limit: 10000, billable_metric: 'api_calls' }, { feature_key: 'sso', enabled: false }] },
    {
      key: 'starter',
      name: 'Starter',
      trial_days: 14,
      prices: [
        { type: 'flat', interval: 'month', unit_amount: 4900 },
        { type: 'flat', interval: 'year', unit_amount: 49000 },
      ],
      entitlements: [{ feature_key: 'seats', limit: 10 }, { feature_key: 'api_calls', limit: 100000, billable_metric: 'api_calls' }],
    },
    {
      key: 'pro',
      name: 'Pro',
      prices: [
        { type: 'flat', unit_amount: 19900 },
        { type: 'usage', billable_metric: 'api_calls', charge_model: 'graduated', tiers: [{ up_to: 1000000, unit_amount: 0 }, { up_to: null, unit_amount_decimal: '0.04' }] },
      ],
      entitlements: [{ feature_key: 'seats', limit: 50 }, { feature_key: 'api_calls', limit: null, billable_metric: 'api_calls' }],
    },
    { key: 'business', name: 'Business', motion: 'sales_assisted', visibility: 'contact_sales', prices: [{ type: 'flat', unit_amount: 99000 }], entitlements: [{ feature_key: 'sso', enabled: true }] },
    { key: 'enterprise', name: 'Enterprise', motion: 'sales_led', visibility: 'quote_only', metadata: { typical_monthly_amount: '450000' }, entitlements: [{ feature_key: 'sso' }, { feature_key: 'seats', limit: null }] },
  ];
  const created: Record<string, any> = {};
  for (const p of plans) {
    const r = await api.post('/v1/plans', { currency: 'usd', ...p });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    created[p.key] = r.body;
  }
  return { metric: metric.body, plans: created };
}

describe('catalog API', () => {
  let h: Harness;
  let ws: TestWorkspace;
  let other: TestWorkspace;
  let ship: Awaited<ReturnType<typeof shipCatalog>>;
  before(async () => {
    h = await startHarness();
    ws = await h.workspace({ name: 'Acme' });
    other = await h.workspace({ name: 'Globex' });
    ship = await shipCatalog(h, ws);
  });
  after(() => h.close());

  it('creates a plan with its prices and entitlements as version 1', () => {
    const pro = ship.plans.pro;
    assert.match(pro.id, /^plan_/);
    assert.equal(pro.object, 'plan');
    assert.equal(pro.current_version, 1);
    assert.equal(pro.version, 1);
    assert.match(pro.plan_version, /^plv_/);
    assert.equal(pro.motion, 'self_serve');
    assert.equal(pro.visibility, 'public');
    const [flat, usage] = pro.prices;
    assert.match(flat.id, /^price_/);
    assert.deepEqual([flat.type, flat.interval, flat.currency, flat.unit_amount, flat.unit_amount_decimal, flat.charge_model], ['flat', 'month', 'usd', 19900, '19900', null]);
    assert.equal(usage.billable_metric, ship.metric.id);
    assert.deepEqual(usage.tiers, [
      { up_to: 1000000, unit_amount_decimal: '0', flat_amount: 0 },
      { up_to: null, unit_amount_decimal: '0.04', flat_amount: 0 },
    ]);
    assert.deepEqual(
      pro.entitlements.map((e: any) => [e.feature_key, e.feature_type, e.limit, e.period]),
      [
        ['api_calls', 'limit', null, 'month'],
        ['seats', 'limit', 50, 'month'],
      ],
    );
    assert.equal(ship.plans.starter.trial_days, 14);
  });

  it('lists plans newest first with filters and cursor pagination', async () => {
    const api = h.api(ws);
    const all = await api.get('/v1/plans?limit=100');
    assert.deepEqual(
      all.body.data.map((p: any) => p.key),
      ['enterprise', 'business', 'pro', 'starter', 'free'],
    );
    const sales = await api.get('/v1/plans?visibility=contact_sales');
    assert.deepEqual(
      sales.body.data.map((p: any) => p.key),
      ['business'],
    );
    assert.deepEqual(
      (await api.get('/v1/plans?motion=sales_led')).body.data.map((p: any) => p.key),
      ['enterprise'],
    );
    const first = await api.get('/v1/plans?limit=2');
    assert.equal(first.body.has_more, true);
    const next = await api.get(`/v1/plans?limit=2&starting_after=${first.body.data[1].id}`);
    assert.deepEqual(
      next.body.data.map((p: any) => p.key),
      ['pro', 'starter'],
    );
    assert.equal((await api.get('/v1/plans?visibility=secret')).status, 400);
  });

  it('the shipped ladder has no dead zone at the default factor', async () => {
    const r = await h.api(ws).get('/v1/pricing_ladder');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.object, 'pricing_ladder');
    assert.equal(r.body.currency, 'usd');
    assert.deepEqual(
      r.body.plans.map((p: any) => [p.key, p.typical_monthly_amount?.amount ?? null, p.basis]),
      [
        ['free', 0, 'free'],
        ['starter', 4900, 'month'],
        ['pro', 19900, 'month'],
        ['business', 99000, 'month'],
        ['enterprise', 450000, 'metadata'],
      ],
    );
    assert.deepEqual(r.body.dead_zones, []);
    assert.equal(r.body.has_dead_zones, false);
    // Default factor 5: Starter → Pro 4.06x, Pro → Business 4.97x, Business → Enterprise 4.55x pass.
    // A stricter factor flags Pro → Business (99,000 / 19,900 = 4.97x).
    const strict = await h.api(ws).get('/v1/pricing_ladder?factor=4.9');
    assert.deepEqual(
      strict.body.dead_zones.map((z: any) => [z.from_plan, z.to_plan, z.ratio]),
      [[ship.plans.pro.id, ship.plans.business.id, '4.97']],
    );
    assert.equal((await h.api(ws).get('/v1/pricing_ladder?factor=1')).body.error.param, 'factor');
    assert.equal((await h.api(ws).get('/v1/pricing_ladder?currency=eur')).body.plans.length, 0);
  });

  it('flags a $50 → $5,000 dead zone', async () => {
    const gap = await h.workspace({ name: 'Gap Inc' });
    const api = h.api(gap);
    await api.post('/v1/plans', { key: 'free', name: 'Free', currency: 'usd' });
    await api.post('/v1/plans', { key: 'basic', name: 'Basic', currency: 'usd', prices: [{ type: 'flat', unit_amount: 5000 }] });
    await api.post('/v1/plans', { key: 'enterprise', name: 'Enterprise', currency: 'usd', visibility: 'contact_sales', motion: 'sales_led', prices: [{ type: 'flat', unit_amount: 500000 }] });
    const r = await api.get('/v1/pricing_ladder');
    assert.equal(r.body.has_dead_zones, true);
    assert.equal(r.body.dead_zones.length, 1);
    const z = r.body.dead_zones[0];
    assert.equal(z.ratio, '100.00');
    assert.deepEqual(z.suggested_amount, { amount: 50000, currency: 'usd' });
    assert.equal(z.message, 'Enterprise follows Basic: $50/month → $5,000/month is a 100x jump; add a plan around $500/month');
    // Filling the gap clears it.
    await api.post('/v1/plans', { key: 'team', name: 'Team', currency: 'usd', prices: [{ type: 'flat', unit_amount: 50000 }] });
    // 10x steps still exceed the default 5x; a workspace that accepts 10x steps says so.
    assert.equal((await api.get('/v1/pricing_ladder')).body.dead_zones.length, 2);
    assert.deepEqual((await api.get('/v1/pricing_ladder?factor=10')).body.dead_zones, []);
  });

  it('a price edit makes version 2 current and keeps version 1 readable, unchanged', async () => {
    const api = h.api(ws);
    const starter = ship.plans.starter;
    const v1PriceIds = starter.prices.map((p: any) => p.id);
    const edited = await api.post(`/v1/plans/${starter.id}`, {
      prices: [
        { type: 'flat', interval: 'month', unit_amount: 5900 },
        { type: 'flat', interval: 'year', unit_amount: 59000 },
      ],
    });
    assert.equal(edited.status, 200, JSON.stringify(edited.body));
    assert.equal(edited.body.current_version, 2);
    assert.equal(edited.body.version, 2);
    assert.notEqual(edited.body.plan_version, starter.plan_version);
    assert.deepEqual(
      edited.body.prices.map((p: any) => p.unit_amount),
      [5900, 59000],
    );
    assert.ok(edited.body.prices.every((p: any) => !v1PriceIds.includes(p.id)), 'new prices get new ids');
    assert.deepEqual(
      edited.body.entitlements.map((e: any) => [e.feature_key, e.limit]),
      [
        ['api_calls', 100000],
        ['seats', 10],
      ],
      'entitlements carry over',
    );
    assert.deepEqual(
      edited.body.versions.map((v: any) => [v.version, v.current]),
      [
        [1, false],
        [2, true],
      ],
    );

    const v1 = await api.get(`/v1/plans/${starter.id}?version=1`);
    assert.equal(v1.status, 200);
    assert.equal(v1.body.version, 1);
    assert.equal(v1.body.current_version, 2);
    assert.equal(v1.body.plan_version, starter.plan_version);
    assert.deepEqual(v1.body.prices, starter.prices, 'version 1 is exactly as it was');
    assert.equal((await api.get(`/v1/plans/${starter.id}?version=3`)).status, 404);

    // What a subscription pinned to v1 reads through the module door.
    const pinned = await getPlanVersion(h.tandem.deps.database.db, ws.id, starter.plan_version);
    assert.equal(pinned.prices[0].unitAmount, 4900);
    assert.equal(priceForQuantity(pinned.prices[0], 1).amount, 4900);
  });

  it('plan-level edits and identical resubmissions do not make a version', async () => {
    const api = h.api(ws);
    const pro = ship.plans.pro;
    const renamed = await api.post(`/v1/plans/${pro.id}`, { name: 'Pro (2026)', description: 'For growing teams', visibility: 'contact_sales', metadata: { typical_seats: '5' } });
    assert.equal(renamed.status, 200);
    assert.equal(renamed.body.current_version, 1);
    assert.equal(renamed.body.name, 'Pro (2026)');
    assert.equal(renamed.body.visibility, 'contact_sales');
    const again = await api.post(`/v1/plans/${pro.id}`, {
      prices: [
        { type: 'flat', unit_amount: 19900 },
        { type: 'usage', billable_metric: ship.metric.id, charge_model: 'graduated', tiers: [{ up_to: 1000000, unit_amount_decimal: '0' }, { up_to: 'inf', unit_amount_decimal: '0.040' }] },
      ],
    });
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.equal(again.body.current_version, 1, 'same terms → same version');
    const ents = await api.post(`/v1/plans/${pro.id}`, { entitlements: [{ feature_key: 'seats', limit: 100 }] });
    assert.equal(ents.body.current_version, 2);
    assert.deepEqual(
      ents.body.prices.map((p: any) => p.unit_amount_decimal),
      pro.prices.map((p: any) => p.unit_amount_decimal),
      'prices carry over to the new version',
    );
    await api.post(`/v1/plans/${pro.id}`, { name: 'Pro', visibility: 'public' });
  });

  it('answers 400 naming the parameter for invalid catalog input', async () => {
    const api = h.api(ws);
    const plan = (over: Record<string, unknown>) => api.post('/v1/plans', { key: `p${Math.abs(JSON.stringify(over).length)}x`, name: 'X', currency: 'usd', ...over });
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [{ prices: [{ type: 'usage', billable_metric: 'api_calls', charge_model: 'graduated', tiers: [{ up_to: 100 }, { up_to: 50 }, { up_to: null }] }] }, 'prices.0.tiers.1.up_to', 'parameter_invalid'],
      [{ prices: [{ type: 'usage', billable_metric: 'api_calls', charge_model: 'volume', tiers: [{ up_to: 100 }, { up_to: 500 }] }] }, 'prices.0.tiers.1.up_to', 'parameter_invalid'],
      [{ prices: [{ type: 'usage', unit_amount_decimal: '0.04' }] }, 'prices.0.billable_metric', 'parameter_missing'],
      [{ prices: [{ type: 'usage', billable_metric: 'no_such_metric', unit_amount_decimal: '0.04' }] }, 'prices.0.billable_metric', 'parameter_invalid'],
      [{ prices: [{ type: 'flat', unit_amount: 100, currency: 'eur' }] }, 'prices.0.currency', 'currency_mismatch'],
      [{ prices: [{ type: 'flat', unit_amount: 10.5 }] }, 'prices.0.unit_amount', 'parameter_invalid'],
      [{ prices: [{ type: 'flat', unit_amount: 100 }, { type: 'sometimes', unit_amount: 1 }] }, 'prices.1.type', 'parameter_invalid'],
      [{ prices: [{ type: 'flat', unit_amount: 100, unit_amonut_decimal: '1' }] }, 'prices.0', 'parameter_invalid'],
      [{ entitlements: [{ feature_key: 'teleport', enabled: true }] }, 'entitlements.0.feature_key', 'parameter_invalid'],
      [{ currency: 'zzz' }, 'currency', 'currency_unknown'],
      [{ key: 'Not A Key' }, 'key', 'parameter_invalid'],
    ];
    for (const [body, param, code] of cases) {
      const r = await plan(body);
      assert.equal(r.status, 400, `${JSON.stringify(body)} → ${r.status} ${JSON.stringify(r.body)}`);
      assert.equal(r.body.error.param, param, JSON.stringify(r.body));
      assert.equal(r.body.error.code, code, JSON.stringify(r.body));
    }
    const dup = await api.post('/v1/plans', { key: 'pro', name: 'Pro again', currency: 'usd' });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.error.code, 'key_taken');
    assert.equal(dup.body.error.param, 'key');
    assert.equal((await api.post('/v1/features', { key: 'sso', name: 'SSO', type: 'boolean' })).body.error.code, 'key_taken');
    const sumWithout = await api.post('/v1/billable_metrics', { key: 'gb', name: 'GB', event_name: 'upload', aggregation: 'sum' });
    assert.equal(sumWithout.status, 400);
    assert.equal(sumWithout.body.error.param, 'property');
    assert.equal((await api.get('/v1/plans?limit=100')).body.data.length, 5, 'nothing was written by the failures');
  });

  it("another workspace's catalog answers 404 and cannot be referenced", async () => {
    const them = h.api(other);
    const pro = ship.plans.pro;
    for (const r of [
      await them.get(`/v1/plans/${pro.id}`),
      await them.post(`/v1/plans/${pro.id}`, { name: 'Hijacked' }),
      await them.post(`/v1/plans/${pro.id}/archive`),
      await them.get(`/v1/billable_metrics/${ship.metric.id}`),
      await them.get(`/v1/features/${pro.entitlements[0].feature}`),
    ]) {
      assert.equal(r.status, 404, JSON.stringify(r.body));
      assert.equal(r.body.error.code, 'resource_missing');
    }
    const borrow = await them.post('/v1/plans', { key: 'x', name: 'X', currency: 'usd', prices: [{ type: 'usage', billable_metric: ship.metric.id, unit_amount: 1 }] });
    assert.equal(borrow.status, 400);
    assert.equal(borrow.body.error.param, 'prices.0.billable_metric');
    assert.deepEqual((await them.get('/v1/plans')).body.data, []);
    const db = h.tandem.deps.database.db;
    await assert.rejects(getPrice(db, other.id, pro.prices[0].id), (e) => e instanceof AppError && e.status === 404);
    await assert.rejects(getEntitlements(db, other.id, pro.plan_version), (e) => e instanceof AppError && e.status === 404);
  });

  it('exposes entitlements and metrics for metering and checks', async () => {
    const db = h.tandem.deps.database.db;
    const free = await getEntitlements(db, ws.id, ship.plans.free.plan_version);
    assert.deepEqual(
      free.map((e) => [e.featureKey, e.enabled, e.limit, e.billableMetricId]),
      [
        ['api_calls', true, 10000, ship.metric.id],
        ['seats', true, 3, null],
        ['sso', false, null, null],
      ],
    );
    const m = await h.api(ws).get(`/v1/billable_metrics/${ship.metric.id}`);
    assert.deepEqual(m.body.filters, [{ property: 'env', operator: 'eq', values: ['production'] }]);
    assert.equal((await h.api(ws).get('/v1/billable_metrics')).body.data.length, 1);
    assert.equal((await h.api(ws).get('/v1/features?limit=2')).body.has_more, true);
  });

  it('archives a plan: off the ladder, and its prices are frozen until reactivated', async () => {
    const api = h.api(ws);
    const biz = ship.plans.business;
    const archived = await api.post(`/v1/plans/${biz.id}/archive`);
    assert.equal(archived.body.status, 'archived');
    assert.ok(!(await api.get('/v1/pricing_ladder')).body.plans.some((p: any) => p.key === 'business'));
    const frozen = await api.post(`/v1/plans/${biz.id}`, { prices: [{ type: 'flat', unit_amount: 1 }] });
    assert.equal(frozen.status, 409);
    assert.equal(frozen.body.error.code, 'state_conflict');
    const back = await api.post(`/v1/plans/${biz.id}`, { status: 'active' });
    assert.equal(back.body.status, 'active');
  });

  it('writes an audit row for every change', async () => {
    const api = h.api(ws);
    const starter = ship.plans.starter;
    const log = await api.get(`/v1/audit_log?entity_id=${starter.id}&limit=100`);
    assert.deepEqual(
      log.body.data.map((a: any) => a.action),
      ['plan.updated', 'plan.created'],
    );
    const [updated] = log.body.data;
    assert.equal(updated.before.version, 1);
    assert.equal(updated.after.version, 2);
    assert.equal(updated.after.prices[0].unitAmount, 5900);
    const all = await api.get('/v1/audit_log?limit=100');
    const actions = all.body.data.map((a: any) => a.action);
    for (const a of ['feature.created', 'billable_metric.created', 'plan_version.created', 'plan.archived', 'plan.unarchived']) assert.ok(actions.includes(a), a);
    assert.equal(actions.filter((a: string) => a === 'feature.created').length, 3);
  });

  it('replays POST /v1/plans for the same Idempotency-Key', async () => {
    const api = h.api(ws);
    const body = { key: 'addon', name: 'Add-on', currency: 'usd', prices: [{ type: 'per_seat', unit_amount: 1000 }] };
    const first = await api.post('/v1/plans', body, { 'idempotency-key': 'plan-addon-1' });
    assert.equal(first.status, 200);
    const again = await api.post('/v1/plans', body, { 'idempotency-key': 'plan-addon-1' });
    assert.equal(again.status, 200);
    assert.equal(again.headers['idempotent-replayed'], 'true');
    assert.equal(again.body.id, first.body.id);
    assert.deepEqual(again.body, first.body);
    const changed = await api.post('/v1/plans', { ...body, name: 'Other' }, { 'idempotency-key': 'plan-addon-1' });
    assert.equal(changed.status, 409);
    const list = await api.get('/v1/plans?limit=100');
    assert.equal(list.body.data.filter((p: any) => p.key === 'addon').length, 1);
  });

  it('the database refuses prices that break the rules even without the API', async () => {
    const pro = ship.plans.pro;
    const insert = (cols: string) =>
      h.database.query(
        `INSERT INTO prices (id, workspace_id, plan_id, plan_version_id, position, type, interval, currency, charge_model, unit_amount, unit_amount_decimal, package_size, package_amount, billable_metric_id, created_at)
         VALUES ${cols}`,
        [ws.id, pro.id, pro.plan_version],
      );
    await assert.rejects(insert(`('price_bad1', $1, $2, $3, 9, 'flat', 'month', 'usd', NULL, -1, NULL, NULL, NULL, NULL, now())`), /prices_unit_amount/);
    await assert.rejects(insert(`('price_bad2', $1, $2, $3, 9, 'usage', 'month', 'usd', 'per_unit', NULL, '0.5', NULL, NULL, NULL, now())`), /prices_shape/);
    await assert.rejects(insert(`('price_bad3', $1, $2, $3, 9, 'flat', 'week', 'usd', NULL, 100, NULL, NULL, NULL, NULL, now())`), /prices_interval/);
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { scenario, type Customer, type Scenario } from '../scenarios/dsl.ts';

describe('entitlements and usage against limits', () => {
  let s: Scenario;
  let c: Customer;
  let sub: any;
  before(async () => {
    s = await scenario('2026-05-10T00:00:00Z');
    await s.metric('api_calls', 'API Call');
    await s.ok(s.api.post('/v1/features', { key: 'api_calls', name: 'API calls', type: 'limit' }));
    await s.ok(s.api.post('/v1/features', { key: 'sso', name: 'SSO', type: 'boolean' }));
    await s.ok(s.api.post('/v1/features', { key: 'audit_export', name: 'Audit export', type: 'boolean' }));
    await s.plan({
      key: 'starter',
      prices: [{ type: 'flat', unit_amount: 4900 }],
      entitlements: [{ feature_key: 'api_calls', limit: 100, billable_metric: 'api_calls' }, { feature_key: 'sso', enabled: false }],
    });
    c = await s.customer('Limited');
    sub = await s.subscribe(c, 'starter');
  });
  after(() => s.close());

  const check = (feature: string, account = c.id) => s.ok(s.api.get(`/v1/entitlements/check?account=${account}&feature=${feature}`));

  it('answers allowed, limit, used and remaining, and stays correct as events arrive', async () => {
    let r = await check('api_calls');
    assert.deepEqual([r.allowed, r.limit, r.used, r.remaining, r.percent_used], [true, 100, '0', '100', '0.00']);
    assert.equal(r.period.start, sub.current_period_start);
    await s.track(c, 'API Call', 80);
    await s.settle();
    r = await check('api_calls');
    assert.deepEqual([r.allowed, r.used, r.remaining, r.percent_used], [true, '80', '20', '80.00']);
    await s.track(c, 'API Call', 20);
    r = await check('api_calls');
    assert.deepEqual([r.allowed, r.used, r.remaining, r.reason], [false, '100', '0', 'limit_reached']);
    const usage = await s.ok(s.api.get(`/v1/accounts/${c.id}/usage`));
    assert.equal(usage.plan, 'starter');
    assert.deepEqual(
      usage.data.map((u: any) => [u.feature, u.used, u.limit, u.percent_used]),
      [['api_calls', '100', 100, '100.00']],
    );
  });

  it('announces 80 % and 100 % of a limit once per period (usage.threshold_crossed)', async () => {
    await s.settle();
    const crossed = (await s.events('usage.threshold_crossed')).filter((e) => e.data.account === c.id);
    assert.deepEqual(
      crossed.map((e) => [e.data.feature, e.data.threshold_percent, e.data.used, e.data.limit]),
      [
        ['api_calls', 80, '80', 100],
        ['api_calls', 100, '100', 100],
      ],
    );
    await s.track(c, 'API Call', 5);
    await s.settle();
    assert.equal((await s.events('usage.threshold_crossed')).filter((e) => e.data.account === c.id).length, 2, 'not again in the same period');
  });

  it('resets with the next period', async () => {
    await s.advance(sub.current_period_end);
    const r = await check('api_calls');
    assert.deepEqual([r.allowed, r.used], [true, '0']);
  });

  it('answers boolean features and features outside the plan', async () => {
    const sso = await check('sso');
    assert.deepEqual([sso.allowed, sso.type, sso.reason], [false, 'boolean', 'feature_disabled']);
    const other = await check('audit_export');
    assert.deepEqual([other.allowed, other.reason], [false, 'not_in_plan']);
  });

  it('refuses an account without a subscription, and unknown ids with 404 naming the parameter', async () => {
    const none = await s.customer('Nobody', { card: null });
    const r = await check('api_calls', none.id);
    assert.deepEqual([r.allowed, r.reason], [false, 'no_active_subscription']);
    const unknownFeature = await s.api.get(`/v1/entitlements/check?account=${c.id}&feature=nope`);
    assert.equal(unknownFeature.status, 404);
    assert.equal(unknownFeature.body.error.param, 'feature');
    const unknownAccount = await s.api.get(`/v1/entitlements/check?account=acct_nope&feature=sso`);
    assert.equal(unknownAccount.status, 404);
    assert.equal(unknownAccount.body.error.param, 'account');
    const missing = await s.api.get(`/v1/entitlements/check?account=${c.id}`);
    assert.equal(missing.status, 400);
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { scenario, type Customer, type Scenario } from '../scenarios/dsl.ts';

/**
 * The entitlement cache's rules (modules/entitlements/entitlements.service.ts): answers come from
 * memory, yet every write this process acknowledges is seen by the next check, and what it did
 * not see (another process's write) is served for at most the TTL (1 s of wall clock).
 */
describe('entitlement checks from the cache', () => {
  let s: Scenario;
  before(async () => {
    s = await scenario('2026-06-10T00:00:00Z');
    await s.metric('api_calls', 'API Call');
    await s.ok(s.api.post('/v1/features', { key: 'api_calls', name: 'API calls', type: 'limit' }));
    await s.ok(s.api.post('/v1/features', { key: 'sso', name: 'SSO', type: 'boolean' }));
    await s.plan({ key: 'small', prices: [{ type: 'flat', unit_amount: 1000 }], entitlements: [{ feature_key: 'api_calls', limit: 10, billable_metric: 'api_calls' }] });
    await s.plan({
      key: 'large',
      prices: [{ type: 'flat', unit_amount: 5000 }],
      entitlements: [
        { feature_key: 'api_calls', limit: 1000, billable_metric: 'api_calls' },
        { feature_key: 'sso', enabled: true },
      ],
    });
  });
  after(() => s.close());

  const check = (account: string, feature = 'api_calls') => s.ok(s.api.get(`/v1/entitlements/check?account=${account}&feature=${feature}`));

  it('sees a subscription and a plan change made through the API at the very next check', async () => {
    const c = await s.customer('Upgrader');
    assert.equal((await check(c.id)).reason, 'no_active_subscription');
    const sub = await s.subscribe(c, 'small');
    let r = await check(c.id);
    assert.deepEqual([r.allowed, r.limit, r.plan, r.subscription], [true, 10, 'small', sub.id]);
    assert.equal((await check(c.id, 'sso')).reason, 'not_in_plan');
    await s.change(sub.id, { plan: 'large' });
    r = await check(c.id);
    assert.deepEqual([r.allowed, r.limit, r.plan], [true, 1000, 'large']);
    assert.equal((await check(c.id, 'sso')).allowed, true);
  });

  it('answers concurrent checks right after an ingest with the new events, all alike', async () => {
    const c = await s.customer('Burst');
    await s.subscribe(c, 'large');
    assert.equal((await check(c.id)).used, '0');
    await s.track(c, 'API Call', 7);
    const answers = await Promise.all(Array.from({ length: 25 }, () => check(c.id)));
    assert.deepEqual([...new Set(answers.map((a) => a.used))], ['7']);
    await s.track(c, 'API Call', 3);
    assert.equal((await check(c.id)).used, '10');
  });

  it('after a merge, both ids answer for the survivor and count both accounts’ events', async () => {
    const keep = await s.customer('Keeper');
    const gone = await s.customer('Gone');
    await s.subscribe(keep, 'large');
    await s.track(keep, 'API Call', 4);
    await s.track(gone, 'API Call', 6);
    assert.equal((await check(keep.id)).used, '4');
    await s.ok(s.api.post(`/v1/accounts/${gone.id}/merge`, { into: keep.id }));
    const viaKeep = await check(keep.id);
    const viaGone = await check(gone.id);
    assert.deepEqual([viaKeep.account, viaKeep.used], [keep.id, '10']);
    assert.deepEqual([viaGone.account, viaGone.used], [keep.id, '10']);
  });

  it('after a merge, the merged account’s subscription still entitles the survivor', async () => {
    const keep = await s.customer('Survivor');
    const gone = await s.customer('Subscriber');
    await s.subscribe(gone, 'large');
    await s.track(gone, 'API Call', 2);
    await s.track(keep, 'API Call', 5);
    assert.equal((await check(keep.id)).reason, 'no_active_subscription');
    await s.ok(s.api.post(`/v1/accounts/${gone.id}/merge`, { into: keep.id }));
    for (const id of [keep.id, gone.id]) {
      const r = await check(id);
      assert.deepEqual([r.account, r.allowed, r.used], [keep.id, true, '7'], `checked as ${id}`);
    }
  });

  it('serves what another process changed for at most the TTL (1 s of wall clock)', async () => {
    const c = await s.customer('Elsewhere');
    const sub = await s.subscribe(c, 'large');
    assert.equal((await check(c.id)).allowed, true);
    // Another API process on the same database cancels it: nothing here is told.
    await s.h.database.query(`UPDATE subscriptions SET status = 'canceled', canceled_at = now(), ended_at = now() WHERE id = $1`, [sub.id]);
    s.h.clock.advance(500);
    assert.equal((await check(c.id)).allowed, true, 'within the TTL the cached answer may still be served');
    s.h.clock.advance(500);
    const r = await check(c.id);
    assert.deepEqual([r.allowed, r.reason], [false, 'no_active_subscription'], 'never older than the TTL');
  });

  it('a feature or account created a moment ago is found (unknown ones are not remembered)', async () => {
    const c = await s.customer('Newcomer');
    await s.subscribe(c, 'large');
    const missing = await s.api.get(`/v1/entitlements/check?account=${c.id}&feature=reports`);
    assert.equal(missing.status, 404);
    await s.ok(s.api.post('/v1/features', { key: 'reports', name: 'Reports', type: 'boolean' }));
    assert.equal((await check(c.id, 'reports')).reason, 'not_in_plan');
  });
});

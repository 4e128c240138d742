import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { THRESHOLD_CHECK_DELAY_MS } from '../../src/modules/entitlements/thresholds.service.ts';
import { scenario, type Customer, type Scenario } from '../scenarios/dsl.ts';

/**
 * Usage-threshold checks after ingestion cost one job per workspace at a time, whatever the
 * number of batches: each batch adds its accounts to the pending job. Alerts stay exact.
 */
describe('usage threshold checks: one pending job per workspace', () => {
  let s: Scenario;
  let a: Customer;
  let b: Customer;
  let c: Customer;
  before(async () => {
    s = await scenario('2026-05-10T00:00:00Z');
    await s.metric('api_calls', 'API Call');
    await s.ok(s.api.post('/v1/features', { key: 'api_calls', name: 'API calls', type: 'limit' }));
    await s.plan({ key: 'starter', prices: [{ type: 'flat', unit_amount: 4900 }], entitlements: [{ feature_key: 'api_calls', limit: 10, billable_metric: 'api_calls' }] });
    [a, b, c] = [await s.customer('A'), await s.customer('B'), await s.customer('C', { card: null })];
    await s.subscribe(a, 'starter');
    await s.subscribe(b, 'starter');
    await s.settle();
  });
  after(() => s.close());

  const thresholdJobs = () =>
    s.h.database.query<{ status: string; payload: { accounts: Record<string, true> } }>(
      `SELECT status, payload FROM jobs WHERE workspace_id = $1 AND kind = 'entitlements.thresholds' ORDER BY id`,
      [s.ws.id],
    );

  it('gathers the accounts of many batches in one pending job, then announces each crossing once', async () => {
    const before = (await thresholdJobs()).length;
    await s.track(a, 'API Call', 8); // 80 % of 10
    await s.track(b, 'API Call', 3);
    await s.track(a, 'API Call', 1);
    await s.track(c, 'API Call', 50); // no subscription: checked, nothing to announce
    await s.track(b, 'API Call', 7); // 100 %
    const jobs = (await thresholdJobs()).slice(before);
    assert.equal(jobs.length, 1, 'five batches, one job');
    assert.equal(jobs[0].status, 'pending');
    assert.deepEqual(Object.keys(jobs[0].payload.accounts).sort(), [a.id, b.id, c.id].sort());
    await s.settle();
    const crossed = (await s.events('usage.threshold_crossed')).map((e) => [e.data.account, e.data.threshold_percent, e.data.used]);
    assert.deepEqual(
      crossed.sort(),
      [
        [a.id, 80, '9'],
        [b.id, 80, '10'],
        [b.id, 100, '10'],
      ].sort(),
    );
    await s.track(a, 'API Call', 1); // 10 of 10: 100 % for a; b's alerts are not repeated
    await s.track(b, 'API Call', 1);
    await s.settle();
    const again = (await s.events('usage.threshold_crossed')).map((e) => [e.data.account, e.data.threshold_percent]);
    assert.equal(again.length, 4);
    assert.deepEqual(again.filter(([acct]) => acct === a.id).map(([, t]) => t).sort(), [100, 80]);
  });

  it('after a merge, the survivor’s events count toward the merged account’s subscription', async () => {
    const keep = await s.customer('Survivor', { card: null });
    const gone = await s.customer('Merged');
    await s.subscribe(gone, 'starter');
    await s.settle();
    await s.ok(s.api.post(`/v1/accounts/${gone.id}/merge`, { into: keep.id }));
    await s.track(keep, 'API Call', 8);
    await s.settle();
    const crossed = (await s.events('usage.threshold_crossed')).filter((e) => e.data.account === gone.id).map((e) => [e.data.threshold_percent, e.data.used]);
    assert.deepEqual(crossed, [[80, '8']]);
  });

  it('delays the check of a live workspace so that a second of batches costs one job', async () => {
    const ws = await s.h.workspace({ name: 'Live', sandbox: false });
    await s.h.api(ws).post('/v1/batch', { batch: [{ type: 'group', userId: 'u1', groupId: 'org-1', messageId: 'g1' }] });
    await s.h.api(ws).post('/v1/batch', { batch: [{ type: 'track', event: 'API Call', userId: 'u1', messageId: 't1', context: { groupId: 'org-1' } }] });
    const [job] = await s.h.database.query<{ run_at: Date; created_at: Date }>(
      `SELECT run_at, created_at FROM jobs WHERE workspace_id = $1 AND kind = 'entitlements.thresholds' AND status = 'pending'`,
      [ws.id],
    );
    assert.equal(new Date(job.run_at).getTime() - new Date(job.created_at).getTime(), THRESHOLD_CHECK_DELAY_MS);
  });
});

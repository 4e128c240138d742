import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Ctx } from '../../src/context.ts';
import { rescore } from '../../src/modules/scoring/index.ts';
import { startHarness, type Harness, type TestWorkspace } from '../support/harness.ts';

const basic = (key: string) => ({ authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}` });
const T = new Date('2026-05-20T12:00:00Z');
const DAY = 86_400_000;

/**
 * The scheduled full recompute (every account, set-based: `rescore` without account ids, what the
 * `scoring.recompute` job and `tandem bench scoring` run) and the per-event rescore of one account
 * (the incremental query) must store the same score, breakdown and raw inputs for every account.
 */
describe('full recompute = per-account rescore (default model)', () => {
  let h: Harness;
  let ws: TestWorkspace;
  const ids: string[] = [];

  before(async () => {
    h = await startHarness();
    ws = await h.workspace({ clockStart: T.toISOString() });
    const firms = [
      { employees: 8, industry: 'Retail' },
      { employees: 120, industry: 'Software' },
      { employees: 2400, industry: 'Financial Services' },
      { employees: 45, industry: 'Education' },
      { employees: 700, industry: 'Software' },
      {},
    ];
    for (const [i, f] of firms.entries()) {
      const r = await h.api(ws).post('/v1/accounts', { name: `Company ${i}`, external_id: `grp-${i}`, ...f });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      ids.push(r.body.id);
    }
    // Events over the last 30 days (both trend windows, decay, every default signal), more for later accounts.
    const names = ['Signed In', 'Feature Used', 'Pricing Page Viewed', 'Invite Sent', 'Upgrade Clicked', 'Paywall Hit', 'Support Ticket Created', 'Enterprise Feature Viewed', 'Account Added User', 'Security Review Requested'];
    const batch: Record<string, unknown>[] = [];
    let n = 0;
    for (let a = 0; a < firms.length; a++) {
      for (let k = 0; k < 12 + a * 9; k++) {
        const daysAgo = (k * 7 + a * 3) % 29;
        const at = new Date(T.getTime() - daysAgo * DAY - ((k * 37) % 20) * 3600_000 - 60_000).toISOString();
        const base = { messageId: `rc-${n++}`, userId: `u${a}-${k % (a + 2)}`, timestamp: at, context: { groupId: `grp-${a}` } };
        if (k % 11 === 5) batch.push({ ...base, type: 'page', name: 'Pricing', properties: { path: '/pricing/' } });
        else batch.push({ ...base, type: 'track', event: names[(k * (a + 1)) % names.length], properties: { feature: `f${k % (a + 3)}`, team: `t${k % Math.max(1, a)}` } });
      }
    }
    const r = await h.api(null).post('/v1/batch', { batch }, basic(ws.writeKey));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    await h.api(ws).post('/v1/test_clock/advance', { by: 'PT1S' });
  });
  after(() => h.close());

  const stored = async () =>
    new Map(
      (
        await h.database.query<Record<string, unknown>>(
          `SELECT account_id, total, usage, fit, behavior, level, enterprise_fit, disqualified_by, signals, indicators, points_hash, inputs_hash
           FROM scoring_scores WHERE workspace_id = $1 ORDER BY account_id`,
          [ws.id],
        )
      ).map((r) => [r.account_id as string, r]),
    );

  it('stores identical scores through both paths, days later (decay, sliding windows)', async () => {
    // Three and a half days on: windows have slid and decaying signals lost points since the events.
    const ctx: Ctx = { deps: h.tandem.deps, workspaceId: ws.id, asOf: new Date(T.getTime() + 3.5 * DAY), actor: { type: 'system' } };
    const full = await rescore(ctx, { reason: 'recompute' });
    assert.equal(full.accounts, ids.length);
    const bulk = await stored();
    assert.equal(bulk.size, ids.length);
    const totals = new Set([...bulk.values()].map((r) => String(r.total)));
    assert.ok(totals.size >= 4, `varied scores expected, got ${[...totals].join(', ')}`);
    assert.ok([...bulk.values()].some((r) => Number(r.behavior) > 0 && Number(r.usage) > 0));

    await h.database.query('DELETE FROM scoring_scores WHERE workspace_id = $1', [ws.id]);
    for (const id of ids) await rescore(ctx, { accountIds: [id], reason: 'event' });
    const each = await stored();
    assert.deepEqual([...each.keys()], [...bulk.keys()]);
    for (const id of ids) assert.deepEqual(each.get(id), bulk.get(id), `account ${id}`);
  });
});

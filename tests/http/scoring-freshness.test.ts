import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { flushDirty, scheduleRescore, useFirmographicsProvider, type CompanyProfile, type FirmographicsProvider } from '../../src/modules/scoring/index.ts';
import { execOn } from '../../src/modules/events/index.ts';
import { holdAccounts } from '../../src/modules/scoring/work.repo.ts';
import { SLICE_MIN_ACCOUNTS } from '../../src/modules/scoring/scoring.sql.ts';
import { HOT_REST_FACTOR } from '../../src/modules/scoring/schedule.ts';
import { startHarness, type Harness, type TestWorkspace } from '../support/harness.ts';
import type { JobContext } from '../../src/jobs/registry.ts';

const basic = (key: string) => ({ authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}` });

describe('scoring freshness', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ now: '2026-01-15T12:00:00.130Z' });
  });
  after(() => h.close());

  const stored = async (ws: string, account: string) =>
    (await h.database.query<{ total: string }>('SELECT total FROM scoring_scores WHERE workspace_id = $1 AND account_id = $2', [ws, account]))[0]?.total ?? null;

  it('an event re-scores its account within a second of wall time (debounced: one job for a burst)', async () => {
    const live = await h.workspace({ sandbox: false });
    const acct = (await h.api(live).post('/v1/accounts', { name: 'Live Co', external_id: 'grp-live' })).body;
    await h.tandem.runner.drain(); // signup: fit only
    assert.equal(await stored(live.id, acct.id), '0.0');
    for (let i = 0; i < 3; i++) {
      const r = await h.api(null).post('/v1/track', { userId: 'u1', event: 'Pricing Page Viewed', messageId: `live-${i}`, context: { groupId: 'grp-live' } }, basic(live.writeKey));
      assert.equal(r.status, 200);
    }
    const jobs = await h.database.query<{ n: number; run_at: Date }>(`SELECT count(*)::int AS n, min(run_at) AS run_at FROM jobs WHERE workspace_id = $1 AND kind = 'scoring.flush'`, [live.id]);
    assert.equal(jobs[0].n, 1, 'three events, one debounced job');
    assert.equal(new Date(jobs[0].run_at).toISOString(), '2026-01-15T12:00:00.330Z', 'the first event (.130) + 200 ms');
    await h.tandem.runner.drain();
    assert.equal(await stored(live.id, acct.id), '0.0', 'not due yet');
    h.clock.advance(200); // .330: the first event is 200 ms old
    await h.tandem.runner.drain();
    // 3 pricing views "today" → 14 behavior points × 25% = 3.5 (1 user on 1 day: 1/7 DAU → 0; 3 events: no trend yet)
    assert.equal(await stored(live.id, acct.id), '3.5');
    // while nothing is pending, the next event queues the next flush
    await h.api(null).post('/v1/track', { userId: 'u1', event: 'Upgrade Clicked', messageId: 'live-9', context: { groupId: 'grp-live' } }, basic(live.writeKey));
    h.clock.advance(200);
    await h.tandem.runner.drain();
    assert.equal(await stored(live.id, acct.id), '7.3', 'upgrade click: behavior 14 + 15 = 29; × 25% = 7.25 → 7.3');
  });

  it('accounts created in bulk get their fit at signup from set-based rescores, a claimed batch at a time', async () => {
    const live = await h.workspace({ sandbox: false });
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await h.api(live).post('/v1/accounts', { name: `Bulk ${i}`, external_id: `bulk-${i}`, employees: 120, industry: 'Software' });
      assert.equal(r.status, 200);
      ids.push(r.body.id);
    }
    const pending = await h.database.query<{ n: number }>(`SELECT count(*)::int AS n FROM jobs WHERE workspace_id = $1 AND kind = 'deliver:scoring.accounts' AND status = 'pending'`, [live.id]);
    assert.equal(pending[0].n, 6, 'one delivery per signup');
    const handler = h.tandem.deps.registry.get('deliver:scoring.accounts') as { runMany?: (ctxs: JobContext[]) => Promise<void> };
    const runMany = handler.runMany!;
    const groups: number[] = [];
    handler.runMany = (ctxs) => (groups.push(ctxs.length), runMany(ctxs));
    try {
      await h.tandem.runner.drain();
    } finally {
      handler.runMany = runMany;
    }
    assert.deepEqual(groups, [6], 'the six deliveries in one call (the runner claims up to 20 jobs at once)');
    for (const id of ids) assert.equal(await stored(live.id, id), '19.6', 'fit 120 employees → 26 + Software → 30 = 56; × 35% = 19.6');
    const snaps = await h.database.query<{ account_id: string; reason: string }>(
      'SELECT account_id, reason FROM scoring_snapshots WHERE workspace_id = $1 ORDER BY account_id',
      [live.id],
    );
    assert.deepEqual(snaps.map((r) => [r.account_id, r.reason]), [...ids].sort().map((id) => [id, 'signup']));
  });

  it('a flush takes only accounts marked before its instant (later events are invisible to it)', async () => {
    const ws = await h.workspace({ sandbox: false });
    const early = new Date('2026-01-15T12:00:00.000Z');
    const late = new Date('2026-01-15T12:00:05.000Z');
    await scheduleRescore(h.database.db, { workspaceId: ws.id, accountIds: ['acct_a'], asOf: early });
    await scheduleRescore(h.database.db, { workspaceId: ws.id, accountIds: ['acct_b'], asOf: late });
    const ctx = { deps: h.tandem.deps, workspaceId: ws.id, asOf: new Date('2026-01-15T12:00:01.000Z'), actor: { type: 'system' as const } };
    assert.equal(await flushDirty(ctx), 1);
    const left = await h.database.query<{ account_id: string }>('SELECT account_id FROM scoring_dirty_accounts WHERE workspace_id = $1', [ws.id]);
    assert.deepEqual(left.map((r) => r.account_id), ['acct_b'], 'left for the next flush');
    // Marked after the flush's instant (while it ran): the flush queues the next for that mark — at once, in real
    // time — apart from the events' debounced flush (acct_b's marking found acct_a's pending and queued none).
    const jobs = await h.database.query<{ run_at: Date; debounce_key: string }>(
      `SELECT run_at, debounce_key FROM jobs WHERE workspace_id = $1 AND kind = 'scoring.flush' AND status = 'pending' ORDER BY run_at`,
      [ws.id],
    );
    assert.deepEqual(
      jobs.map((j) => [new Date(j.run_at).toISOString(), j.debounce_key]),
      [
        ['2026-01-15T12:00:00.200Z', 'scoring.flush'],
        [late.toISOString(), 'scoring.flush:next'],
      ],
    );
  });

  it('a flush batch holds the accounts it rescores again soon: a flush before the hold ends leaves them dirty, the one at its end takes them', async () => {
    const ws = await h.workspace({ sandbox: false });
    const t0 = new Date('2026-01-15T13:00:00.000Z');
    // A process clock that moves 400 ms at every reading: the rescore inside a flush "takes" ≥ 400 ms.
    let ticks = 0;
    const slow = { now: () => new Date(t0.getTime() + 400 * ticks++) };
    const ctxAt = (asOf: Date, clock = h.tandem.deps.clock) => ({ deps: { ...h.tandem.deps, clock }, workspaceId: ws.id, asOf, actor: { type: 'system' as const } });
    const holds = async () => h.database.query<{ account_id: string; until: Date; rescored_at: Date }>('SELECT account_id, until, rescored_at FROM scoring_holds WHERE workspace_id = $1 ORDER BY account_id', [ws.id]);
    const dirty = async () => (await h.database.query<{ account_id: string }>('SELECT account_id FROM scoring_dirty_accounts WHERE workspace_id = $1 ORDER BY account_id', [ws.id])).map((r) => r.account_id);
    const flushJobs = async () => (await h.database.query<{ run_at: Date }>(`SELECT run_at FROM jobs WHERE workspace_id = $1 AND kind = 'scoring.flush' AND status = 'pending' ORDER BY run_at`, [ws.id])).map((r) => new Date(r.run_at).toISOString());
    const mark = async (accountIds: string[], asOf: Date) => {
      await scheduleRescore(h.database.db, { workspaceId: ws.id, accountIds, asOf });
      await h.database.query(`DELETE FROM jobs WHERE workspace_id = $1`, [ws.id]); // flushes are run by hand here
    };

    // A first batch only records the rescore: an account is held when rescored again soon.
    await mark(['acct_busy', 'acct_once'], t0);
    assert.equal(await flushDirty(ctxAt(new Date(t0.getTime() + 200), slow)), 2);
    const first = await holds();
    assert.deepEqual(first.map((r) => r.account_id), ['acct_busy', 'acct_once']);
    for (const r of first) assert.equal(new Date(r.until).getTime(), new Date(r.rescored_at).getTime(), 'not held');
    // The busy account has new events; the next batch finds it hot and holds it.
    const second = new Date(slow.now().getTime() + 100); // after the first flush, on the clock it ran by
    await mark(['acct_busy'], new Date(second.getTime() - 200));
    assert.equal(await flushDirty(ctxAt(second, slow)), 1);
    const [held] = (await holds()).filter((r) => r.account_id === 'acct_busy');
    const until = new Date(held.until);
    assert.ok(until.getTime() >= new Date(held.rescored_at).getTime() + 2 * 400, `held for at least 2 × the batch's 400+ ms after it ended: ${until.toISOString()}`);
    assert.deepEqual(await flushJobs(), [], 'nothing dirty waits on the hold: no flush queued');
    // Another account, hot in a batch that ends before that release, is released with it, moved forward by
    // that batch's rest (200 ms): hot accounts come back together, whichever batch held them.
    const exec = execOn(h.database);
    const soon = new Date(until.getTime() - 300);
    assert.equal(await holdAccounts(exec, ws.id, ['acct_other'], { at: new Date(soon.getTime() - 500), hotSince: t0, restMs: 100 }), null, 'first rescore: recorded, nothing hot');
    const release = await holdAccounts(exec, ws.id, ['acct_other'], { at: soon, hotSince: t0, restMs: 200 });
    assert.equal(release?.toISOString(), new Date(until.getTime() + 200).toISOString());
    assert.equal(new Date((await holds()).find((r) => r.account_id === 'acct_other')!.until).toISOString(), release?.toISOString());
    await h.database.query(`DELETE FROM scoring_holds WHERE workspace_id = $1 AND account_id = 'acct_other'`, [ws.id]);

    // New events for the held account and for a fresh one, before the hold ends.
    const before = new Date(until.getTime() - 100);
    await mark(['acct_busy', 'acct_fresh'], new Date(before.getTime() - 200));
    assert.equal(await flushDirty(ctxAt(before)), 1, 'the fresh account is rescored at once (a manual clock: no time passes, nothing more is held)');
    assert.deepEqual(await dirty(), ['acct_busy'], 'the held account stays dirty');
    assert.deepEqual(await flushJobs(), [until.toISOString()], "a flush is queued for the hold's end");
    // …which does not make a new event's flush wait for it.
    const fresh = new Date(before.getTime() - 150);
    await scheduleRescore(h.database.db, { workspaceId: ws.id, accountIds: ['acct_new'], asOf: fresh });
    assert.deepEqual(await flushJobs(), [new Date(fresh.getTime() + 200).toISOString(), until.toISOString()]);
    assert.equal(await flushDirty(ctxAt(new Date(fresh.getTime() + 200))), 1, 'the new account, not the held one');
    await h.database.query(`DELETE FROM jobs WHERE workspace_id = $1`, [ws.id]);
    assert.equal(await flushDirty(ctxAt(until)), 1);
    assert.deepEqual(await dirty(), []);
    assert.deepEqual(await flushJobs(), [], 'nothing left waiting');
  });

  it("a batch measured in two halves at once is charged both halves' time: its rest counts the overlap", async () => {
    const ws = await h.workspace({ sandbox: false });
    const t0 = new Date('2026-01-15T16:00:00.000Z');
    // A process clock that moves 100 ms at every reading.
    let ticks = 0;
    const clock = { now: () => new Date(t0.getTime() + 100 * ticks++) };
    const ctxAt = (asOf: Date) => ({ deps: { ...h.tandem.deps, clock }, workspaceId: ws.id, asOf, actor: { type: 'system' as const } });
    // Enough accounts for the measure to be sliced on PostgreSQL (PGlite: one query, nothing overlaps).
    const ids = Array.from({ length: 2 * SLICE_MIN_ACCOUNTS }, (_, i) => `acct_${String(i).padStart(3, '0')}`);
    const mark = async (asOf: Date) => {
      await scheduleRescore(h.database.db, { workspaceId: ws.id, accountIds: ids, asOf });
      await h.database.query(`DELETE FROM jobs WHERE workspace_id = $1`, [ws.id]);
    };
    await mark(t0);
    assert.equal(await flushDirty(ctxAt(new Date(t0.getTime() + 200))), ids.length);
    // Rescored again soon after (events after the first batch, on the clock it ran by): hot, all of
    // them, and held until the release this batch sets.
    const second = new Date(clock.now().getTime() + 100);
    await mark(second);
    const asOf = new Date(second.getTime() + 200);
    assert.equal(await flushDirty(ctxAt(asOf)), ids.length);
    const [hold] = await h.database.query<{ until: Date; rescored_at: Date }>('SELECT until, rescored_at FROM scoring_holds WHERE workspace_id = $1 AND account_id = $2', [ws.id, ids[0]]);
    const at = new Date(hold.rescored_at).getTime();
    const rest = new Date(hold.until).getTime() - at;
    // The batch's instant is the flush's plus its time so far: one reading (100 ms) before the batch, then its duration.
    const took = at - asOf.getTime() - 100;
    assert.ok(took > 0);
    if (h.database.kind === 'postgres') assert.ok(rest >= HOT_REST_FACTOR * (took + 100), `rest ${rest} ms for a batch of ${took} ms whose halves overlapped ≥ 100 ms`);
    else assert.equal(rest, HOT_REST_FACTOR * took);
  });

  it('a short flush batch holds the accounts it rescores again soon too, until the release', async () => {
    const ws = await h.workspace({ sandbox: false });
    const t0 = new Date('2026-01-15T15:00:00.000Z');
    // A process clock that moves 10 ms at every reading: each batch "takes" a few tens of ms, far under 100.
    let ticks = 0;
    const quick = { now: () => new Date(t0.getTime() + 10 * ticks++) };
    const ctxAt = (asOf: Date) => ({ deps: { ...h.tandem.deps, clock: quick }, workspaceId: ws.id, asOf, actor: { type: 'system' as const } });
    const mark = async (asOf: Date) => {
      await scheduleRescore(h.database.db, { workspaceId: ws.id, accountIds: ['acct_short'], asOf });
      await h.database.query(`DELETE FROM jobs WHERE workspace_id = $1`, [ws.id]);
    };
    const hold = async () => {
      const [r] = await h.database.query<{ until: Date; rescored_at: Date }>('SELECT until, rescored_at FROM scoring_holds WHERE workspace_id = $1 AND account_id = $2', [ws.id, 'acct_short']);
      return { until: new Date(r.until).getTime(), rescoredAt: new Date(r.rescored_at).getTime() };
    };
    await mark(t0);
    assert.equal(await flushDirty(ctxAt(new Date(t0.getTime() + 200))), 1);
    const first = await hold();
    assert.equal(first.until, first.rescoredAt, 'rescored once: recorded, not held');
    await mark(new Date(t0.getTime() + 300));
    assert.equal(await flushDirty(ctxAt(new Date(t0.getTime() + 500))), 1);
    const second = await hold();
    assert.ok(second.until > second.rescoredAt, `rescored again 300 ms later by a short batch: held (${JSON.stringify(second)})`);
    const [state] = await h.database.query<{ hot_release_at: Date }>('SELECT hot_release_at FROM scoring_state WHERE workspace_id = $1', [ws.id]);
    assert.equal(new Date(state.hot_release_at).getTime(), second.until, 'until the workspace release');
    // An event meanwhile leaves it dirty until then.
    await mark(new Date(second.rescoredAt + 1));
    assert.equal(await flushDirty(ctxAt(new Date(second.rescoredAt + 2))), 0);
  });

  it('hot accounts are held until the workspace release, which each batch moves forward by its rest × its share of hot accounts', async () => {
    const ws = await h.workspace({ sandbox: false });
    const exec = execOn(h.database);
    const t0 = new Date('2026-01-15T14:00:00.000Z');
    const ms = (n: number) => new Date(t0.getTime() + n);
    const row = async (a: string) => {
      const [r] = await h.database.query<{ until: Date; rescored_at: Date }>('SELECT until, rescored_at FROM scoring_holds WHERE workspace_id = $1 AND account_id = $2', [ws.id, a]);
      return { until: new Date(r.until).getTime() - t0.getTime(), rescoredAt: new Date(r.rescored_at).getTime() - t0.getTime() };
    };
    // Batches that spent 100 ms on hot accounts buy 300 ms of rest here; a hot window of 1,000 ms.
    const batch = async (at: number, ids: string[]) => {
      const release = await holdAccounts(exec, ws.id, ids, { at: ms(at), hotSince: ms(at - 1_000), restMs: 300 });
      return release ? release.getTime() - t0.getTime() : null;
    };
    assert.equal(await batch(0, ['acct_hot']), null);
    assert.deepEqual(await row('acct_hot'), { until: 0, rescoredAt: 0 }, 'first batch: recorded, not held');
    assert.equal(await batch(300, ['acct_hot']), 600, 'hot: the release is 300 ms of rest after the batch');
    assert.deepEqual(await row('acct_hot'), { until: 600, rescoredAt: 300 });
    // Half the batch hot: half the rest, from the batch's end (the release at 600 is past).
    assert.equal(await batch(700, ['acct_hot', 'acct_new']), 850);
    assert.deepEqual(await row('acct_hot'), { until: 850, rescoredAt: 700 });
    assert.deepEqual(await row('acct_new'), { until: 700, rescoredAt: 700 }, 'a new account is not held');
    // A batch that ends before the running release moves it forward: its hot account waits with the others.
    assert.equal(await batch(800, ['acct_new']), 1_150);
    assert.deepEqual(await row('acct_new'), { until: 1_150, rescoredAt: 800 });
    // Out of its hold and rescored at once, 1,150 ms after its last rescore — beyond the hot window of 1,000 ms,
    // within it moved back by its last hold (150 ms): still hot.
    assert.equal(await batch(1_850, ['acct_hot']), 2_150);
    // Not rescored within the hot window and its hold: cold again, recorded, and the release does not move.
    assert.equal(await batch(4_000, ['acct_new']), null);
    assert.deepEqual(await row('acct_new'), { until: 4_000, rescoredAt: 4_000 }, 'cold again: not held');
    const [state] = await h.database.query<{ hot_release_at: Date }>('SELECT hot_release_at FROM scoring_state WHERE workspace_id = $1', [ws.id]);
    assert.equal(new Date(state.hot_release_at).toISOString(), ms(2_150).toISOString());
  });

  it('the daily recompute forgets holds that ended over a day ago', async () => {
    const ws = await h.workspace({ clockStart: '2026-03-10T10:00:00Z' });
    await h.api(ws).post('/v1/accounts', { name: 'Hold Co', external_id: 'grp-holds', employees: 40 }); // signup arms scoring
    const exec = execOn(h.database);
    const hot = { hotSince: new Date('2026-03-01T00:00:00Z'), restMs: 600 };
    await holdAccounts(exec, ws.id, ['acct_long_ago'], { ...hot, at: new Date('2026-03-07T10:00:00Z') });
    await holdAccounts(exec, ws.id, ['acct_yesterday'], { ...hot, at: new Date('2026-03-10T09:00:00Z') });
    const held = async () => (await h.database.query<{ account_id: string }>('SELECT account_id FROM scoring_holds WHERE workspace_id = $1 ORDER BY account_id', [ws.id])).map((r) => r.account_id);
    assert.deepEqual(await held(), ['acct_long_ago', 'acct_yesterday']);
    await h.api(ws).post('/v1/test_clock/advance', { to: '2026-03-11T00:00:05Z' }); // the recompute at 00:00
    assert.ok((await h.database.query('SELECT 1 FROM scoring_state WHERE workspace_id = $1 AND last_recompute_at = $2', [ws.id, '2026-03-11T00:00:00Z'])).length, 'the daily recompute ran');
    assert.deepEqual(await held(), ['acct_yesterday'], 'recorded 15 hours before the recompute: kept');
  });

  it('the fallback sweep rescores accounts whose events arrived by a path that did not notify', async () => {
    const ws = await h.workspace({ clockStart: '2026-02-01T10:00:30Z' });
    const acct = (await h.api(ws).post('/v1/accounts', { name: 'Sweep Co', external_id: 'grp-sweep', employees: 120, industry: 'Software' })).body;
    await h.api(ws).post('/v1/test_clock/advance', { by: 'PT1S' }); // signup: fit only
    assert.equal(await stored(ws.id, acct.id), '19.6', 'fit 120 employees → 26 + Software → 30 = 56; × 35% = 19.6');
    // A bulk import writing product_events directly: no ingestion listener runs.
    await h.database.query(
      `INSERT INTO product_events (id, workspace_id, message_id, type, event, user_id, account_id, timestamp, received_at)
       VALUES ('pev_0zzzzzzzzsweep00000001', $1, 'imported-1', 'track', 'Upgrade Clicked', 'u1', $2, '2026-02-01T10:00:40Z', '2026-02-01T10:00:40Z')`,
      [ws.id, acct.id],
    );
    await h.api(ws).post('/v1/test_clock/advance', { by: 'PT10S' });
    assert.equal(await stored(ws.id, acct.id), '19.6', 'nothing told scoring yet');
    await h.api(ws).post('/v1/test_clock/advance', { by: 'PT20S' }); // the sweep runs at 10:01:00
    const s = (await h.api(ws).get(`/v1/accounts/${acct.id}/score`)).body;
    assert.equal(s.signals.find((x: any) => x.key === 'upgrade_intent').points, 15);
    assert.equal(s.score, 23.4, 'fit 56 × 35% = 19.6, one upgrade click 15 × 25% = 3.75 → 23.35 → 23.4');
    assert.equal(s.computed_at, '2026-02-01T10:01:00.000Z');
  });

  it('enrichment asks the provider once per domain per TTL, and caches "not found" too', async () => {
    const asked: string[][] = [];
    const provider: FirmographicsProvider = {
      name: 'counting',
      async lookup(domains) {
        asked.push([...domains]);
        const out = new Map<string, CompanyProfile>();
        for (const d of domains) if (d === 'known.example') out.set(d, { domain: d, name: 'Known', employees: 800, industry: 'SaaS', country: 'DE', techStack: ['Snowflake'] });
        return out;
      },
    };
    useFirmographicsProvider(h.tandem.deps, provider);
    const ws = await h.workspace({ clockStart: '2026-02-01T00:00:00Z' });
    const a = (await h.api(ws).post('/v1/accounts', { name: 'Known', domains: ['known.example'] })).body;
    const b = (await h.api(ws).post('/v1/accounts', { name: 'Unknown', domains: ['unknown.example'] })).body;
    const s = (await h.api(ws).get(`/v1/accounts/${a.id}/score`)).body;
    assert.deepEqual(s.sub_scores.fit, 36 + 30 + 10, '800 employees → 36, SaaS → 30, Snowflake → 10');
    await h.api(ws).get(`/v1/accounts/${b.id}/score`);
    await h.api(ws).post('/v1/test_clock/advance', { by: 'P1D' }); // signup jobs and a daily recompute: all from the cache
    assert.deepEqual(asked, [['known.example'], ['unknown.example']]);
    await h.api(ws).post('/v1/test_clock/advance', { by: 'P31D' }); // past the 30-day TTL …
    for (const acct of [a, b]) assert.equal((await h.api(ws).post(`/v1/accounts/${acct.id}`, { country: 'FR' })).status, 200);
    await h.api(ws).post('/v1/test_clock/advance', { by: 'PT1S' }); // … the next rescore (account.updated) asks again
    assert.deepEqual(asked.slice(2).flat().sort(), ['known.example', 'unknown.example']);
    const rows = await h.database.query<{ domain: string; found: boolean }>('SELECT domain, found FROM enrichment_cache WHERE workspace_id = $1 ORDER BY domain', [ws.id]);
    assert.deepEqual(rows.map((r) => [r.domain, r.found]), [['known.example', true], ['unknown.example', false]]);
  });
});

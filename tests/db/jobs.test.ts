import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openDatabase } from '../../src/db/client.ts';
import { testDatabaseKind } from '../../src/db/testing.ts';
import { enqueue } from '../../src/jobs/queue.ts';
import { publish } from '../../src/jobs/outbox.ts';
import { JobRunner } from '../../src/jobs/runner.ts';
import { ManualClock } from '../../src/kernel/clock.ts';
import { createTandem } from '../../src/tandem.ts';
import { createWorkspace } from '../../src/modules/workspaces/index.ts';
import { startHarness, type Harness, type TestWorkspace } from '../support/harness.ts';

describe('test clock advance', () => {
  let h: Harness;
  let ws: TestWorkspace;
  const seen: Array<{ name: string; asOf: string }> = [];
  before(async () => {
    h = await startHarness();
    ws = await h.workspace({ clockStart: '2026-01-31T00:00:00Z' });
    h.tandem.deps.registry.handle('test.record', {
      transactional: true,
      async run(tx, ctx) {
        const name = String(ctx.job.payload.name);
        seen.push({ name, asOf: ctx.asOf.toISOString() });
        // A job may schedule more work; it runs in the same advance if it falls due in time.
        if (name === 'renew') {
          const next = new Date(ctx.asOf.getTime() + 86_400_000);
          await enqueue(tx, { workspaceId: ctx.workspaceId, kind: 'test.record', runAt: next, payload: { name: 'follow-up' }, dedupeKey: `fu:${next.toISOString()}` });
        }
      },
    });
    let failures = 0;
    h.tandem.deps.registry.handle('test.flaky', {
      transactional: true,
      async run(_tx, ctx) {
        seen.push({ name: `flaky#${ctx.job.attempts}`, asOf: ctx.asOf.toISOString() });
        if (failures++ < 2) throw new Error('transient');
      },
    });
  });
  after(() => h.close());

  const at = (iso: string, name: string, kind = 'test.record') =>
    enqueue(h.database.db, { workspaceId: ws.id, kind, runAt: new Date(iso), payload: { name } });

  it('runs every job that falls due, in time order, at its own instant', async () => {
    await at('2026-02-03T00:00:00Z', 'third');
    await at('2026-02-01T00:00:00Z', 'first');
    await at('2026-02-02T00:00:00Z', 'renew');
    await at('2026-03-15T00:00:00Z', 'too-late');
    const r = await h.api(ws).post('/v1/test_clock/advance', { to: '2026-02-28T00:00:00Z' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.frozen_time, '2026-02-28T00:00:00.000Z');
    assert.equal(r.body.previous_time, '2026-01-31T00:00:00.000Z');
    assert.equal(r.body.jobs_run, 4);
    assert.deepEqual(seen.splice(0), [
      { name: 'first', asOf: '2026-02-01T00:00:00.000Z' },
      { name: 'renew', asOf: '2026-02-02T00:00:00.000Z' },
      { name: 'third', asOf: '2026-02-03T00:00:00.000Z' },
      { name: 'follow-up', asOf: '2026-02-03T00:00:00.000Z' },
    ]);
    const clock = await h.api(ws).get('/v1/test_clock');
    assert.equal(clock.body.frozen_time, '2026-02-28T00:00:00.000Z');
    assert.equal(clock.body.status, 'ready');
  });

  it('retries a failing job with backoff measured on the test clock', async () => {
    await at('2026-03-01T00:00:00Z', 'x', 'test.flaky');
    const r = await h.api(ws).post('/v1/test_clock/advance', { to: '2026-03-01T00:01:00Z' });
    assert.equal(r.status, 200);
    const flaky = seen.splice(0).filter((s) => s.name.startsWith('flaky'));
    assert.deepEqual(
      flaky.map((s) => s.name),
      ['flaky#1', 'flaky#2', 'flaky#3'],
    );
    // 10 s then 40 s of backoff, on the test clock
    assert.deepEqual(
      flaky.map((s) => s.asOf),
      ['2026-03-01T00:00:00.000Z', '2026-03-01T00:00:10.000Z', '2026-03-01T00:00:50.000Z'],
    );
    assert.ok(seen.some((s) => s.name === 'too-late') === false);
  });

  it('refuses to go backwards, malformed input, and live workspaces', async () => {
    const back = await h.api(ws).post('/v1/test_clock/advance', { to: '2020-01-01T00:00:00Z' });
    assert.equal(back.status, 400);
    assert.equal(back.body.error.code, 'test_clock_backwards');
    const both = await h.api(ws).post('/v1/test_clock/advance', { to: '2027-01-01T00:00:00Z', by: 'P1D' });
    assert.equal(both.status, 400);
    const bad = await h.api(ws).post('/v1/test_clock/advance', { to: 'next tuesday' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.param, 'to');
    const live = await h.workspace({ sandbox: false });
    const r = await h.api(live).post('/v1/test_clock/advance', { by: 'P1D' });
    assert.equal(r.status, 400);
    assert.equal(r.body.error.code, 'test_clock_unavailable');
    assert.equal((await h.api(live).get('/v1/test_clock')).status, 400);
  });

  it('keeps a sandbox job away from wall-time workers until its test clock reaches it', async () => {
    await at('2026-06-01T00:00:00Z', 'sandbox-future');
    h.clock.advance(10 * 365 * 86_400_000); // the wall clock moves ten years; the test clock does not
    await h.tandem.runner.drain();
    assert.equal(seen.filter((s) => s.name === 'sandbox-future').length, 0);
    await h.api(ws).post('/v1/test_clock/advance', { to: '2026-06-01T00:00:00Z' });
    assert.equal(seen.filter((s) => s.name === 'sandbox-future').length, 1);
  });
});

describe('job queue', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  it('runs each job exactly once with several workers claiming concurrently', async () => {
    const ran = new Map<string, number>();
    h.tandem.deps.registry.handle('test.count', {
      transactional: true,
      async run(_tx, ctx) {
        ran.set(ctx.job.id, (ran.get(ctx.job.id) ?? 0) + 1);
      },
    });
    const now = h.clock.now();
    for (let i = 0; i < 120; i++) await enqueue(h.database.db, { workspaceId: null, kind: 'test.count', runAt: now, payload: { i } });
    const workers = [new JobRunner(h.tandem.deps, { batch: 7 }), new JobRunner(h.tandem.deps, { batch: 5 }), new JobRunner(h.tandem.deps, { batch: 3 })];
    await Promise.all(workers.map((w) => w.drain()));
    assert.equal(ran.size, 120);
    assert.ok([...ran.values()].every((n) => n === 1));
  });

  it('runs the claimed jobs of a kind with runMany together, per workspace; when that fails, each alone', async () => {
    const calls: string[][] = [];
    const single: string[] = [];
    let failTogether = false;
    h.tandem.deps.registry.handle('test.many', {
      transactional: false,
      async run(ctx) {
        single.push(String(ctx.job.payload.n));
        if (ctx.job.payload.n === 'bad') throw new Error('bad job');
      },
      async runMany(ctxs) {
        assert.ok(ctxs.every((c) => c.workspaceId === ctxs[0].workspaceId && c.asOf.getTime() === ctxs[0].asOf.getTime()));
        calls.push(ctxs.map((c) => `${c.workspaceId === a.id ? 'a' : 'b'}:${String(c.job.payload.n)}`));
        if (failTogether) throw new Error('together failed');
      },
    });
    const a = await h.workspace({ sandbox: false });
    const b = await h.workspace({ sandbox: false });
    const now = h.clock.now();
    const put = (ws: string, n: string) => enqueue(h.database.db, { workspaceId: ws, kind: 'test.many', runAt: now, payload: { n } });
    for (const [ws, n] of [[a.id, '1'], [b.id, '2'], [a.id, '3'], [a.id, '4'], [b.id, '5']] as const) await put(ws, n);
    const runner = new JobRunner(h.tandem.deps, { batch: 10 });
    assert.equal(await runner.drain(), 5);
    assert.deepEqual(calls.map((c) => [...c].sort()).sort(), [['a:1', 'a:3', 'a:4'], ['b:2', 'b:5']]);
    assert.deepEqual(single, [], 'none ran alone');
    const done = await h.database.query<{ n: number }>(`SELECT count(*)::int AS n FROM jobs WHERE kind = 'test.many' AND status = 'done'`);
    assert.equal(done[0].n, 5);

    // runMany fails: each job runs alone, and only the one that fails again is retried.
    calls.length = 0;
    failTogether = true;
    for (const n of ['6', 'bad', '7']) await put(a.id, n);
    assert.equal(await runner.drain(), 3);
    assert.equal(calls.length, 1);
    assert.deepEqual([...single].sort(), ['6', '7', 'bad']);
    const states = await h.database.query<{ n: string; status: string }>(`SELECT payload->>'n' AS n, status FROM jobs WHERE kind = 'test.many' AND payload->>'n' IN ('6', '7', 'bad') ORDER BY 1`);
    assert.deepEqual(states.map((r) => [r.n, r.status]), [['6', 'done'], ['7', 'done'], ['bad', 'pending']]);
  });

  it('is idempotent by dedupe key', async () => {
    const now = h.clock.now();
    for (let i = 0; i < 3; i++) await enqueue(h.database.db, { workspaceId: null, kind: 'test.count', runAt: now, dedupeKey: 'once' });
    const rows = await h.database.query<{ n: number }>(`SELECT count(*)::int AS n FROM jobs WHERE dedupe_key = 'once'`);
    assert.equal(rows[0].n, 1);
  });

  it('debounces: one pending job per key, a new one once it has run', async () => {
    let runs = 0;
    h.tandem.deps.registry.handle('test.debounced', {
      transactional: true,
      async run() {
        runs++;
      },
    });
    const now = h.clock.now();
    for (let i = 0; i < 5; i++) await enqueue(h.database.db, { workspaceId: null, kind: 'test.debounced', runAt: now, debounceKey: 'acct_1' });
    await h.tandem.runner.drain();
    assert.equal(runs, 1);
    await enqueue(h.database.db, { workspaceId: null, kind: 'test.debounced', runAt: now, debounceKey: 'acct_1' });
    await h.tandem.runner.drain();
    assert.equal(runs, 2);
  });

  it('a debounced job that fails is retried with its backoff even when a newer one is pending', async () => {
    const seen: string[] = [];
    h.tandem.deps.registry.handle('test.debounced-fail', {
      transactional: true,
      async run(_tx, ctx) {
        const job = ctx.job;
        seen.push(String(job.payload.n));
        if (job.payload.n === 1 && job.attempts === 1) throw new Error('transient');
      },
    });
    const now = h.clock.now();
    const claim = new JobRunner(h.tandem.deps);
    await enqueue(h.database.db, { workspaceId: null, kind: 'test.debounced-fail', runAt: now, debounceKey: 'k', payload: { n: 1 } });
    const [job] = (await claim.claimDue(10)).filter((j) => j.kind === 'test.debounced-fail');
    // While the first runs, a newer one is queued under the same key; then the first fails.
    await enqueue(h.database.db, { workspaceId: null, kind: 'test.debounced-fail', runAt: now, debounceKey: 'k', payload: { n: 2 } });
    await claim.execute(job);
    const rows = await h.database.query<{ n: number; status: string; attempts: number; run_at: Date }>(
      `SELECT (payload->>'n')::int AS n, status, attempts::int AS attempts, run_at FROM jobs WHERE kind = 'test.debounced-fail' ORDER BY n`,
    );
    assert.deepEqual(rows.map((r) => [r.n, r.status, r.attempts]), [[1, 'pending', 1], [2, 'pending', 0]]);
    assert.ok(new Date(rows[0].run_at).getTime() > now.getTime(), 'the retry waits for its backoff, not for a lease');
    h.clock.advance(60 * 60_000);
    await h.tandem.runner.drain();
    assert.deepEqual(seen.sort(), ['1', '1', '2']);
  });

  it("picks up a crashed worker's job once its lease expires", async () => {
    let runs = 0;
    h.tandem.deps.registry.handle('test.lease', {
      transactional: true,
      async run() {
        runs++;
      },
    });
    await enqueue(h.database.db, { workspaceId: null, kind: 'test.lease', runAt: h.clock.now() });
    const crashed = new JobRunner(h.tandem.deps);
    const claimed = await crashed.claimDue(10);
    assert.equal(claimed.filter((j) => j.kind === 'test.lease').length, 1); // claimed, then the worker "dies"
    const survivor = new JobRunner(h.tandem.deps);
    await survivor.drain();
    assert.equal(runs, 0, 'leased job is not stolen');
    h.clock.advance(6 * 60_000);
    await survivor.drain();
    assert.equal(runs, 1);
  });

  it('marks a job dead after max attempts and keeps the error', async () => {
    h.tandem.deps.registry.handle('test.broken', {
      transactional: true,
      async run() {
        throw new Error('always broken');
      },
    });
    await enqueue(h.database.db, { workspaceId: null, kind: 'test.broken', runAt: h.clock.now(), maxAttempts: 3 });
    for (let i = 0; i < 3; i++) {
      await h.tandem.runner.drain();
      h.clock.advance(3600_000);
    }
    const [job] = await h.database.query<{ status: string; attempts: number; last_error: string }>(`SELECT status, attempts, last_error FROM jobs WHERE kind = 'test.broken'`);
    assert.equal(job.status, 'dead');
    assert.equal(job.attempts, 3);
    assert.match(job.last_error, /always broken/);
  });

  it('rolls back a transactional job’s work when it fails', async () => {
    const ws = await h.workspace();
    h.tandem.deps.registry.handle('test.half', {
      transactional: true,
      async run(tx, ctx) {
        await publish(tx, ctx, 'test.half_done', {});
        throw new Error('after the write');
      },
    });
    await enqueue(h.database.db, { workspaceId: ws.id, kind: 'test.half', runAt: new Date('2000-01-01T00:00:00Z'), maxAttempts: 1 });
    await h.tandem.runner.drain();
    const rows = await h.database.query<{ n: number }>(`SELECT count(*)::int AS n FROM events WHERE type = 'test.half_done'`);
    assert.equal(rows[0].n, 0);
  });
});

describe('outbox', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  it('delivers a domain event to subscribers after commit, and never when the change rolls back', async () => {
    const delivered: string[] = [];
    h.tandem.deps.registry.subscribe({
      name: 'test-sink',
      types: ['thing.happened'],
      handler: {
        transactional: false,
        async run(ctx) {
          delivered.push(String(ctx.job.payload.event_id));
        },
      },
    });
    const ws = await h.workspace();
    const ctx = { deps: h.tandem.deps, workspaceId: ws.id, asOf: new Date('2026-01-15T12:00:00Z'), actor: { type: 'system' as const } };
    await assert.rejects(
      h.database.db.transaction(async (tx) => {
        await publish(tx, ctx, 'thing.happened', { n: 1 });
        throw new Error('abort');
      }),
    );
    const evt = await h.database.db.transaction((tx) => publish(tx, ctx, 'thing.happened', { n: 2 }));
    await h.database.db.transaction((tx) => publish(tx, ctx, 'other.thing', {}));
    // The sandbox clock stands at its creation time; the delivery is due then.
    await h.tandem.runner.drain();
    assert.deepEqual(delivered, [evt.id]);
  });
});

describe('durability', () => {
  it('keeps queued jobs across a restart of the process', async () => {
    const clock = new ManualClock('2026-01-15T12:00:00Z');
    let dir: string | undefined;
    const open = async () => {
      if (testDatabaseKind() === 'postgres') return openDatabase({ url: process.env.DATABASE_URL });
      dir ??= mkdtempSync(path.join(os.tmpdir(), 'tandem-restart-'));
      return openDatabase({ dataDir: dir });
    };
    const { openTestDatabase } = await import('../../src/db/testing.ts');
    // On PostgreSQL, use a fresh database for isolation; on PGlite, a data directory on disk.
    const first = testDatabaseKind() === 'postgres' ? await openTestDatabase() : await open();
    await first.migrate();
    const t1 = await createTandem({ database: first, clock });
    const ws = await createWorkspace(t1.deps, { name: 'restart', sandbox: false });
    await enqueue(first.db, { workspaceId: ws.workspace.id, kind: 'test.persisted', runAt: clock.now(), payload: { hello: 'world' } });
    await t1.close();
    let second = first;
    if (testDatabaseKind() === 'pglite') {
      await first.close();
      second = await open();
      await second.migrate();
    }
    const t2 = await createTandem({ database: second, clock });
    const got: unknown[] = [];
    t2.deps.registry.handle('test.persisted', {
      transactional: true,
      async run(_tx, ctx) {
        got.push(ctx.job.payload);
      },
    });
    await t2.runner.drain();
    assert.deepEqual(got, [{ hello: 'world' }]);
    await t2.close();
    await second.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
});

describe('recurring jobs', () => {
  it('runs a daily job at each UTC midnight the test clock passes, re-scheduling itself', async () => {
    const h = await startHarness();
    try {
      const runs: string[] = [];
      h.tandem.deps.registry.handle('test.daily', {
        transactional: true,
        async run(_tx, ctx) {
          runs.push(ctx.asOf.toISOString());
        },
      });
      const DAY = 86_400_000;
      h.tandem.deps.registry.schedule({ kind: 'test.daily', next: (after) => new Date(Math.floor(after.getTime() / DAY) * DAY + DAY) });
      const ws = await h.workspace({ clockStart: '2026-03-01T15:00:00Z' });
      const r = await h.api(ws).post('/v1/test_clock/advance', { to: '2026-03-04T12:00:00Z' });
      assert.equal(r.status, 200);
      assert.deepEqual(runs, ['2026-03-02T00:00:00.000Z', '2026-03-03T00:00:00.000Z', '2026-03-04T00:00:00.000Z']);
      const pending = await h.database.query<{ run_at: Date }>(`SELECT run_at FROM jobs WHERE workspace_id = $1 AND kind = 'test.daily' AND status = 'pending'`, [ws.id]);
      assert.deepEqual(
        pending.map((p) => new Date(p.run_at).toISOString()),
        ['2026-03-05T00:00:00.000Z'],
      );
    } finally {
      await h.close();
    }
  });
});

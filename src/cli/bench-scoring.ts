import type { Ctx, Deps } from '../context.ts';
import { JobRegistry } from '../jobs/registry.ts';
import { JobRunner } from '../jobs/runner.ts';
import { registerSystemJobs } from '../jobs/system.ts';
import { systemClock } from '../kernel/clock.ts';
import { identityResolver } from '../modules/accounts/index.ts';
import { ingestBatch } from '../modules/events/index.ts';
import { ensureModels, refreshFirmographics, registerScoring, rescore } from '../modules/scoring/index.ts';
import { createWorkspace } from '../modules/workspaces/index.ts';
import { scratchDatabase } from './bench/ingest-server.ts';

/**
 * `tandem bench scoring`: N accounts and M product events over the last 28 days (a realistic mix
 * of sign-ins, feature use, pricing views, invites, upgrade clicks…), loaded set-based; then
 *  1. the full recompute (every account, every signal, set-based SQL) — timed;
 *  2. event → updated score latency: a background load of `rate` events/s through the real
 *     ingestion path (+ the rescore hook), while probe accounts each receive one pricing-page view
 *     and the time until their stored score changes is measured (wall clock, the worker polling
 *     as `tandem serve` does). Only scoring's jobs and ingestion listener are registered: the figure
 *     is scoring's, not the shared queue's capacity for other modules' per-event jobs.
 * Prints one JSON line.
 * PostgreSQL (DATABASE_URL): a scratch database, dropped at the end. Otherwise in-memory PGlite.
 */
const PROBE_TIMEOUT_MS = 30_000;

export async function benchScoring(opts: { accounts?: number; events?: number; rate?: number; probes?: number }) {
  const url = process.env.DATABASE_URL || undefined;
  const n = opts.accounts ?? (url ? 100_000 : 5_000);
  const m = opts.events ?? (url ? 10_000_000 : 250_000);
  const rate = opts.rate ?? 1000;
  const probes = opts.probes ?? 200;
  const log = (msg: string) => process.stderr.write(`bench scoring: ${msg}\n`);
  // A scratch database next to the configured one (dropped at the end), or in-memory PGlite.
  const scratch = await scratchDatabase('scoring', { memory: true });
  const database = await scratch.open(12);
  try {
    await database.migrate();
    const say = (level: string) => (obj: object | string, msg?: string) => log(`${level} ${msg ?? ''} ${typeof obj === 'string' ? obj : JSON.stringify(obj)}`);
    const registry = new JobRegistry();
    registerSystemJobs(registry);
    registerScoring(registry);
    const t = { deps: { database, clock: systemClock, registry, log: { info: say('info'), warn: say('warn'), error: say('error'), debug() {} } } as Deps, runner: undefined as unknown as JobRunner };
    t.runner = new JobRunner(t.deps);
    const now = t.deps.clock.now();
    // A live workspace: its clock is the wall clock, like production.
    const created = await createWorkspace(t.deps, { name: 'Bench scoring', sandbox: false });
    const w = created.workspace.id;
    const ctx = (): Ctx => ({ deps: t.deps, workspaceId: w, asOf: t.deps.clock.now(), actor: { type: 'cli' } });
    const setup0 = performance.now();
    const total = n + probes;
    await database.query(
      `INSERT INTO accounts (id, workspace_id, external_id, name, status, employees, industry, traits, created_at, updated_at)
       SELECT 'acct_b' || lpad(i::text, 8, '0'), $1, 'ext-' || i, 'Company ' || i, 'active',
              (ARRAY[3, 12, 40, 90, 180, 400, 900, 2500])[1 + i % 8], (ARRAY['Software', 'Retail', 'Education', 'Financial Services', 'Healthcare'])[1 + i % 5],
              CASE WHEN i % 3 = 0 THEN '{"tech_stack": ["segment", "aws"]}'::jsonb ELSE '{}'::jsonb END, $2::timestamptz - interval '60 days', $2::timestamptz - interval '60 days'
       FROM generate_series(1, $3::int) i`,
      [w, now.toISOString(), total],
    );
    // PostgreSQL: product_events' secondary indexes are dropped for the load and rebuilt after
    // from their own definitions (a sorted build is several times faster than 10M random
    // inserts into the account index); the timed part runs on exactly the schema's indexes.
    const indexes = url
      ? await database.query<{ name: string; def: string }>(
          `SELECT i.indexname AS name, i.indexdef AS def FROM pg_indexes i
           WHERE i.schemaname = current_schema() AND i.tablename = 'product_events'
             AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)`,
        )
      : [];
    for (const ix of indexes) await database.query(`DROP INDEX ${ix.name}`);
    const CHUNK = 1_000_000;
    for (let lo = 1; lo <= m; lo += CHUNK) {
      const hi = Math.min(m, lo + CHUNK - 1);
      await database.query(
        `INSERT INTO product_events (id, workspace_id, message_id, type, event, user_id, account_id, timestamp, received_at, properties)
         SELECT 'pev_b' || lpad(g::text, 10, '0'), $1, 'b' || g,
                CASE WHEN r < 0.03 THEN 'page' ELSE 'track' END,
                CASE WHEN r < 0.03 THEN 'Pricing' WHEN r < 0.63 THEN 'Signed In' WHEN r < 0.83 THEN 'Feature Used' WHEN r < 0.88 THEN 'Pricing Page Viewed'
                     WHEN r < 0.91 THEN 'Invite Sent' WHEN r < 0.93 THEN 'Upgrade Clicked' WHEN r < 0.95 THEN 'Paywall Hit'
                     WHEN r < 0.96 THEN 'Support Ticket Created' WHEN r < 0.97 THEN 'Enterprise Feature Viewed' ELSE 'Account Added User' END,
                'u' || a || '-' || (g % 7), 'acct_b' || lpad(a::text, 8, '0'), ts, ts,
                CASE WHEN r < 0.03 THEN '{"path": "/pricing"}'::jsonb
                     WHEN r >= 0.63 AND r < 0.83 THEN jsonb_build_object('feature', 'f' || (g % 12), 'team', 't' || (g % 3))
                     ELSE jsonb_build_object('team', 't' || (g % 3)) END
         FROM (SELECT g, random() AS r, 1 + floor(random() * $3::int)::int AS a,
                      $2::timestamptz - floor(random() * 28 * 86400)::int * interval '1 second' - interval '1 second' AS ts
               FROM generate_series($4::int, $5::int) g) s`,
        [w, now.toISOString(), n, lo, hi],
      );
      log(`${hi.toLocaleString('en-US')} / ${m.toLocaleString('en-US')} events loaded`);
    }
    if (indexes.length) {
      for (const ix of indexes) await database.query(`BEGIN; SET LOCAL maintenance_work_mem = '1GB'; ${ix.def}; COMMIT`);
      log(`${indexes.length} product_events indexes rebuilt`);
    }
    if (url) await database.query('ANALYZE');
    const setupS = (performance.now() - setup0) / 1000;

    // Signup: default model and fit for every account (what account.created does one by one).
    await ensureModels(ctx());
    await refreshFirmographics(ctx());

    log('full recompute…');
    const r0 = performance.now();
    const stats = await rescore(ctx(), { reason: 'recompute' });
    const fullS = (performance.now() - r0) / 1000;
    const r1 = performance.now();
    const again = await rescore(ctx(), { reason: 'recompute' });
    const unchangedS = (performance.now() - r1) / 1000;
    log(`full recompute ${fullS.toFixed(2)} s (${stats.changed} scores written); again ${unchangedS.toFixed(2)} s (${again.changed} written)`);

    const [model] = await ensureModels(ctx());
    t.runner.start();
    let bgSent = 0;
    let stop = false;
    const ingest = async (batch: Record<string, unknown>[]) => {
      const c = ctx();
      const body = { batch };
      // The real ingestion path: it notifies scoring (afterIngest → dirty set + debounced flush) after commit.
      await ingestBatch(c, { body, bytes: JSON.stringify(body).length }, identityResolver);
      t.runner.notify(); // as the HTTP app does after a request
    };
    const names = ['Signed In', 'Feature Used', 'Pricing Page Viewed', 'Upgrade Clicked', 'Invite Sent'];
    let backgroundError: unknown;
    const background = (async () => {
      const tick = 100;
      const per = Math.max(1, Math.round((rate * tick) / 1000));
      while (!stop) {
        const started = performance.now();
        const batch = Array.from({ length: per }, () => {
          const a = 1 + Math.floor(Math.random() * n);
          return { type: 'track', event: names[bgSent % names.length], userId: `u${a}-0`, messageId: `bg-${bgSent++}`, properties: { feature: `f${bgSent % 12}` }, context: { groupId: `ext-${a}` } };
        });
        await ingest(batch);
        const wait = tick - (performance.now() - started);
        if (wait > 0) await new Promise((res) => setTimeout(res, wait));
      }
    })().catch((e) => {
      backgroundError = e;
      stop = true;
    });
    const latencies: number[] = [];
    let timedOut = 0;
    try {
      await new Promise((res) => setTimeout(res, 3000)); // let the load settle
      for (let p = 0; p < probes; p++) {
        const account = `acct_b${String(n + 1 + p).padStart(8, '0')}`;
        const read = async () => (await database.query<{ total: string }>('SELECT total FROM scoring_scores WHERE workspace_id = $1 AND model_id = $2 AND account_id = $3', [w, model.id, account]))[0]?.total;
        const before = await read();
        const t0 = performance.now();
        await ingest([{ type: 'track', event: 'Pricing Page Viewed', userId: `probe-${p}`, messageId: `probe-${p}`, context: { groupId: `ext-${n + 1 + p}` } }]);
        let changed = false;
        while (performance.now() - t0 < PROBE_TIMEOUT_MS) {
          if (backgroundError) throw backgroundError;
          if ((await read()) !== before) {
            changed = true;
            break;
          }
          await new Promise((res) => setTimeout(res, 5));
        }
        // A probe that times out counts as the timeout (the p99 then reads "at least"), and is reported.
        if (!changed) timedOut++;
        latencies.push(Math.min(performance.now() - t0, PROBE_TIMEOUT_MS));
        await new Promise((res) => setTimeout(res, 100));
      }
    } catch (e) {
      const failed = await database.query<{ kind: string; status: string; attempts: number; last_error: string }>(
        `SELECT kind, status, attempts, last_error FROM jobs WHERE workspace_id = $1 AND last_error IS NOT NULL ORDER BY created_at DESC LIMIT 5`,
        [w],
      );
      for (const f of failed) log(`job ${f.kind} ${f.status} after ${f.attempts} attempts: ${f.last_error}`);
      const open = await database.query<{ kind: string; status: string; run_at: Date; n: number }>(
        `SELECT kind, status, min(run_at) AS run_at, count(*)::int AS n FROM jobs WHERE workspace_id = $1 AND status IN ('pending', 'running') GROUP BY 1, 2`,
        [w],
      );
      for (const j of open) log(`open jobs: ${j.n} × ${j.kind} ${j.status} from ${new Date(j.run_at).toISOString()} (now ${t.deps.clock.now().toISOString()})`);
      const dirty = await database.query<{ n: number }>('SELECT count(*)::int AS n FROM scoring_dirty_accounts WHERE workspace_id = $1', [w]);
      log(`dirty accounts waiting: ${dirty[0].n}`);
      const probe = await database.query('SELECT account_id, timestamp, received_at FROM product_events WHERE workspace_id = $1 AND message_id = $2', [w, 'probe-0']);
      log(`probe-0 event: ${JSON.stringify(probe)}`);
      const sc = await database.query('SELECT total, computed_at, changed_at, signals FROM scoring_scores WHERE workspace_id = $1 AND account_id = $2', [w, `acct_b${String(n + 1).padStart(8, '0')}`]);
      log(`probe-0 score: ${JSON.stringify(sc)}`);
      throw e;
    } finally {
      stop = true;
      await background;
    }
    await t.runner.stop();
    latencies.sort((a, b) => a - b);
    const pct = (q: number) => latencies[Math.min(latencies.length - 1, Math.ceil(q * latencies.length) - 1)];
    const out = {
      accounts: n,
      events: m,
      full_recompute_s: Number(fullS.toFixed(2)),
      event_to_score_p99_ms: Math.round(pct(0.99)),
      event_to_score_p50_ms: Math.round(pct(0.5)),
      full_recompute_unchanged_s: Number(unchangedS.toFixed(2)),
      background_events_per_s: rate,
      background_events_sent: bgSent,
      probes: latencies.length,
      probes_timed_out: timedOut,
      database: database.kind,
      setup_s: Number(setupS.toFixed(2)),
    };
    process.stdout.write(`${JSON.stringify(out)}\n`);
  } finally {
    await database.close();
    await scratch.drop();
  }
}

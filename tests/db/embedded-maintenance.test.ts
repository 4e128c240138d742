import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import type { Database } from '../../src/db/client.ts';
import {
  AUTOVACUUM_DEFAULTS,
  embeddedMaintenanceIntervalMs,
  plannedAction,
  quoteIdent,
  readTableActivity,
  runEmbeddedMaintenance,
  startEmbeddedMaintenance,
  type TableActivity,
} from '../../src/db/maintenance.ts';
import { openTestDatabase, testDatabaseKind } from '../../src/db/testing.ts';

// A name that needs quoting (capitals, a space, a double quote): the statements must quote it right.
const CHURN = 'Maint "churn" t';
const QUIET = 'maint_quiet';

interface Stat {
  n_dead_tup: number;
  n_live_tup: number;
  last_vacuum: unknown;
  last_analyze: unknown;
  reltuples: number;
}

async function stat(database: Database, table: string): Promise<Stat> {
  await database.query('SELECT pg_stat_force_next_flush()');
  const [r] = await database.query<Stat>(
    `SELECT s.n_dead_tup, s.n_live_tup, s.last_vacuum, s.last_analyze, c.reltuples::float8 AS reltuples
     FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid WHERE s.schemaname = 'public' AND s.relname = $1`,
    [table],
  );
  assert.ok(r, `no statistics row for ${table}`);
  return r;
}

/** 500 rows, every row updated 5 times: up to 2,500 dead tuples, far past 50 + 0.2 × 500 = 150. */
async function churn(database: Database, table: string): Promise<void> {
  const t = quoteIdent(table);
  await database.query(`CREATE TABLE ${t} (id int PRIMARY KEY, n int NOT NULL)`);
  await database.query(`INSERT INTO ${t} SELECT g, 0 FROM generate_series(1, 500) g`);
  for (let i = 0; i < 5; i++) await database.query(`UPDATE ${t} SET n = n + 1`);
}

const activeTimeouts = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

describe('plannedAction: autovacuum default thresholds', () => {
  const base: TableActivity = { schema: 'public', table: 't', reltuples: 500, deadTuples: 0, insertedSinceVacuum: 0, modifiedSinceAnalyze: 0, xidAge: 10, bytes: 8192 };
  it('vacuums past 50 + 0.2 × reltuples dead tuples, not at it', () => {
    assert.equal(plannedAction({ ...base, deadTuples: 150 }), null);
    assert.equal(plannedAction({ ...base, deadTuples: 151 }), 'vacuum');
  });
  it('vacuums an insert-only table past 1000 + 0.2 × reltuples inserts', () => {
    assert.equal(plannedAction({ ...base, insertedSinceVacuum: 1100 }), null);
    assert.equal(plannedAction({ ...base, insertedSinceVacuum: 1101 }), 'vacuum');
  });
  it('analyzes past 50 + 0.1 × reltuples modified rows; both together is vacuum_analyze', () => {
    assert.equal(plannedAction({ ...base, modifiedSinceAnalyze: 100 }), null);
    assert.equal(plannedAction({ ...base, modifiedSinceAnalyze: 101 }), 'analyze');
    assert.equal(plannedAction({ ...base, deadTuples: 151, modifiedSinceAnalyze: 101 }), 'vacuum_analyze');
  });
  it('counts a never-analyzed table (reltuples -1) as empty', () => {
    assert.equal(plannedAction({ ...base, reltuples: -1, deadTuples: 51 }), 'vacuum');
    assert.equal(plannedAction({ ...base, reltuples: -1, modifiedSinceAnalyze: 50 }), null);
  });
  it('vacuums an idle table whose xid age passed autovacuum_freeze_max_age, and never analyzes pg_statistic', () => {
    assert.equal(plannedAction({ ...base, xidAge: AUTOVACUUM_DEFAULTS.freezeMaxAge + 1 }), 'vacuum');
    assert.equal(plannedAction({ ...base, schema: 'pg_catalog', table: 'pg_statistic', deadTuples: 1000, modifiedSinceAnalyze: 1000 }), 'vacuum');
  });
});

describe('TANDEM_EMBEDDED_VACUUM_MS', () => {
  it('defaults to 30 s, 0 turns it off, anything else is refused', () => {
    assert.equal(embeddedMaintenanceIntervalMs({}), 30_000);
    assert.equal(embeddedMaintenanceIntervalMs({ TANDEM_EMBEDDED_VACUUM_MS: '0' }), 0);
    assert.equal(embeddedMaintenanceIntervalMs({ TANDEM_EMBEDDED_VACUUM_MS: '5000' }), 5000);
    for (const bad of ['-1', '1.5', 'soon', '1e400']) assert.throws(() => embeddedMaintenanceIntervalMs({ TANDEM_EMBEDDED_VACUUM_MS: bad }), /TANDEM_EMBEDDED_VACUUM_MS/);
  });
});

describe(`embedded maintenance on ${testDatabaseKind()}`, () => {
  let database: Database;
  before(async () => {
    database = await openTestDatabase();
    await churn(database, CHURN);
    await database.query(`CREATE TABLE ${QUIET} (id int PRIMARY KEY)`);
    await database.query(`INSERT INTO ${QUIET} SELECT g FROM generate_series(1, 20) g`);
  });
  after(async () => {
    await database?.close();
  });

  if (testDatabaseKind() === 'postgres') {
    it('does nothing on PostgreSQL, whose autovacuum does this job', async () => {
      assert.deepEqual(await runEmbeddedMaintenance(database), []);
      const s = await stat(database, CHURN);
      // last_vacuum / last_analyze record manual runs only (autovacuum has its own columns).
      assert.equal(s.last_vacuum, null);
      assert.equal(s.last_analyze, null);
      const timers = activeTimeouts();
      const stop = startEmbeddedMaintenance(database, { intervalMs: 1, log: () => assert.fail('no pass should run') });
      assert.equal(activeTimeouts(), timers, 'no timer on PostgreSQL');
      await stop();
    });
    return;
  }

  it('vacuums and analyzes a churned table, leaves a quiet one alone, and finds nothing left on a second pass', async () => {
    const before = await stat(database, CHURN);
    // Page pruning during the updates removes some dead tuples on its own; most remain.
    assert.ok(before.n_dead_tup > 1000, `dead tuples: ${before.n_dead_tup}`);
    assert.equal(before.last_vacuum, null);

    const done = await runEmbeddedMaintenance(database);
    const mine = done.find((d) => d.table === CHURN);
    assert.ok(mine, `churned table not maintained: ${JSON.stringify(done)}`);
    assert.equal(mine.action, 'vacuum_analyze');
    assert.ok(Number.isInteger(mine.ms) && mine.ms >= 0);
    assert.ok(!done.some((d) => d.table === QUIET), 'a table under the thresholds is left alone');
    assert.ok(!done.some((d) => d.table.startsWith('drizzle.')), "drizzle's bookkeeping is not Tandem's to maintain");

    const after = await stat(database, CHURN);
    assert.equal(after.n_dead_tup, 0);
    assert.notEqual(after.last_vacuum, null);
    assert.notEqual(after.last_analyze, null);
    assert.equal(after.reltuples, 500);
    const [{ n }] = await database.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stats WHERE schemaname = 'public' AND tablename = $1`, [CHURN]);
    assert.equal(n, 2, 'the planner has statistics for both columns');

    const quiet = await stat(database, QUIET);
    assert.equal(quiet.last_vacuum, null);
    assert.equal(quiet.last_analyze, null);

    const again = await runEmbeddedMaintenance(database);
    assert.ok(!again.some((d) => d.table === CHURN), `nothing left to do on the churned table: ${JSON.stringify(again)}`);
  });

  it('a real Tandem table churned through drizzle is maintained too', async () => {
    // workspaces: insert then delete 300 rows (300 dead > 50 + 0.2 × 0).
    await database.db.execute(
      sql`INSERT INTO workspaces (id, name, sandbox, created_at)
          SELECT 'ws_maint' || g, 'maint ' || g, false, '2026-01-01T00:00:00Z' FROM generate_series(1, 300) g`,
    );
    await database.db.execute(sql`DELETE FROM workspaces WHERE id LIKE 'ws_maint%'`);
    const [row] = (await readTableActivity(database)).filter((t) => t.schema === 'public' && t.table === 'workspaces');
    assert.ok(row && row.deadTuples >= 300, `workspaces dead tuples: ${JSON.stringify(row)}`);
    const done = await runEmbeddedMaintenance(database);
    assert.ok(done.some((d) => d.table === 'workspaces' && d.action !== 'analyze'), JSON.stringify(done));
    assert.equal((await stat(database, 'workspaces')).n_dead_tup, 0);
  });

  it('waits for a drizzle transaction open on the same PGlite instead of failing inside it', async () => {
    const t = quoteIdent(CHURN);
    for (let i = 0; i < 3; i++) await database.query(`UPDATE ${t} SET n = n + 1`);
    let finished = false;
    let pass: Promise<unknown> | undefined;
    await database.db.transaction(async (tx) => {
      await tx.execute(sql.raw(`UPDATE ${t} SET n = n + 1 WHERE id <= 10`));
      pass = runEmbeddedMaintenance(database).then((r) => ((finished = true), r));
      // Keep the transaction busy for several round trips while the pass is queued behind it.
      for (let i = 0; i < 20; i++) await tx.execute(sql.raw(`SELECT count(*) FROM ${t}`));
      assert.equal(finished, false, 'the pass ran while the transaction was open');
    });
    const done = (await pass) as Awaited<ReturnType<typeof runEmbeddedMaintenance>>;
    assert.ok(done.some((d) => d.table === CHURN && d.action !== 'analyze'), JSON.stringify(done));
    assert.equal((await stat(database, CHURN)).n_dead_tup, 0);
  });

  it('catchUp vacuums and analyzes a table holding data whatever its counters (they start at zero after a restart)', async () => {
    await database.query(`CREATE TABLE maint_restarted (id int PRIMARY KEY)`);
    await database.query(`INSERT INTO maint_restarted SELECT g FROM generate_series(1, 20) g`);
    await database.query(`CREATE TABLE maint_empty (id int PRIMARY KEY)`);
    assert.ok(!(await runEmbeddedMaintenance(database)).some((d) => d.table === 'maint_restarted'), 'under the thresholds');
    const done = await runEmbeddedMaintenance(database, { catchUp: true });
    assert.ok(done.some((d) => d.table === 'maint_restarted' && d.action === 'vacuum_analyze'), JSON.stringify(done));
    assert.ok(!done.some((d) => d.table === 'maint_empty'), 'an empty table has nothing to catch up on');
    const s = await stat(database, 'maint_restarted');
    assert.notEqual(s.last_vacuum, null);
    assert.equal(s.reltuples, 20);
  });

  it('the scheduler runs passes on its timer, logs a failed pass instead of throwing, and stops', async () => {
    const t = quoteIdent(CHURN);
    for (let i = 0; i < 3; i++) await database.query(`UPDATE ${t} SET n = n + 1`);
    assert.ok((await stat(database, CHURN)).n_dead_tup > 150);
    const logged: string[] = [];
    const stop = startEmbeddedMaintenance(database, { intervalMs: 1, log: (l) => logged.push(l) });
    const deadline = Date.now() + 20_000;
    while ((await stat(database, CHURN)).n_dead_tup > 0) {
      assert.ok(Date.now() < deadline, 'no pass ran within 20 s');
      // PGlite answers within microtasks; give the event loop a turn so the timer can fire.
      await new Promise((r) => setImmediate(r));
    }
    await stop();
    assert.deepEqual(logged, []);

    // Fault injection: a database whose statistics query fails. Two failures logged = the timer lived on.
    const broken: Database = { ...database, query: async () => Promise.reject(new Error('statistics unavailable')) };
    const failures: string[] = [];
    const stopBroken = startEmbeddedMaintenance(broken, { intervalMs: 1, log: (l) => failures.push(l) });
    while (failures.length < 2) {
      assert.ok(Date.now() < deadline + 20_000, 'the failing pass was not logged');
      await new Promise((r) => setImmediate(r));
    }
    await stopBroken();
    assert.match(failures[0], /embedded database maintenance failed: statistics unavailable/);

    const timers = activeTimeouts();
    const off = startEmbeddedMaintenance(database, { intervalMs: 0, log: () => assert.fail('maintenance is off') });
    assert.equal(activeTimeouts(), timers, 'interval 0 starts no timer');
    await off();
  });
});

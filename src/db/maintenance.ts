import type { Database } from './client.ts';

/**
 * Vacuum and analyze for the embedded database.
 *
 * PGlite runs PostgreSQL as a single standalone backend: `SHOW autovacuum` says on, but no
 * autovacuum launcher or worker process exists, so nothing ever removes dead tuples or gathers
 * planner statistics. (Measured: 100k rows updated once, 70 s later n_dead_tup = 100000 and
 * last_autovacuum / last_autoanalyze still null; a 500-row table churned 400 times held 194,000
 * dead tuples in 13.7 MB of heap; without statistics the planner chose a nested-loop anti join
 * taking 127 ms where an index probe took 8 ms.) This module does autovacuum's job by the same
 * rules, from inside the process that owns the database. On PostgreSQL it does nothing: the
 * server's own autovacuum does this.
 */

export type MaintenanceActionKind = 'vacuum' | 'analyze' | 'vacuum_analyze';

export interface MaintenanceAction {
  /** Schema-qualified when not in public, e.g. `jobs` or `pg_catalog.pg_statistic`. */
  table: string;
  action: MaintenanceActionKind;
  ms: number;
}

/** One table's counters, as pg_stat_all_tables and pg_class report them. */
export interface TableActivity {
  schema: string;
  table: string;
  /** pg_class.reltuples; -1 (never vacuumed or analyzed) counts as 0, as autovacuum counts it. */
  reltuples: number;
  deadTuples: number;
  insertedSinceVacuum: number;
  modifiedSinceAnalyze: number;
  /** age(relfrozenxid): transactions since the table was last frozen. */
  xidAge: number;
  /** Heap size on disk: whether the table holds anything at all. */
  bytes: number;
}

/**
 * PostgreSQL's autovacuum settings at their defaults (PostgreSQL 18, which PGlite 0.5 embeds).
 * Worked example, a 500-row table: it is vacuumed once more than 50 + 0.2 × 500 = 150 of its rows
 * are dead, and analyzed once more than 50 + 0.1 × 500 = 100 rows changed since the last analyze.
 */
export const AUTOVACUUM_DEFAULTS = {
  vacuumThreshold: 50,
  vacuumScaleFactor: 0.2,
  /** PostgreSQL 18 caps the dead-tuple threshold of very large tables (autovacuum_vacuum_max_threshold). */
  vacuumMaxThreshold: 100_000_000,
  insertThreshold: 1000,
  insertScaleFactor: 0.2,
  analyzeThreshold: 50,
  analyzeScaleFactor: 0.1,
  /** autovacuum_freeze_max_age: past this a table is vacuumed whatever its counters say, against xid wraparound. */
  freezeMaxAge: 200_000_000,
} as const;

/**
 * What autovacuum would do to this table now, or null. The insert-driven rule (PostgreSQL 13+)
 * matters for append-mostly tables such as product_events: they have few dead tuples, but a
 * vacuum sets their pages all-visible (index-only scans) and freezes them before wraparound
 * forces a much larger vacuum later. PostgreSQL 18 also scales the insert threshold by the
 * unfrozen fraction of the table; counting the whole table, as here, vacuums such tables a
 * little less often than it would.
 */
export function plannedAction(t: TableActivity, s: typeof AUTOVACUUM_DEFAULTS = AUTOVACUUM_DEFAULTS): MaintenanceActionKind | null {
  const tuples = t.reltuples > 0 ? t.reltuples : 0;
  const deadLimit = Math.min(s.vacuumThreshold + s.vacuumScaleFactor * tuples, s.vacuumMaxThreshold);
  const vacuum =
    t.deadTuples > deadLimit || t.insertedSinceVacuum > s.insertThreshold + s.insertScaleFactor * tuples || t.xidAge > s.freezeMaxAge;
  // Autovacuum never analyzes pg_statistic (analyzing it would rewrite itself); neither do we.
  const analyze = t.modifiedSinceAnalyze > s.analyzeThreshold + s.analyzeScaleFactor * tuples && !(t.schema === 'pg_catalog' && t.table === 'pg_statistic');
  if (vacuum && analyze) return 'vacuum_analyze';
  if (vacuum) return 'vacuum';
  if (analyze) return 'analyze';
  return null;
}

/** `"my ""odd"" name"`: an identifier quoted for SQL. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * The tables autovacuum would look at: Tandem's (public) and the system catalogs. The catalogs
 * are included because analyzing Tandem's tables itself rewrites pg_statistic rows (every pass
 * would otherwise leave them dead, forever), and because the database's oldest unfrozen xid is
 * the oldest over all its tables, catalogs included: only vacuuming them keeps a server that runs
 * for months clear of xid wraparound. drizzle's migration bookkeeping (schema "drizzle") is left
 * out: it changes once per migration.
 */
const ACTIVITY_SQL = `
  SELECT s.schemaname AS schema, s.relname AS table, c.reltuples::float8 AS reltuples,
         s.n_dead_tup AS dead, s.n_ins_since_vacuum AS inserted, s.n_mod_since_analyze AS modified,
         age(c.relfrozenxid) AS xid_age, pg_relation_size(c.oid) AS bytes
  FROM pg_stat_all_tables s JOIN pg_class c ON c.oid = s.relid
  WHERE s.schemaname IN ('public', 'pg_catalog') AND c.relkind IN ('r', 'm')
  ORDER BY s.schemaname DESC, s.relname`;

export async function readTableActivity(database: Database): Promise<TableActivity[]> {
  // A backend publishes its table counters at most once a second, when idle; without this flush the
  // counts read next could miss the latest writes (seen here: n_dead_tup 0 right after an update).
  await database.query('SELECT pg_stat_force_next_flush()');
  const found = await database.query<Record<string, unknown>>(ACTIVITY_SQL);
  return found.map((r) => ({
    schema: String(r.schema),
    table: String(r.table),
    reltuples: Number(r.reltuples),
    deadTuples: Number(r.dead),
    insertedSinceVacuum: Number(r.inserted),
    modifiedSinceAnalyze: Number(r.modified),
    xidAge: Number(r.xid_age),
    bytes: Number(r.bytes),
  }));
}

const STATEMENT: Record<MaintenanceActionKind, string> = { vacuum: 'VACUUM', analyze: 'ANALYZE', vacuum_analyze: 'VACUUM (ANALYZE)' };

/**
 * One maintenance pass: every table past autovacuum's thresholds is vacuumed and/or analyzed,
 * one statement at a time, yielding to the event loop between tables so requests interleave.
 * Safe while other code holds a transaction on the same PGlite: PGlite runs a top-level statement
 * only after the open transaction ends, so VACUUM waits instead of failing with "VACUUM cannot
 * run inside a transaction block". `signal` stops the pass between tables (shutdown).
 *
 * `catchUp` also vacuums and analyzes every Tandem table that holds data, whatever its counters:
 * PGlite keeps no statistics file across a restart (seen here: 5,000 dead tuples before close(),
 * 0 after reopening, even after a clean close), so bloat and missing statistics left by the
 * previous process are invisible to the thresholds. The scheduler's first pass catches up.
 */
export async function runEmbeddedMaintenance(database: Database, opts: { signal?: AbortSignal; catchUp?: boolean } = {}): Promise<MaintenanceAction[]> {
  if (database.kind !== 'pglite' || !database.pglite) return [];
  const pglite = database.pglite;
  const done: MaintenanceAction[] = [];
  const failed: string[] = [];
  for (const t of await readTableActivity(database)) {
    const action = opts.catchUp && t.schema === 'public' && t.bytes > 0 ? 'vacuum_analyze' : plannedAction(t);
    if (!action) continue;
    if (opts.signal?.aborted) break;
    const name = t.schema === 'public' ? t.table : `${t.schema}.${t.table}`;
    const t0 = performance.now();
    try {
      // exec: one statement by the simple protocol, outside any transaction (a multi-statement
      // string would run as one implicit transaction block, where VACUUM is refused).
      await pglite.exec(`${STATEMENT[action]} ${quoteIdent(t.schema)}.${quoteIdent(t.table)}`);
      done.push({ table: name, action, ms: Math.round(performance.now() - t0) });
    } catch (e) {
      // One table failing must not starve the tables after it on every later pass.
      failed.push(`${name}: ${(e as Error)?.message ?? String(e)}`);
    }
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  if (failed.length) throw new Error(`maintenance failed on ${failed.join('; ')} (done: ${done.map((d) => d.table).join(', ') || 'none'})`);
  return done;
}

export const DEFAULT_EMBEDDED_VACUUM_MS = 30_000;

/** TANDEM_EMBEDDED_VACUUM_MS: milliseconds between passes; 0 turns them off. Throws on anything else. */
export function embeddedMaintenanceIntervalMs(env: Record<string, string | undefined> = process.env): number {
  const text = env.TANDEM_EMBEDDED_VACUUM_MS;
  if (text === undefined || text.trim() === '') return DEFAULT_EMBEDDED_VACUUM_MS;
  const ms = Number(text);
  if (!Number.isSafeInteger(ms) || ms < 0) throw new Error(`TANDEM_EMBEDDED_VACUUM_MS must be a whole number of milliseconds (0 turns maintenance off); got '${text}'`);
  return ms;
}

/**
 * Runs `runEmbeddedMaintenance` every `intervalMs` on a PGlite database; nothing on PostgreSQL or
 * with intervalMs 0. A wall-clock timer (infrastructure, like the job runner's poll timer, not
 * domain time), unref'd so it never keeps the process alive. The next pass is scheduled only when
 * the previous one has ended, so two never overlap; a failed pass is logged and the timer goes on.
 * The first pass catches up on what the previous process left (see `catchUp`).
 * The returned stop function ends the pass in progress between tables and resolves when it has
 * ended, so the database can be closed right after.
 */
export function startEmbeddedMaintenance(database: Database, opts: { intervalMs: number; log: (line: string) => void }): () => Promise<void> {
  if (database.kind !== 'pglite' || opts.intervalMs <= 0) return async () => undefined;
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> | undefined;
  let first = true;
  const schedule = () => {
    if (abort.signal.aborted) return;
    timer = setTimeout(tick, opts.intervalMs);
    timer.unref();
  };
  const tick = () => {
    const catchUp = first;
    first = false;
    inFlight = runEmbeddedMaintenance(database, { signal: abort.signal, catchUp })
      .then(
        () => undefined,
        (e: unknown) => opts.log(`tandem: embedded database maintenance failed: ${(e as Error)?.message ?? String(e)}`),
      )
      .finally(() => {
        inFlight = undefined;
        schedule();
      });
  };
  schedule();
  return async () => {
    abort.abort();
    if (timer) clearTimeout(timer);
    await inFlight;
  };
}

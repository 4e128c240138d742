import { sql } from 'drizzle-orm';
import type { Db } from '../../context.ts';
import { numberedSql, rows } from '../../db/sql.ts';

const run = (db: Db, text: string, params: unknown[]) => rows(db, numberedSql(text, params));

/**
 * Usage rollups (tables usage_rollups, usage_rollup_values): per (metric, account, UTC hour),
 * the count, sum, max and latest numeric value of the metric's matching events, and for
 * unique_count metrics the distinct values. `usageForPeriods` reads whole hours here and only
 * the partial hours at a period's edges from product_events.
 *
 * The rollups are written by the very statement that writes the events, from that statement's
 * own RETURNING rows: an insert counts only the rows it actually inserted (a duplicate
 * messageId is skipped by ON CONFLICT DO NOTHING, returns nothing, and so adds nothing), an
 * attachment only the rows it actually moved from "no account" to an account. Exactly-once is
 * then the database's: the events and their rollup rows commit or roll back together.
 *
 * Which metrics an event feeds is decided in the same statement, from billable_metrics and
 * billable_metric_filters as the statement sees them — never from a cache that a new metric
 * could be missing from. A metric created after events exist is backfilled in its creating
 * transaction (`backfillMetricRollups`), which first waits for in-flight writers.
 *
 * Filter semantics are the catalog's (`matchesFilter`): eq/in hit when the property's text
 * is one of the values; neq/not_in when it is not (a missing property included):
 *   coalesce(properties->>p = ANY(values), false) must equal (operator IN ('eq', 'in')).
 * Numeric values (sum, max, latest) are property texts matching NUMERIC; others are skipped.
 * Each row carries only what its metric's aggregation reads (a count metric's row: the count;
 * the latest event is kept for latest metrics only).
 */

/** A numeric property text: same test as the catalog's `numericValue` for decimal strings. */
export const NUMERIC = `^-?[0-9]+(\\.[0-9]+)?$`;
const NUMERIC_LITERAL = `'${NUMERIC}'`;

/** The UTC hour an instant falls in (date_bin does not depend on the session's time zone). */
const bucketOf = (ts: string) => `date_bin('1 hour', ${ts}, TIMESTAMPTZ '2000-01-01 00:00:00+00')`;
export const HOUR_MS = 3_600_000;

/**
 * The rows this connection writes (see the schema: concurrent connections write different rows).
 * A pool's connections usually start together and get nearby pids: modulo 64, any 64 consecutive
 * pids write different rows (modulo 16, pids 16 apart shared rows and waited on each other).
 */
const SHARD = `(pg_backend_pid() % 64)::smallint`;

/**
 * Folding one rollup row (`excluded`) into another (`r`): counts and sums add, max is the
 * greater, latest the more recent by (timestamp, id) — the order `usageForPeriods` uses.
 */
const newer = `excluded.latest_at IS NOT NULL AND (r.latest_at IS NULL OR (excluded.latest_at, excluded.latest_id) > (r.latest_at, r.latest_id))`;
const FOLD = `ON CONFLICT (workspace_id, account_id, metric_id, bucket_start, shard) DO UPDATE SET
        event_count = r.event_count + excluded.event_count,
        sum = r.sum + excluded.sum,
        max = greatest(r.max, excluded.max),
        latest_at = CASE WHEN ${newer} THEN excluded.latest_at ELSE r.latest_at END,
        latest_id = CASE WHEN ${newer} THEN excluded.latest_id ELSE r.latest_id END,
        latest_value = CASE WHEN ${newer} THEN excluded.latest_value ELSE r.latest_value END`;

/**
 * CTEs adding the rows of `source` to the rollups, to follow the caller's own
 * `WITH source AS (INSERT|UPDATE … RETURNING id, type, event, account_id, timestamp, properties)`.
 * `ws` is the placeholder of the workspace id; `onlyMetric`, when given, the placeholder of
 * the one metric to roll up (a backfill).
 *
 * The workspace's metrics and their filters are read once per statement (MATERIALIZED: not one
 * index probe per event). Cost when no metric names these events: those two small reads and a
 * join that matches nothing; no write. Upserts go in key order, so two concurrent
 * statements touching the same hours lock the rows in the same order and cannot deadlock on them.
 *
 * Cost per row (ingest runs this for every batch): the numeric test runs once per hit
 * (rollup_hits is materialized: it is read twice). The latest event of each (account, metric,
 * hour) is picked by one row_number() over the sort the grouping needs anyway — ordered
 * aggregates (array_agg(… ORDER BY …)[1]) would start three sorts per row, latest metric or not.
 * The upserts return nothing (no one reads them).
 */
export function rollupCtes(source: string, ws: string, onlyMetric?: string): string {
  return `rollup_metrics AS MATERIALIZED (
      SELECT id, event_name, property, aggregation FROM billable_metrics
      WHERE workspace_id = ${ws}${onlyMetric ? ` AND id = ${onlyMetric}` : ''}),
    rollup_filters AS MATERIALIZED (
      SELECT metric_id, property, values, operator IN ('eq', 'in') AS hit FROM billable_metric_filters
      WHERE metric_id IN (SELECT id FROM rollup_metrics)),
    rollup_hits AS (
      SELECT m.id AS metric_id, m.aggregation, e.account_id, ${bucketOf('e.timestamp')} AS bucket, e.timestamp, e.id,
             e.properties ->> m.property AS v,
             CASE WHEN m.aggregation IN ('sum', 'max', 'latest') AND e.properties ->> m.property ~ ${NUMERIC_LITERAL}
                  THEN (e.properties ->> m.property)::numeric END AS num
      FROM ${source} e JOIN rollup_metrics m ON m.event_name = e.event
      WHERE e.type = 'track' AND e.account_id IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM rollup_filters f WHERE f.metric_id = m.id
              AND coalesce(e.properties ->> f.property = ANY(f.values), false) <> f.hit)),
    rollup_ranked AS (
      SELECT h.*, aggregation = 'latest' AND num IS NOT NULL AS has_latest,
             row_number() OVER (PARTITION BY account_id, metric_id, bucket
                                ORDER BY aggregation = 'latest' AND num IS NOT NULL DESC, timestamp DESC, id DESC) AS rank
      FROM rollup_hits h),
    rollup_rows AS (
      INSERT INTO usage_rollups AS r (workspace_id, account_id, metric_id, bucket_start, shard, event_count, sum, max, latest_at, latest_id, latest_value)
      SELECT ${ws}::text, account_id, metric_id, bucket, ${SHARD}, count(*), coalesce(sum(num), 0), max(num),
             max(timestamp) FILTER (WHERE rank = 1 AND has_latest),
             max(id) FILTER (WHERE rank = 1 AND has_latest),
             max(num) FILTER (WHERE rank = 1 AND has_latest)
      FROM rollup_ranked GROUP BY account_id, metric_id, bucket ORDER BY account_id, metric_id, bucket
      ${FOLD}),
    rollup_values AS (
      INSERT INTO usage_rollup_values (workspace_id, account_id, metric_id, bucket_start, value, shard)
      SELECT ${ws}::text, d.*, ${SHARD} FROM (SELECT DISTINCT account_id, metric_id, bucket, v FROM rollup_hits
                                    WHERE aggregation = 'unique_count' AND v IS NOT NULL) d
      ORDER BY 2, 3, 4, 5
      ON CONFLICT DO NOTHING)`;
}

/** The columns `rollupCtes` reads from its source, for the RETURNING clause. */
export const ROLLUP_SOURCE_COLUMNS = 'id, type, event, account_id, timestamp, properties';

/**
 * ROLLUP_SOURCE_COLUMNS for a writing statement's RETURNING list (`ws`: the placeholder of the
 * workspace id): the same columns, with `properties` only on the rows a rollup can read — tracks
 * with an account whose event some metric of the workspace names — and NULL on the others. The
 * RETURNING rows are kept in memory until the statement ends (the CTE is read more than once), so
 * a batch's properties were held a second time for every event, though only those of metered
 * events are ever read (rollup_hits joins on the event name first). The metrics are read in the
 * statement's own snapshot, as rollupCtes reads them: the two always agree.
 */
export const rollupSourceReturning = (ws: string) =>
  `id, type, event, account_id, timestamp,
   CASE WHEN type = 'track' AND account_id IS NOT NULL
             AND event = ANY (ARRAY(SELECT event_name FROM billable_metrics WHERE workspace_id = ${ws}))
        THEN properties END AS properties`;

/**
 * CTEs moving account `from`'s rollups onto account `to` (a merge re-points the events, see
 * events.repo repointAccountEvents; the rollups follow in the same statement). Hours both hold
 * are folded as above; distinct values are unioned.
 */
export function moveRollupsCtes(ws: string, from: string, to: string): string {
  return `rollup_moved AS (DELETE FROM usage_rollups WHERE workspace_id = ${ws} AND account_id = ${from} RETURNING *),
    rollup_folded AS (
      INSERT INTO usage_rollups AS r (workspace_id, account_id, metric_id, bucket_start, shard, event_count, sum, max, latest_at, latest_id, latest_value)
      SELECT workspace_id, ${to}::text, metric_id, bucket_start, shard, event_count, sum, max, latest_at, latest_id, latest_value
      FROM rollup_moved ORDER BY metric_id, bucket_start, shard
      ${FOLD}
      RETURNING 1),
    rollup_values_moved AS (DELETE FROM usage_rollup_values WHERE workspace_id = ${ws} AND account_id = ${from} RETURNING *),
    rollup_values_folded AS (
      INSERT INTO usage_rollup_values (workspace_id, account_id, metric_id, bucket_start, value, shard)
      SELECT workspace_id, ${to}::text, metric_id, bucket_start, value, shard FROM rollup_values_moved ORDER BY metric_id, bucket_start, value, shard
      ON CONFLICT DO NOTHING
      RETURNING 1)`;
}

/** The workspace's track events with an account, as a rollup source (backfills). */
const storedEvents = (ws: string, eventFilter = '') =>
  `SELECT ${ROLLUP_SOURCE_COLUMNS} FROM product_events WHERE workspace_id = ${ws} AND type = 'track' AND account_id IS NOT NULL${eventFilter}`;

/**
 * Waits for every transaction writing product_events to finish, and holds later writers until
 * this transaction ends. Why a backfill needs it (PostgreSQL, READ COMMITTED): an ingest
 * statement decides which metrics its events feed from the metrics its snapshot sees. One that
 * started before the new metric committed does not see it, and the backfill, if it read
 * product_events while that statement was uncommitted, would not see its events either — they
 * would never be counted. SHARE conflicts with the ROW EXCLUSIVE lock every INSERT/UPDATE of
 * product_events holds until its transaction ends, so: writers already running finish and
 * commit first (the backfill's next statement, with a fresh snapshot, sees their rows); writers
 * arriving later block on the table lock, which is taken before their statement's snapshot, so
 * once they run they see the committed metric and roll their own rows up. (PGlite has one
 * connection: nothing runs concurrently; the lock is then free.)
 * It stops ingestion for the length of the backfill — a metric is created once.
 */
async function holdEventWriters(db: Db): Promise<void> {
  await db.execute(sql`LOCK TABLE product_events IN SHARE MODE`);
}

/**
 * A metric created after events exist: its rollups from the events already stored. Runs inside
 * the metric's creating transaction (`db` is that transaction), after the metric and its
 * filters are inserted, so the metric and its history become visible together.
 */
export async function backfillMetricRollups(db: Db, workspaceId: string, metricId: string): Promise<void> {
  await holdEventWriters(db);
  await run(
    db,
    `WITH source AS (${storedEvents('$1', ' AND event = (SELECT event_name FROM billable_metrics WHERE workspace_id = $1 AND id = $2)')}),
     ${rollupCtes('source', '$1', '$2')}
     SELECT 1`,
    [workspaceId, metricId],
  );
}

/**
 * Recomputes every rollup of a workspace from its stored events, in one transaction — for
 * events written to product_events by something other than the ingest statements (bulk loads).
 */
export async function rebuildUsageRollups(db: Db, workspaceId: string): Promise<void> {
  await db.transaction(async (tx) => {
    await holdEventWriters(tx);
    await run(tx, 'DELETE FROM usage_rollups WHERE workspace_id = $1', [workspaceId]);
    await run(tx, 'DELETE FROM usage_rollup_values WHERE workspace_id = $1', [workspaceId]);
    await run(tx, `WITH source AS (${storedEvents('$1')}), ${rollupCtes('source', '$1')} SELECT 1`, [workspaceId]);
  });
}

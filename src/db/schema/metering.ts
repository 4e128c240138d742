import { sql } from 'drizzle-orm';
import { bigint, check, numeric, pgTable, primaryKey, smallint, text } from 'drizzle-orm/pg-core';
import { instant } from './columns.ts';

/**
 * Usage rollups: per (billable metric, account, UTC hour) what the metric's matching `track`
 * events add up to, maintained by the statements that write product_events (insert, retroactive
 * attachment, merge) and backfilled when a metric is created — see modules/metering/rollups.ts.
 * A usage question reads the whole hours of its period here and only the partial hours at its
 * edges from product_events.
 *
 * Keys lead with (workspace, account) so a merge moves an account's rows with one range scan;
 * questions name (workspace, account, metric, hour range), which the same key serves. No foreign
 * keys (a lookup per upserted row on the ingest path); written by the metering SQL only.
 *
 * `shard`: the writing connection's (backend pid mod 64). Live traffic lands in the current hour,
 * so concurrent ingest statements hit the same (account, metric, hour) rows; with one row per
 * hour each would wait for the other's commit on the row lock. Per-connection rows make
 * concurrent connections write different rows; a question adds up one row per connection that
 * wrote in the hour (at most 64).
 */
export const usageRollups = pgTable(
  'usage_rollups',
  {
    workspaceId: text('workspace_id').notNull(),
    accountId: text('account_id').notNull(),
    metricId: text('metric_id').notNull(),
    /** The UTC hour [bucket_start, bucket_start + 1h) the events' timestamps fall in. */
    bucketStart: instant('bucket_start').notNull(),
    shard: smallint('shard').notNull(),
    /** Matching events. */
    eventCount: bigint('event_count', { mode: 'number' }).notNull(),
    /** Sum of the property's numeric values (0 when none). */
    sum: numeric('sum').notNull(),
    /** Largest numeric value; null when none. */
    max: numeric('max'),
    /** The most recent event (by timestamp, then id) that has a numeric value, and that value; null when none. */
    latestAt: instant('latest_at'),
    latestId: text('latest_id'),
    latestValue: numeric('latest_value'),
  },
  (t) => [
    primaryKey({ columns: [t.workspaceId, t.accountId, t.metricId, t.bucketStart, t.shard] }),
    check('usage_rollups_event_count', sql`${t.eventCount} > 0`),
    check('usage_rollups_latest', sql`(${t.latestAt} IS NULL) = (${t.latestValue} IS NULL) AND (${t.latestAt} IS NULL) = (${t.latestId} IS NULL)`),
  ],
);

/** unique_count metrics: the distinct text values of the property seen per (metric, account, hour). */
export const usageRollupValues = pgTable(
  'usage_rollup_values',
  {
    workspaceId: text('workspace_id').notNull(),
    accountId: text('account_id').notNull(),
    metricId: text('metric_id').notNull(),
    bucketStart: instant('bucket_start').notNull(),
    value: text('value').notNull(),
    shard: smallint('shard').notNull(),
  },
  (t) => [primaryKey({ columns: [t.workspaceId, t.accountId, t.metricId, t.bucketStart, t.value, t.shard] })],
);

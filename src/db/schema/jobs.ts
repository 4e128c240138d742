import { sql } from 'drizzle-orm';
import { bigint, check, index, jsonb, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { instant } from './columns.ts';

/**
 * The durable job queue and scheduler. A job is due at `run_at`, measured on its workspace's
 * clock (the test clock for a sandbox workspace, wall time otherwise). Workers claim jobs with
 * FOR UPDATE SKIP LOCKED; a claim is a lease (`locked_until`) so a crashed worker's jobs are
 * picked up again.
 */
export const jobs = pgTable(
  'jobs',
  {
    id: text('id').primaryKey(),
    /** null for system jobs that belong to no workspace (they run on wall time). */
    workspaceId: text('workspace_id'),
    kind: text('kind').notNull(),
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull().default({}),
    runAt: instant('run_at').notNull(),
    status: text('status').notNull().default('pending'),
    attempts: bigint('attempts', { mode: 'number' }).notNull().default(0),
    maxAttempts: bigint('max_attempts', { mode: 'number' }).notNull().default(10),
    /** Makes enqueueing idempotent: one job per (workspace, dedupe key), ever. */
    dedupeKey: text('dedupe_key'),
    /** At most one fresh pending job (never attempted) per (workspace, debounce key); see EnqueueInput.debounceKey. */
    debounceKey: text('debounce_key'),
    lockedBy: text('locked_by'),
    lockedUntil: instant('locked_until'),
    lastError: text('last_error'),
    createdAt: instant('created_at').notNull(),
    finishedAt: instant('finished_at'),
  },
  (t) => [
    index('jobs_due').on(t.status, t.runAt).where(sql`${t.status} IN ('pending', 'running')`),
    index('jobs_workspace_due').on(t.workspaceId, t.runAt).where(sql`${t.status} IN ('pending', 'running')`),
    uniqueIndex('jobs_dedupe').on(sql`coalesce(${t.workspaceId}, '')`, t.dedupeKey).where(sql`${t.dedupeKey} IS NOT NULL`),
    uniqueIndex('jobs_debounce').on(sql`coalesce(${t.workspaceId}, '')`, t.debounceKey).where(sql`${t.debounceKey} IS NOT NULL AND ${t.status} = 'pending' AND ${t.attempts} = 0`),
    check('jobs_status', sql`${t.status} IN ('pending', 'running', 'done', 'dead')`),
    check('jobs_attempts', sql`${t.attempts} >= 0 AND ${t.maxAttempts} >= 1`),
  ],
);

/**
 * Domain events (the outbox). Written in the same transaction as the change they describe;
 * delivery to consumers (webhooks, other modules) happens after commit, through jobs.
 */
export const events = pgTable(
  'events',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id').notNull(),
    type: text('type').notNull(),
    data: jsonb('data').$type<Record<string, unknown>>().notNull(),
    /** The domain time of the change (the workspace's clock). */
    occurredAt: instant('occurred_at').notNull(),
    createdAt: instant('created_at').notNull(),
  },
  (t) => [index('events_workspace').on(t.workspaceId, t.id), index('events_type').on(t.workspaceId, t.type, t.id)],
);

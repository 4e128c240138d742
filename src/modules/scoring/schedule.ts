/**
 * When scoring runs.
 *
 * - Per event: after ingestion commits, the `afterIngest` listener (register.ts) calls
 *   `scheduleRescore`: the touched accounts join the workspace's dirty set and one `scoring.flush`
 *   job is queued 200 ms later, debounced (at most one pending per workspace): a burst of events
 *   costs one job, and each account is rescored once per flush, set-based. Events arriving while a
 *   flush runs queue the next one. Example: an event at 12:00:00.130 → flush due at .330.
 *   Pacing under load: a flush costs about a millisecond per dirty account on PostgreSQL (it
 *   reads each one's signal windows), whatever the number of new events. Under sustained heavy
 *   ingestion every account is dirty at every flush and flushes run back to back, taking CPU
 *   from ingestion. So a flush longer than the database's free allowance holds the next one
 *   back (`paceFlushes`) by PACE_FACTOR × the excess: flushing then takes at most ~1/3 of the
 *   time, and freshness degrades to a few seconds instead of ingestion slowing down.
 *   - PostgreSQL (PACE_FREE_MS.postgres = 500): a flush runs on its own backends, beside the
 *     ingestion. At the rate the event → score target is set for (1,000 events/s over 100k
 *     accounts) flushes take ~250 ms: no pause. A 2,000 ms flush ending at 12:00:02.000 → the
 *     next no sooner than 12:00:05.000 (2 × (2,000 − 500) ms later).
 *   - PGlite (50): one thread runs the database, the HTTP server and the jobs, so every
 *     millisecond of flushing is one that ingestion and API calls wait; a 290 ms flush is
 *     followed by 480 ms without one.
 *   The duration is read from the process clock (deps.clock), so a test's manual clock, which
 *   does not move during a flush, never pauses anything.
 * - Fallback sweep (`scoring.sweep`, every minute): rescores accounts with product events stored
 *   since its watermark, in case an ingestion path does not call the hook. In a sandbox it stops
 *   when it finds nothing new (simulated time jumps; a year of idle minutes would be 525,600
 *   jobs) and is re-armed by the next daily recompute, signup or hook call. Its watermark starts
 *   at the newest event stored when scoring was first used (`startSweep`): older events are the
 *   recompute's, signup's or first read's to score — a sweep from the first event ever would
 *   rescore every account of a workspace that had ingested for months, 20,000 events per second
 *   (at 10M events, the first sweep alone rescored 18,000 accounts in one job, holding up the
 *   per-event flushes behind it for seconds).
 * - Daily full recompute (`scoring.recompute`, 00:00 UTC): every account, so windows slide and
 *   decay applies; it re-arms itself while any account still has events inside a window.
 *
 * These are armed per workspace when scoring is first used (default model created, an account
 * signs up, an event is scored) rather than through `registry.schedule`, so a workspace that never
 * scores anything runs no scoring jobs.
 */
import type { Ctx, Db } from '../../context.ts';
import { deferDebounced, enqueue } from '../../jobs/queue.ts';
import { execIn } from '../events/index.ts';
import * as repo from './scoring.repo.ts';

export const RESCORE_DELAY_MS = 200;
/** Flush time allowed before pacing starts, per database kind (see "Pacing under load"). */
export const PACE_FREE_MS = { postgres: 500, pglite: 50 } as const;
export const PACE_FACTOR = 2;
const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

export const nextMinute = (after: Date) => new Date(Math.floor(after.getTime() / MINUTE_MS) * MINUTE_MS + MINUTE_MS);
export const nextUtcMidnight = (after: Date) => new Date(Math.floor(after.getTime() / DAY_MS) * DAY_MS + DAY_MS);

/**
 * THE HOOK: called after product events are stored (by the afterIngest listener; callable
 * directly by any other path that attaches events to accounts), with the account of each event
 * (nulls and repeats are fine), inside the caller's transaction (`tx`) or with `database.db`.
 * Two small statements; never reads product_events.
 */
export async function scheduleRescore(db: Db, input: { workspaceId: string; accountIds: readonly (string | null | undefined)[]; asOf: Date }): Promise<void> {
  const ids = [...new Set(input.accountIds.filter((a): a is string => typeof a === 'string' && a.length > 0))];
  if (ids.length === 0) return;
  await repo.markDirty(execIn(db), input.workspaceId, ids, input.asOf);
  await enqueue(db, { workspaceId: input.workspaceId, kind: 'scoring.flush', runAt: new Date(input.asOf.getTime() + RESCORE_DELAY_MS), debounceKey: 'scoring.flush', asOf: input.asOf });
}

/** The pause after a flush that took `durationMs` (see "Pacing under load"). */
export const pauseAfterFlush = (durationMs: number, kind: keyof typeof PACE_FREE_MS) => Math.max(0, durationMs - PACE_FREE_MS[kind]) * PACE_FACTOR;

/**
 * Holds the next flush of the workspace back until `notBefore`: the pending one (queued by events
 * that arrived during this flush) is moved later, or one is queued there — debounced, so events
 * arriving meanwhile join it instead of queuing an earlier one. Two small statements.
 */
export async function paceFlushes(db: Db, input: { workspaceId: string; notBefore: Date; asOf: Date }): Promise<void> {
  await deferDebounced(db, { workspaceId: input.workspaceId, kind: 'scoring.flush', debounceKey: 'scoring.flush', notBefore: input.notBefore, asOf: input.asOf });
}

/**
 * Sets the sweep's starting watermark to the newest event stored, if the workspace has no
 * scoring bookkeeping yet (scoring is used for the first time). Called when the default model is
 * created, in that transaction.
 */
export async function startSweep(db: Db, ctx: Pick<Ctx, 'workspaceId' | 'asOf'>): Promise<void> {
  const exec = execIn(db);
  if ((await exec('SELECT 1 FROM scoring_state WHERE workspace_id = $1', [ctx.workspaceId])).length) return;
  const newest = await repo.newestEventId(exec, ctx.workspaceId);
  if (newest) await repo.setState(exec, ctx.workspaceId, ctx.asOf, { watermark: newest });
}

/** Queues the next daily recompute and the next sweep (idempotent: one job per occurrence). */
export async function armScoring(db: Db, ctx: Pick<Ctx, 'workspaceId' | 'asOf'>): Promise<void> {
  await armRecompute(db, ctx);
  await armSweep(db, ctx);
}

export async function armRecompute(db: Db, ctx: Pick<Ctx, 'workspaceId' | 'asOf'>): Promise<void> {
  const day = nextUtcMidnight(ctx.asOf);
  await enqueue(db, { workspaceId: ctx.workspaceId, kind: 'scoring.recompute', runAt: day, payload: { reason: 'daily' }, dedupeKey: `scoring.recompute:${day.toISOString()}`, asOf: ctx.asOf });
}

export async function armSweep(db: Db, ctx: Pick<Ctx, 'workspaceId' | 'asOf'>, at = nextMinute(ctx.asOf)): Promise<void> {
  await enqueue(db, { workspaceId: ctx.workspaceId, kind: 'scoring.sweep', runAt: at, dedupeKey: `scoring.sweep:${at.toISOString()}`, asOf: ctx.asOf });
}

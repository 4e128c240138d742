/**
 * When scoring runs.
 *
 * - Per event: after ingestion commits, the `afterIngest` listener (register.ts) calls
 *   `scheduleRescore`: the touched accounts join the workspace's dirty set and one `scoring.flush`
 *   job is queued 200 ms later, debounced (at most one pending per workspace): a burst of events
 *   costs one job, and each account is rescored once per flush, set-based. Example: an event at
 *   12:00:00.130 → flush due at .330. Accounts marked while a flush runs are taken by a flush
 *   queued for at once when it ends (`flushDirty`, debounced apart from the events' flush), not by
 *   their own 200 ms later: under load a flush is followed at once by the next, which takes what
 *   arrived meanwhile. (Their own flush is due when a flush outlasts the debounce anyway; after a
 *   short flush, waiting for it added up to 200 ms. `bench scoring` at 20,000 accounts, alternating,
 *   a slow machine day: p99 2,552, 2,400, 3,216 and 2,861 ms at once against 1,699, 5,359, 5,402
 *   and 3,860 waiting; p50 1,045–1,741 against 1,042–1,876.)
 * - Pacing: rescoring an account reads every event in its signal windows, however few are new, so
 *   under sustained heavy ingestion — the same accounts dirty again at every flush — back-to-back
 *   flushes would re-read the same windows several times a second, taking the database from
 *   ingestion. So an account that a long flush batch (≥ MIN_HOLD_MS ÷ HOLD_FACTOR) rescores
 *   again within `hotWindow` of the previous long batch that rescored it is held
 *   (`scoring_holds`) for HOLD_FACTOR × the batch's duration: a flush meanwhile leaves it dirty,
 *   and the flush after the earliest hold ends takes it (`flushDirty` queues that flush, debounced
 *   apart from the events' flush, which it must not delay). An account still hot when its hold
 *   ends is held twice as long as the last time, up to MAX_HOLD_FACTOR × the batch's duration
 *   (`holdAccounts`): rescoring accounts that stay hot then takes at most 1 / (1 + MAX_HOLD_FACTOR)
 *   of the time — on PGlite, where re-scoring shares the one thread with ingestion, 1 / 3 of it
 *   was still the largest single cost of the ingest bench — and a hot account's score trails its
 *   events by up to its hold. Other accounts are never held, so the pacing cannot snowball (a
 *   flush of new accounts is as prompt as ever: at 1,000 events/s over 100,000 accounts, an
 *   event's account is almost never hot, and one hot once is held only HOLD_FACTOR × the batch),
 *   and light flushes write no bookkeeping at all.
 *   Example: batches of 900 ms rescoring account A end at 12:00:00.000 and 12:00:01.100 (within
 *   the hot window of 2 × 3 × 900 ms + 200 ms = 5.6 s) → A waits until 12:00:02.900; rescored
 *   by a 900 ms batch again at 12:00:03.800, it waits 3.6 s, and from then on 7.2 s.
 *   Durations come from the process clock (deps.clock): a test's manual clock, which does not
 *   move during a flush, never holds anything unless the test moves it.
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
import { enqueue } from '../../jobs/queue.ts';
import { DAY_MS } from '../../kernel/dates.ts';
import { execIn } from '../events/index.ts';
import * as work from './work.repo.ts';

export const RESCORE_DELAY_MS = 200;
/** Pacing (see above): a batch's accounts are held for HOLD_FACTOR × its duration, when that is at least MIN_HOLD_MS. */
export const HOLD_FACTOR = 2;
export const MIN_HOLD_MS = 200;

/** Holds of an account that stays hot double up to MAX_HOLD_FACTOR × the batch's duration. */
export const MAX_HOLD_FACTOR = 8;

/** How long the hot accounts of a flush batch that took `durationMs` are held at first: 0 (none) or HOLD_FACTOR × durationMs. */
export const holdAfterBatch = (durationMs: number) => (durationMs * HOLD_FACTOR >= MIN_HOLD_MS ? durationMs * HOLD_FACTOR : 0);
/** The longest hold after a batch that took `durationMs` (an account hot batch after batch). */
export const maxHoldAfterBatch = (durationMs: number) => durationMs * MAX_HOLD_FACTOR;

/**
 * An account is hot when a long batch had rescored it less than this before (a batch that took
 * `durationMs`): twice the cycle of a held account (hold, then the batch), plus the debounce.
 */
export const hotWindow = (durationMs: number) => 2 * (1 + HOLD_FACTOR) * durationMs + RESCORE_DELAY_MS;
const MINUTE_MS = 60_000;

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
  await work.markDirty(execIn(db), input.workspaceId, ids, input.asOf);
  await scheduleFlush(db, { workspaceId: input.workspaceId, at: new Date(input.asOf.getTime() + RESCORE_DELAY_MS), asOf: input.asOf, purpose: 'events' });
}

/**
 * Queues a flush of the workspace at `at`, debounced per purpose: while one for new events
 * ('events') is pending, another is a no-op (it will see the same dirty set); the one a flush
 * queues for what it left ('next': marks that arrived while it ran, or the end of a hold) is
 * debounced apart, so that it, pending for seconds until a hold ends, never makes a new event's
 * flush wait for it. Two flushes running at once take disjoint accounts (takeDirty).
 */
export async function scheduleFlush(db: Db, input: { workspaceId: string; at: Date; asOf: Date; purpose: 'events' | 'next' }): Promise<void> {
  const debounceKey = input.purpose === 'events' ? 'scoring.flush' : 'scoring.flush:next';
  await enqueue(db, { workspaceId: input.workspaceId, kind: 'scoring.flush', runAt: input.at, debounceKey, asOf: input.asOf });
}

/**
 * Sets the sweep's starting watermark to the newest event stored, if the workspace has no
 * scoring bookkeeping yet (scoring is used for the first time). Called when the default model is
 * created, in that transaction.
 */
export async function startSweep(db: Db, ctx: Pick<Ctx, 'workspaceId' | 'asOf'>): Promise<void> {
  const exec = execIn(db);
  if ((await exec('SELECT 1 FROM scoring_state WHERE workspace_id = $1', [ctx.workspaceId])).length) return;
  const newest = await work.newestEventId(exec, ctx.workspaceId);
  if (newest) await work.setState(exec, ctx.workspaceId, ctx.asOf, { watermark: newest });
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

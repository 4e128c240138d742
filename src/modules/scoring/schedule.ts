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
 *   ingestion. So every flush batch records when it rescored its accounts (`holdAccounts`), and
 *   those it rescores again within `hotWindow` of their previous rescore (after their hold, if
 *   any) are hot, and held (`scoring_holds`) until the workspace's hot release as that batch
 *   leaves it: a flush meanwhile leaves them dirty, and the flush queued for the release takes
 *   them (`flushDirty` queues it, debounced apart from the events' flush, which it must not delay).
 *   Each batch moves the release forward by HOT_REST_FACTOR × the time it spent on hot accounts,
 *   so rescoring accounts that stay hot takes at most 1 / (1 + HOT_REST_FACTOR) of the time —
 *   however the flushes cut their batches — and a hot account's score trails its events by up to
 *   (1 + HOT_REST_FACTOR) × the time it takes to rescore all of them. The time a batch spent is
 *   database time: a large batch's measure runs as two halves at once on PostgreSQL
 *   (`measureSliced`), and the time both ran counts twice. Counted by the wall clock alone, such
 *   a batch kept both cores busy for its ninth of the time: twice the database time of a batch
 *   measured in one query. (`bench ingest`, ten alternating pairs on a fast day: 28,624 events/s
 *   on average against 28,038, 61.6 µs of CPU per event against 63.4; five pairs each way —
 *   within the noise of a run. With 1,000,000 events, where the hot accounts have more events to
 *   re-read each time: 28,842 and 26,422 against 24,677 and 23,000, 61 and 67 µs against 72 and
 *   78, two pairs.) The price is freshness under sustained load: a hot account's score trails by
 *   up to 1 + 2 × HOT_REST_FACTOR times a sliced batch's duration (its halves overlapping all
 *   along). Other accounts are never held, so a flush of new accounts is as prompt as ever (at
 *   1,000 events/s over 100,000 accounts, an event's account is almost never hot).
 *   Why one release for the workspace rather than a hold per batch: holds sized by each batch's
 *   duration (2 ×, doubling up to 8 ×, for batches of 100 ms or more: the design before this one)
 *   stopped pacing once the hot accounts were spread over several batches — each batch short, its
 *   holds shorter than the time the others took, and an account rescored by short batches never
 *   held at all — and `bench ingest` spent 40–51% of the flushes' time on 1,000 hot accounts, a
 *   fifth of it in batches of 1–5 accounts.
 *   HOT_REST_FACTOR is 8, the bound the design before promised (a ninth of the time): with 3,
 *   `bench ingest` on PGlite, where rescoring shares the one thread with ingestion, ran at 1,279
 *   and 1,451 events/s against 1,598 and 1,393 for the design before; with 8, at 2,445 and 2,417
 *   against 1,594 and 1,855 (2,928 with no per-event rescoring at all).
 *   Example: 1,000 hot accounts, rescored in 900 ms, the release moved 7.2 s past the batch's
 *   end: each of them is rescored every 8.1 s, with the flushes idle eight ninths of the time.
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
/** Pacing (see above): each batch holds its hot accounts HOT_REST_FACTOR × the time it spent on them (from the workspace's release when later). */
export const HOT_REST_FACTOR = 8;
/** An account rescored again within this of its previous rescore (after its hold) is hot, whatever the batches' durations. */
export const HOT_MIN_MS = 1_000;

/**
 * An account is hot when it had been rescored less than this before a batch that took
 * `durationMs` (moved back by its hold, see `holdAccounts`): twice the cycle of a held account
 * (the rest, then the batch), plus HOT_MIN_MS.
 */
export const hotWindow = (durationMs: number) => 2 * (1 + HOT_REST_FACTOR) * durationMs + HOT_MIN_MS;
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

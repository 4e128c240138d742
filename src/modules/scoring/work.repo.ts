/**
 * What needs re-scoring, and when (see schedule.ts and register.ts): the workspace's dirty
 * accounts, the holds that pace hot ones, the scoring state (sweep watermark, last flush, sweep
 * and recompute) and the sweep's reads of new events. Every query is scoped by workspace.
 */
import { keySet, toDate, toDateOrNull } from '../../db/sql.ts';
import type { Exec } from '../events/index.ts';

const iso = (d: Date) => d.toISOString();

/**
 * Marks accounts dirty at `at`. An account already dirty keeps its first mark (and the flush that
 * mark queued). A new mark is ready at `at`, or at the end of the account's hold when that is
 * later: the hold is looked up for the accounts not yet dirty only, each through the holds'
 * primary key — as is the dirty mark (scalar subqueries: a per-key probe whatever the statistics).
 */
export async function markDirty(exec: Exec, workspaceId: string, accountIds: readonly string[], at: Date): Promise<void> {
  if (accountIds.length === 0) return;
  await exec(
    `INSERT INTO scoring_dirty_accounts (workspace_id, account_id, marked_at, ready_at)
     SELECT $1, keys.k, $2::timestamptz, greatest($2::timestamptz, (SELECT h.until FROM scoring_holds h WHERE h.workspace_id = $1 AND h.account_id = keys.k))
     FROM ${keySet('$3')}
     WHERE (SELECT true FROM scoring_dirty_accounts d WHERE d.workspace_id = $1 AND d.account_id = keys.k) IS NULL
     ON CONFLICT DO NOTHING`,
    [workspaceId, iso(at), [...accountIds]],
  );
}

/**
 * Takes (deletes and returns) up to `limit` accounts marked dirty before `before` — the instant a
 * rescore measures at: an account marked later has events that rescore could not see, and stays
 * for the next flush (which its marking queued). An account on hold (`holdAccounts`) until after
 * `before` stays too, for the flush `nextReady` schedules. Oldest marks first.
 *
 * Only the accounts that are ready are read: a range of the (workspace, ready_at) index. Under
 * sustained ingestion nearly every busy account is dirty and most are held, so this read used to
 * be every dirty account of the workspace with a look-up of its hold each — 1,000 hold probes
 * (~3,000 buffers) per flush step to take ~30 accounts on the ingest bench, and the flush's
 * bookkeeping (this, finding the next hold's end and the marking) cost more than half as much database time as
 * the rescores themselves. (Deleting the rows found may still pass over the dirty set once, when
 * the planner judges that cheaper than a look-up per account: a few pages, against a look-up of
 * a hold per dirty account before.)
 *
 * The hold of each account found is looked up again, and one that ends after `before` is not
 * taken: its `ready_at` moves to the hold's end. A mark that ran while its account's hold was
 * being placed read the previous hold and was ready too early — under the ingest bench, one
 * request's mark covers ~400 of the 1,000 accounts, and these escaped the pacing by the hundred
 * (half a cohort rescored again 0.5 s after it was held). Only the accounts found ready are looked up.
 */
export async function takeDirty(exec: Exec, workspaceId: string, limit: number, before: Date): Promise<string[]> {
  const found = await exec<{ account_id: string }>(
    `WITH found AS MATERIALIZED (
       SELECT d.account_id, (SELECT h.until FROM scoring_holds h WHERE h.workspace_id = $1 AND h.account_id = d.account_id) AS until
       FROM scoring_dirty_accounts d
       WHERE d.workspace_id = $1 AND d.ready_at <= $3::timestamptz AND d.marked_at < $3::timestamptz
       ORDER BY d.marked_at, d.account_id LIMIT $2 FOR UPDATE OF d SKIP LOCKED),
     deferred AS (
       UPDATE scoring_dirty_accounts d SET ready_at = found.until FROM found
       WHERE d.workspace_id = $1 AND d.account_id = found.account_id AND found.until > $3::timestamptz)
     DELETE FROM scoring_dirty_accounts d USING found
     WHERE d.workspace_id = $1 AND d.account_id = found.account_id AND (found.until IS NULL OR found.until <= $3::timestamptz)
     RETURNING d.account_id`,
    [workspaceId, limit, iso(before)],
  );
  return found.map((r) => r.account_id);
}

/**
 * A flush batch rescored these accounts at `at` (see schedule.ts, "Pacing"). Those already
 * rescored recently are hot: rescored since `hotSince`, moved back by their previous hold
 * (`until − rescored_at` of their row), so that an account coming out of a hold and rescored at
 * once is still hot. The others only have their rescore recorded.
 *
 * The hot accounts are held until the workspace's hot release (`scoring_state.hot_release_at`),
 * which each batch first moves forward by `restMs` × its share of hot accounts, from `at` or
 * from the release still running, whichever is later. The time spent rescoring hot accounts
 * thus buys `restMs` ÷ (batch duration) times as much time without them, however the batches
 * are cut (the hot accounts of one batch come back together, at the release as that batch left
 * it; a later batch's, at the later release).
 * Example (restMs 8 × the batch): a batch of 400 ms, all hot, ends at 12:00:01.000 → release at
 * 12:00:04.200; a batch of 200 ms at 12:00:01.500, half hot → release moved to 12:00:05.000.
 * Two batches running at once both move it: the update of the workspace's row serializes them.
 *
 * Accounts marked dirty again while the batch ran get their `ready_at` moved to the release in
 * the same statement: found by one look-up per account (OFFSET 0 keeps it a per-key index scan
 * whatever the statistics) and reached by ctid, as `attachUnmatchedEvents` does. A mark committed
 * while this statement runs may still carry the previous release: `takeDirty` looks the hold up
 * again and leaves the account. Returns the release, or null when none was hot.
 */
export async function holdAccounts(exec: Exec, workspaceId: string, accountIds: readonly string[], input: { at: Date; hotSince: Date; restMs: number }): Promise<Date | null> {
  if (accountIds.length === 0) return null;
  const [r] = await exec<{ release: unknown }>(
    `WITH rescored AS MATERIALIZED (
       SELECT keys.k AS account_id,
              coalesce((SELECT h.rescored_at >= $3::timestamptz - greatest(h.until - h.rescored_at, interval '0')
                        FROM scoring_holds h WHERE h.workspace_id = $1 AND h.account_id = keys.k), false) AS hot
       FROM ${keySet('$5')}),
     release AS MATERIALIZED (
       INSERT INTO scoring_state AS s (workspace_id, hot_release_at, updated_at)
       SELECT $1, $2::timestamptz + rest, $2::timestamptz
       FROM (SELECT $4::interval * count(*) FILTER (WHERE hot) / count(*) AS rest FROM rescored) x
       WHERE EXISTS (SELECT 1 FROM rescored WHERE hot)
       ON CONFLICT (workspace_id) DO UPDATE SET hot_release_at = greatest(s.hot_release_at, $2::timestamptz) + (EXCLUDED.hot_release_at - $2::timestamptz)
       RETURNING hot_release_at AS until),
     held AS (
       INSERT INTO scoring_holds AS h (workspace_id, account_id, until, rescored_at)
       SELECT $1, account_id, CASE WHEN hot THEN (SELECT until FROM release) ELSE $2::timestamptz END, $2::timestamptz FROM rescored ORDER BY account_id
       ON CONFLICT (workspace_id, account_id) DO UPDATE SET until = EXCLUDED.until, rescored_at = EXCLUDED.rescored_at
       RETURNING account_id, until),
     marked AS (
       SELECT m.tid, held.until FROM held,
              LATERAL (SELECT ctid AS tid FROM scoring_dirty_accounts WHERE workspace_id = $1 AND account_id = held.account_id OFFSET 0) m
       WHERE held.until > $2::timestamptz),
     moved AS (
       UPDATE scoring_dirty_accounts d SET ready_at = greatest(d.marked_at, marked.until)
       FROM marked WHERE d.ctid = marked.tid AND d.workspace_id = $1 AND d.ready_at <> greatest(d.marked_at, marked.until))
     SELECT (SELECT until FROM release) AS release`,
    [workspaceId, iso(input.at), iso(input.hotSince), `${Math.round(input.restMs)} milliseconds`, [...accountIds]],
  );
  return toDateOrNull(r?.release);
}

/**
 * Forgets holds that ended and were recorded before `before` (the daily recompute passes a day
 * ago): a hold and its rescore matter for a few batch durations (the hot window and the release,
 * seconds); rows of accounts hot once, long ago, would only take room.
 */
export async function pruneHolds(exec: Exec, workspaceId: string, before: Date): Promise<number> {
  const gone = await exec('DELETE FROM scoring_holds WHERE workspace_id = $1 AND until < $2::timestamptz AND rescored_at < $2::timestamptz RETURNING 1', [workspaceId, iso(before)]);
  return gone.length;
}

/**
 * When a flush whose instant was `after` should be followed, if any dirty account is left: the
 * first entry after `after` of the (workspace, ready_at) index — an account marked while that
 * flush ran (ready at its mark, already past: the next flush runs at once), else the earliest end
 * of a hold. Accounts marked before `after` and still dirty are held, so their ready_at is later.
 */
export async function nextReady(exec: Exec, workspaceId: string, after: Date): Promise<Date | null> {
  const [r] = await exec<{ until: unknown }>(
    `SELECT ready_at AS until FROM scoring_dirty_accounts WHERE workspace_id = $1 AND ready_at > $2::timestamptz ORDER BY ready_at LIMIT 1`,
    [workspaceId, iso(after)],
  );
  return r?.until ? toDate(r.until) : null;
}

export interface ScoringState {
  watermark: string | null;
  lastRecomputeAt: Date | null;
  lastFlushAt: Date | null;
  lastSweepAt: Date | null;
}

export async function getState(exec: Exec, workspaceId: string): Promise<ScoringState> {
  const [r] = await exec('SELECT * FROM scoring_state WHERE workspace_id = $1', [workspaceId]);
  return { watermark: (r?.sweep_watermark as string | null) ?? null, lastRecomputeAt: toDateOrNull(r?.last_recompute_at), lastFlushAt: toDateOrNull(r?.last_flush_at), lastSweepAt: toDateOrNull(r?.last_sweep_at) };
}

export async function setState(exec: Exec, workspaceId: string, at: Date, patch: { watermark?: string; recomputedAt?: Date; flushedAt?: Date; sweptAt?: Date }): Promise<void> {
  const t = (v: Date | undefined) => (v ? iso(v) : null);
  await exec(
    `INSERT INTO scoring_state (workspace_id, sweep_watermark, last_recompute_at, last_flush_at, last_sweep_at, updated_at)
     VALUES ($1, $2, $3::timestamptz, $4::timestamptz, $5::timestamptz, $6::timestamptz)
     ON CONFLICT (workspace_id) DO UPDATE SET sweep_watermark = coalesce(EXCLUDED.sweep_watermark, scoring_state.sweep_watermark),
       last_recompute_at = coalesce(EXCLUDED.last_recompute_at, scoring_state.last_recompute_at),
       last_flush_at = coalesce(EXCLUDED.last_flush_at, scoring_state.last_flush_at),
       last_sweep_at = coalesce(EXCLUDED.last_sweep_at, scoring_state.last_sweep_at), updated_at = EXCLUDED.updated_at`,
    [workspaceId, patch.watermark ?? null, t(patch.recomputedAt), t(patch.flushedAt), t(patch.sweptAt), iso(at)],
  );
}

/** The newest product event id of the workspace (ids are time-sortable): one entry of the (workspace, id) key. */
export async function newestEventId(exec: Exec, workspaceId: string): Promise<string | null> {
  const [r] = await exec<{ id: string }>('SELECT id FROM product_events WHERE workspace_id = $1 ORDER BY id DESC LIMIT 1', [workspaceId]);
  return r?.id ?? null;
}

/**
 * Accounts with product events stored after `afterId`, for the fallback sweep: a range scan of
 * the (workspace, id) primary key (ids are time-sortable), so it reads this workspace's events
 * only, however many others a shared database stores. The comparison uses the column's
 * collation so the index serves it; ids sort by time under the C collation (Tandem's databases;
 * PGlite's default).
 */
export async function accountsWithEventsAfter(exec: Exec, workspaceId: string, afterId: string, limit: number): Promise<{ accountIds: string[]; lastId: string | null; events: number }> {
  const found = await exec<{ id: string; account_id: string | null }>(
    `SELECT id, account_id FROM product_events WHERE id > $2 AND workspace_id = $1 ORDER BY id LIMIT $3`,
    [workspaceId, afterId, limit],
  );
  const accountIds = [...new Set(found.map((r) => r.account_id).filter((a): a is string => a !== null))];
  return { accountIds, lastId: found.length ? found[found.length - 1].id : null, events: found.length };
}

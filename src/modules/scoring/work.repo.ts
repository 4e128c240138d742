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
 */
export async function takeDirty(exec: Exec, workspaceId: string, limit: number, before: Date): Promise<string[]> {
  const found = await exec<{ account_id: string }>(
    `DELETE FROM scoring_dirty_accounts WHERE workspace_id = $1 AND account_id IN (
       SELECT d.account_id FROM scoring_dirty_accounts d
       WHERE d.workspace_id = $1 AND d.ready_at <= $3::timestamptz AND d.marked_at < $3::timestamptz
       ORDER BY d.marked_at, d.account_id LIMIT $2 FOR UPDATE OF d SKIP LOCKED)
     RETURNING account_id`,
    [workspaceId, limit, iso(before)],
  );
  return found.map((r) => r.account_id);
}

/**
 * A long flush batch rescored these accounts at `at`. Those a long batch had already rescored
 * recently are hot, and held; the others only have their rescore recorded. See schedule.ts,
 * "Pacing". For a hot account:
 * - its hold doubles its previous one (`until − rescored_at` of its row, counted as at most
 *   `maxHoldMs`: 0 when it was not held), from `holdMs` up to `maxHoldMs` — an account hot batch
 *   after batch is rescored ever less often, one hot once is held briefly;
 * - "recently" is since `hotSince`, moved back by twice its previous hold, so that an account
 *   coming out of a long hold and rescored again at once is still hot (its cycle is hold + batch);
 * - it is released with the latest hold of the workspace still running, if that ends later —
 *   held cohorts are released together rather than in ever smaller ones with ever shorter
 *   holds — but never later than twice its own hold after `at`: an account hot for the first
 *   time is not kept waiting as long as the cohorts that have been hot for many batches.
 * Example (holdMs 800, maxHoldMs 3,200): hot three batches in a row → held 800, 1,600, 3,200 ms.
 *
 * Accounts marked dirty again while the batch ran get their `ready_at` moved to the hold's end in
 * the same statement: found by one look-up per account (OFFSET 0 keeps it a per-key index scan
 * whatever the statistics) and reached by ctid, as `attachUnmatchedEvents` does. A mark committed
 * while this statement runs may still carry the previous hold's end: that account is rescored
 * once earlier than its pacing asks, never later.
 */
export async function holdAccounts(exec: Exec, workspaceId: string, accountIds: readonly string[], input: { at: Date; hotSince: Date; holdMs: number; maxHoldMs: number }): Promise<void> {
  if (accountIds.length === 0) return;
  // Its previous hold, no longer than the cap (an alignment may have made it longer).
  const previous = `least($5::interval, greatest(h.until - h.rescored_at, interval '0'))`;
  const hold = `least($5::interval, greatest($4::interval, 2 * ${previous}))`;
  await exec(
    `WITH latest AS MATERIALIZED (SELECT max(until) AS until FROM scoring_holds WHERE workspace_id = $1),
     held AS (
       INSERT INTO scoring_holds AS h (workspace_id, account_id, until, rescored_at) SELECT $1, a, $2::timestamptz, $2::timestamptz FROM unnest($6::text[]) AS a ORDER BY a
       ON CONFLICT (workspace_id, account_id) DO UPDATE
         SET until = CASE WHEN h.rescored_at >= $3::timestamptz - 2 * ${previous}
                          THEN greatest($2::timestamptz + ${hold}, least((SELECT until FROM latest), $2::timestamptz + 2 * ${hold}))
                          ELSE EXCLUDED.until END,
             rescored_at = EXCLUDED.rescored_at
       RETURNING account_id, until),
     marked AS (
       SELECT m.tid, held.until FROM held,
              LATERAL (SELECT ctid AS tid FROM scoring_dirty_accounts WHERE workspace_id = $1 AND account_id = held.account_id OFFSET 0) m)
     UPDATE scoring_dirty_accounts d SET ready_at = greatest(d.marked_at, marked.until)
     FROM marked WHERE d.ctid = marked.tid AND d.workspace_id = $1 AND d.ready_at <> greatest(d.marked_at, marked.until)`,
    [workspaceId, iso(input.at), iso(input.hotSince), `${Math.round(input.holdMs)} milliseconds`, `${Math.round(Math.max(input.holdMs, input.maxHoldMs))} milliseconds`, [...accountIds]],
  );
}

/**
 * Forgets holds that ended and were recorded before `before` (the daily recompute passes a day
 * ago): a hold and its rescore matter for at most a few batch durations (the hot window and the
 * cap, seconds), and `holdAccounts` reads the latest hold of the whole workspace, so rows of
 * accounts hot once, long ago, would only make that read longer.
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

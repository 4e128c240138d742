import { createHash } from 'node:crypto';
import { toDate } from '../../db/sql.ts';
import { moveRollupsCtes, rollupCtes, rollupSourceReturning } from '../metering/index.ts';
import type { Exec, MessageType, NormalizedMessage, ProductEvent, UnmatchedIdentity } from './events.ts';

/**
 * An instant sent as milliseconds since the epoch (a JSON number; null stays null), exactly: whole
 * seconds through to_timestamp (exact for integers below 2^53) plus the milliseconds as an
 * interval — a float of seconds with a fraction would be off by microseconds in far years. Why not
 * ISO text: parsing it (timestamptz_in) was ~0.8–1.2 µs of database CPU per row for the three
 * instants of a row, against ~0.1–0.4 for this (one connection, 8,000 rows per statement, three
 * rounds); the server no longer formats them (~0.6 µs per event), and the parameter is ~39 bytes
 * shorter per row. (Integer division and remainder both truncate toward zero, so a negative count
 * — before 1970: a sentAt may be — adds up the same way.)
 */
const fromEpochMs = (text: string) => `(to_timestamp(((${text})::int8 / 1000)::float8) + ((${text})::int8 % 1000) * interval '1 millisecond')`;

/**
 * The batch's rows, read from the one jsonb parameter ($2) by index. With `skipStored`, a
 * messageId already stored is skipped (ON CONFLICT DO NOTHING); without, it fails the statement
 * with a unique violation of product_events_message and nothing is written (`insertNewEvents`).
 */
const insertRowsSql = (skipStored: boolean) => `INSERT INTO product_events (id, workspace_id, message_id, type, event, user_id, anonymous_id, group_id, account_id,
                                   timestamp, received_at, sent_at, properties, traits, context)
       SELECT e->>0, $1, e->>1, e->>2, e->>3, e->>4, e->>5, e->>6, e->>7,
              ${fromEpochMs('e->>8')}, ${fromEpochMs('e->>13')}, ${fromEpochMs('e->>9')},
              nullif(e->10, 'null'::jsonb), nullif(e->11, 'null'::jsonb), nullif(e->12, 'null'::jsonb)
       FROM (SELECT $2::jsonb -> generate_series(0, jsonb_array_length($2::jsonb) - 1) AS e) AS batch${
         skipStored ? `
       ON CONFLICT (workspace_id, message_id) DO NOTHING` : ''
       }`;
const meteredSql = (skipStored: boolean) => `WITH ins AS (${insertRowsSql(skipStored)}
       RETURNING ${rollupSourceReturning('$1')}),
     ${rollupCtes('ins', '$1')}
     SELECT count(*)::int AS n FROM ins`;
/**
 * The same INSERT for a batch with no track that has an account (identity calls, unmatched page
 * views): the rollups count only those, so the statement has nothing to add to them and goes
 * without their CTEs. Measured alone on one connection, 5 rows per statement: 284 µs of database
 * CPU per statement against 725 (the identity calls' own INSERT, once per identity transaction).
 */
const unmeteredSql = (skipStored: boolean) => `WITH ins AS (${insertRowsSql(skipStored)} RETURNING 1) SELECT count(*)::int AS n FROM ins`;
/**
 * Named prepared statements on PostgreSQL: the text with its rollup CTEs is ~3 KB, and parsing
 * and planning it again for every batch was 1.3 ms of planning per call alone (pg_stat_statements,
 * 1,267 calls of the ingest bench: 1.7 s against 47 s of execution). The name carries a hash of
 * the text, so a changed statement can never meet a connection that prepared the old one.
 */
const statementName = (prefix: string, text: string) => `${prefix}_${createHash('sha256').update(text).digest('hex').slice(0, 16)}`;
const statement = (prefix: string, text: string) => ({ text, name: statementName(prefix, text) });
/** By what the batch holds (see mayBeMetered), then by how a stored messageId is met. */
const INSERT_STATEMENTS = {
  metered: { skip: statement('tandem_insert_events', meteredSql(true)), fail: statement('tandem_insert_new_events', meteredSql(false)) },
  unmetered: { skip: statement('tandem_insert_unmetered', unmeteredSql(true)), fail: statement('tandem_insert_new_unmetered', unmeteredSql(false)) },
} as const;

/** Whether a batch can add to the usage rollups: only tracks with an account are metered (metering `rollupCtes`). */
const mayBeMetered = (messages: readonly Pick<NormalizedMessage, 'type'>[], accountIds: readonly (string | null)[]) =>
  messages.some((m, i) => m.type === 'track' && accountIds[i] !== null);

/**
 * Inserts a whole batch in ONE statement. The rows travel as ONE jsonb parameter — an array of
 * row arrays, written by a single JSON.stringify — whose elements are read back one by one, by
 * index (`$2 -> i` over generate_series, which streams: jsonb_array_elements() would first copy
 * every row into a tuplestore, and that copy was the largest source of the backends' page faults
 * under `bench ingest`): properties, traits and context are serialized once and parsed once (as
 * part of the parameter), with no per-element array quoting on either side. (Thirteen text[] parameters cost
 * ~3× the Node CPU per row in the driver's array serializer, and each jsonb column was parsed
 * again from text.) Each row carries its own received_at: one statement may store the rows of
 * several requests (events.service `insertJobs`). ON CONFLICT skips messageIds already stored (a
 * retried batch, or a duplicate inside this one). Returns the number of rows actually inserted.
 *
 * The same statement adds the rows it inserted — and only those: a skipped duplicate returns
 * nothing — to the usage rollups of the workspace's metrics (metering `rollupCtes`), so a
 * retried batch can never count twice and an acknowledged event is always counted.
 */
export async function insertEvents(exec: Exec, input: InsertInput): Promise<number> {
  return insertRows(exec, input, true);
}

interface InsertInput {
  workspaceId: string;
  messages: readonly NormalizedMessage[];
  ids: readonly string[];
  accountIds: readonly (string | null)[];
}

/**
 * `insertEvents` for a batch expected to hold only new messageIds, outside a transaction (the
 * combined INSERT of events.service): the statement without ON CONFLICT first. A messageId that
 * is already stored (a retried batch) fails it with a unique violation, which writes nothing —
 * neither rows nor rollups — and the batch then goes through `insertEvents`. Exactly-once stays
 * the database's either way: the unique key refuses the second copy; it is only how the refusal
 * is handled that differs.
 *
 * Why: ON CONFLICT makes every row a speculative insertion — a probe of the unique index before
 * the heap insert, then the index insert, then a confirmation record in the WAL. Alone on one
 * connection, 1,600 bench rows per statement with the rollups, alternating six rounds: 32.5 µs
 * of database CPU per row against 36.4 (paired, 0 to 7.8 µs less in every round).
 *
 * Never inside a transaction: the failed statement would abort it. Returns the rows inserted
 * and whether a stored messageId was met.
 */
export async function insertNewEvents(exec: Exec, input: InsertInput): Promise<{ inserted: number; metStored: boolean }> {
  try {
    return { inserted: await insertRows(exec, input, false), metStored: false };
  } catch (e) {
    if (!isStoredMessageId(e)) throw e;
    return { inserted: await insertRows(exec, input, true), metStored: true };
  }
}

/** A unique violation of (workspace_id, message_id): the messageId is stored already. */
function isStoredMessageId(e: unknown): boolean {
  const err = e as { code?: string; constraint?: string; cause?: { code?: string; constraint?: string } };
  const code = err.code ?? err.cause?.code;
  const constraint = err.constraint ?? err.cause?.constraint;
  return code === '23505' && constraint === 'product_events_message';
}

async function insertRows(exec: Exec, input: InsertInput, skipStored: boolean): Promise<number> {
  const n = input.messages.length;
  if (n === 0) return 0;
  // Rows go in messageId order: concurrent batches that overlap then take their index locks in
  // the same order and cannot deadlock each other.
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => (input.messages[a].messageId < input.messages[b].messageId ? -1 : 1));
  const rows = new Array<unknown[]>(n);
  for (let k = 0; k < n; k++) {
    const i = order[k];
    const m = input.messages[i];
    rows[k] = [
      input.ids[i],
      m.messageId,
      m.type,
      m.event,
      m.userId,
      m.anonymousId,
      m.groupId,
      input.accountIds[i],
      m.timestamp.getTime(),
      m.sentAt ? m.sentAt.getTime() : null,
      m.properties,
      m.traits,
      m.context,
      m.receivedAt.getTime(),
    ];
  }
  const kind = mayBeMetered(input.messages, input.accountIds) ? INSERT_STATEMENTS.metered : INSERT_STATEMENTS.unmetered;
  const { text, name } = skipStored ? kind.skip : kind.fail;
  const [r] = await exec<{ n: number }>(text, [input.workspaceId, JSON.stringify(rows)], { name });
  return Number(r?.n ?? 0);
}

/**
 * Which of these messageIds are already stored (identity calls are applied once). One probe of
 * the (workspace, messageId) key per id, whatever the statistics: written as `message_id =
 * ANY($2)`, a table not yet analyzed (a new installation, a table that grew since) was planned as
 * a read of the workspace's whole events through the primary key, filtered — every event the
 * workspace ever sent, for each request carrying an identify or group call.
 */
export async function storedMessageIds(exec: Exec, workspaceId: string, messageIds: readonly string[]): Promise<Set<string>> {
  if (messageIds.length === 0) return new Set();
  const found = await exec<{ message_id: string }>(
    `SELECT m AS message_id FROM unnest($2::text[]) AS m,
            LATERAL (SELECT 1 FROM product_events WHERE workspace_id = $1 AND message_id = m LIMIT 1) AS stored`,
    [workspaceId, messageIds],
  );
  return new Set(found.map((r) => r.message_id));
}

/**
 * Retroactive attachment, several at once in ONE statement: an unmatched event now belongs to the
 * account its user id maps to, else (sent without a user id) to the one its anonymous id maps to.
 * Events already attached keep their account; the events attached enter the usage rollups in the
 * same statement (unmatched events are in none). A key mapped twice keeps
 * its first account — what running the attachments one after another in that order gives, since
 * the first takes the events and leaves none unmatched for the second. Example:
 * byUserId [[u1, A], [u1, B], [u2, B]] → u1's unmatched events to A, u2's to B.
 *
 * The plan must not depend on statistics. Taken while the workspace had few unmatched events (or
 * never taken), they make the unmatched index look empty, and the planner then reads all of the
 * workspace's unmatched events and filters them: 16,387 rows and 68 ms per link under anonymous
 * page traffic (`bench ingest --anonymous-rate 0.2`), growing with it. So:
 * - the events are found by one lookup per key, each a subquery the planner cannot flatten
 *   (OFFSET 0), so the key is a condition of the index scan, not a filter after it;
 * - the UPDATE reaches each row found by its ctid (a TID scan: no index, nothing to misjudge),
 *   in the same statement, so under the same snapshot: the ctid is the row found. Reaching
 *   them by primary key instead let the planner start from a scan of the workspace's rows (any
 *   index led by workspace_id looks cheap when it believes the workspace small) and look up the
 *   rows found for each of them: 10,002 rows discarded by the join for 2 attached, 280 ms;
 * - its "still unmatched" test is written `coalesce(account_id, '') = ''` (ids are never empty),
 *   because `account_id IS NULL` would offer the unmatched index as that starting scan again.
 *   The test is what keeps a concurrent link's work: a row it attached meanwhile is re-read
 *   once that link commits (the UPDATE waits for the row) and no longer passes, so it is
 *   neither overwritten nor counted twice.
 */
export async function attachUnmatchedEvents(
  exec: Exec,
  input: { workspaceId: string; byUserId: ReadonlyArray<readonly [string, string]>; byAnonymousId: ReadonlyArray<readonly [string, string]> },
): Promise<number> {
  const firsts = (pairs: ReadonlyArray<readonly [string, string]>) => {
    const m = new Map<string, string>();
    for (const [k, a] of pairs) if (!m.has(k)) m.set(k, a);
    return [[...m.keys()], [...m.values()]];
  };
  const [userKeys, userAccounts] = firsts(input.byUserId);
  const [anonKeys, anonAccounts] = firsts(input.byAnonymousId);
  if (userKeys.length === 0 && anonKeys.length === 0) return 0;
  // Most links find nothing (the user's events came with a group id, or there were none yet): a
  // probe by the same keys answers that, and the UPDATE with its rollup CTEs — ~0.45 ms of
  // planning per call on PostgreSQL, for a link under `bench ingest` — runs only when it finds some.
  const [probe] = await exec<{ found: boolean }>(
    `SELECT EXISTS (SELECT FROM unnest($2::text[]) AS u(k),
                      LATERAL (SELECT FROM product_events WHERE workspace_id = $1 AND account_id IS NULL AND user_id = u.k LIMIT 1) p)
         OR EXISTS (SELECT FROM unnest($3::text[]) AS n(k),
                      LATERAL (SELECT FROM product_events WHERE workspace_id = $1 AND account_id IS NULL AND user_id IS NULL AND anonymous_id = n.k LIMIT 1) p)
         AS found`,
    [input.workspaceId, userKeys, anonKeys],
  );
  if (!probe?.found) return 0;
  const [r] = await exec<{ n: number }>(
    `WITH found AS (
       SELECT p.ctid AS tid, u.a FROM unnest($2::text[], $3::text[]) AS u(k, a),
              LATERAL (SELECT ctid FROM product_events WHERE workspace_id = $1 AND account_id IS NULL AND user_id = u.k OFFSET 0) p
       UNION ALL
       SELECT p.ctid, n.a FROM unnest($4::text[], $5::text[]) AS n(k, a),
              LATERAL (SELECT ctid FROM product_events WHERE workspace_id = $1 AND account_id IS NULL AND user_id IS NULL AND anonymous_id = n.k OFFSET 0) p),
     upd AS (
       UPDATE product_events e SET account_id = found.a FROM found
       WHERE e.ctid = found.tid AND e.workspace_id = $1 AND coalesce(e.account_id, '') = ''
       RETURNING ${rollupSourceReturning('$1')}),
     ${rollupCtes('upd', '$1')}
     SELECT count(*)::int AS n FROM upd`,
    [input.workspaceId, userKeys, userAccounts, anonKeys, anonAccounts],
  );
  return Number(r?.n ?? 0);
}

/**
 * A merge: every event of `fromAccountId` now belongs to `toAccountId`, and so do its usage
 * rollups (folded into the survivor's, same statement).
 */
export async function repointAccountEvents(exec: Exec, input: { workspaceId: string; fromAccountId: string; toAccountId: string }): Promise<number> {
  const [r] = await exec<{ n: number }>(
    `WITH upd AS (UPDATE product_events SET account_id = $3 WHERE workspace_id = $1 AND account_id = $2 RETURNING 1),
     ${moveRollupsCtes('$1', '$2', '$3')}
     SELECT count(*)::int AS n FROM upd`,
    [input.workspaceId, input.fromAccountId, input.toAccountId],
  );
  return Number(r?.n ?? 0);
}

/**
 * An account's events, newest first, strictly before the cursor (timestamp, id) when given. Ids
 * compare bytewise (COLLATE "C") so the order is the same under any database collation and in JS.
 */
export async function listAccountEvents(
  exec: Exec,
  input: { workspaceId: string; accountId: string; before?: { at: Date; id: string }; limit: number },
): Promise<ProductEvent[]> {
  const params: unknown[] = [input.workspaceId, input.accountId, input.limit];
  let cursor = '';
  if (input.before) {
    params.push(input.before.at.toISOString(), input.before.id);
    cursor = 'AND (timestamp, id COLLATE "C") < ($4::timestamptz, $5::text)';
  }
  const found = await exec<Record<string, unknown>>(
    `SELECT * FROM product_events WHERE workspace_id = $1 AND account_id = $2 ${cursor}
     ORDER BY timestamp DESC, id COLLATE "C" DESC LIMIT $3`,
    params,
  );
  return found.map(toEvent);
}

/** The instant of a stored event (timeline cursors), or undefined. */
export async function findEventInstant(exec: Exec, workspaceId: string, id: string): Promise<{ at: Date; accountId: string | null } | undefined> {
  const [r] = await exec<{ timestamp: unknown; account_id: string | null }>('SELECT timestamp, account_id FROM product_events WHERE workspace_id = $1 AND id = $2', [workspaceId, id]);
  return r ? { at: toDate(r.timestamp), accountId: r.account_id } : undefined;
}

/** Users and anonymous visitors with unmatched events, by key ('u:<userId>' or 'a:<anonymousId>'). */
export async function listUnmatchedIdentities(exec: Exec, input: { workspaceId: string; limit: number; startingAfter?: string }): Promise<UnmatchedIdentity[]> {
  const found = await exec<{ key: string; user_id: string | null; anonymous_id: string | null; n: number; first_at: unknown; last_at: unknown }>(
    `SELECT key, min(user_id) AS user_id, min(anonymous_id) AS anonymous_id, count(*)::int AS n, min(timestamp) AS first_at, max(timestamp) AS last_at
     FROM (SELECT CASE WHEN user_id IS NOT NULL THEN 'u:' || user_id ELSE 'a:' || anonymous_id END AS key, user_id, anonymous_id, timestamp
           FROM product_events WHERE workspace_id = $1 AND account_id IS NULL) e
     WHERE $3::text IS NULL OR key > $3::text
     GROUP BY key ORDER BY key LIMIT $2`,
    [input.workspaceId, input.limit, input.startingAfter ?? null],
  );
  return found.map((r) => ({
    key: r.key,
    userId: r.user_id,
    anonymousId: r.key.startsWith('a:') ? r.anonymous_id : null,
    eventCount: Number(r.n),
    firstSeenAt: toDate(r.first_at),
    lastSeenAt: toDate(r.last_at),
  }));
}

export function toEvent(r: Record<string, unknown>): ProductEvent {
  return {
    id: r.id as string,
    messageId: r.message_id as string,
    type: r.type as MessageType,
    event: (r.event as string | null) ?? null,
    userId: (r.user_id as string | null) ?? null,
    anonymousId: (r.anonymous_id as string | null) ?? null,
    groupId: (r.group_id as string | null) ?? null,
    accountId: (r.account_id as string | null) ?? null,
    timestamp: toDate(r.timestamp),
    receivedAt: toDate(r.received_at),
    sentAt: r.sent_at ? toDate(r.sent_at) : null,
    properties: (r.properties as Record<string, unknown> | null) ?? null,
    traits: (r.traits as Record<string, unknown> | null) ?? null,
    context: (r.context as Record<string, unknown> | null) ?? null,
  };
}

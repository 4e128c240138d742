import { randomUUID } from 'node:crypto';
import type { Ctx, Db } from '../../context.ts';
import type { Database } from '../../db/client.ts';
import { AppError } from '../../kernel/errors.ts';
import { newIds } from '../../kernel/ids.ts';
import { depthExceeds, isPlainObject, jsonMayHoldUnstorable, normalizeMessage, serializedHoldsUnstorable } from './compute/normalize.ts';
import * as repo from './events.repo.ts';
import { IDENTITY_TYPES, MAX_BATCH_BYTES, MAX_EVENT_BYTES, MAX_JSON_DEPTH, type Exec, type IdentityPort, type IngestResult, type MessageType, type NormalizedMessage, type Rejection } from './events.ts';
import { execIn, execOn } from './exec.ts';
import { Combiner, type Settled } from './combine.ts';
import { parseInstant } from '../../kernel/dates.ts';

/** A message without messageId gets a random one: Segment libraries always send one; such a message cannot be deduplicated on retry. */
const generatedMessageId = () => `tandem-${randomUUID()}`;

/**
 * A single call (/v1/track, /v1/identify, …). Invalid → AppError (400 naming the field), nothing
 * stored. Returns once the row is committed. `json`, when given, is the text `body` was parsed
 * from (JSON.parse): a message parsed from a text without NUL or surrogate escapes is not
 * serialized again to look for them.
 */
export async function ingestSingle(ctx: Ctx, input: { type: MessageType; body: unknown; bytes: number; json?: string }, identity: IdentityPort): Promise<IngestResult> {
  if (input.bytes > MAX_EVENT_BYTES) {
    throw new AppError({ code: 'event_too_large', message: `The request body is ${input.bytes} bytes; an event may be at most ${MAX_EVENT_BYTES} bytes (32 KB).` });
  }
  const r = normalizeMessage(input.body, {
    index: 0,
    type: input.type,
    receivedAt: ctx.asOf,
    paramPrefix: '',
    bytes: input.bytes,
    newMessageId: generatedMessageId,
    parsedFromCleanJson: input.json !== undefined && !jsonMayHoldUnstorable(input.json),
  });
  if (!r.ok) throw new AppError({ code: r.error.code, message: r.error.message, param: r.error.param });
  return store(ctx, [r.value], [], identity);
}

/**
 * /v1/batch: `{ batch: [...], context?, sentAt? }`. The batch-level context merges under each
 * message's context and the batch-level sentAt stands in for a message's own, as Segment does.
 * Valid messages are stored; invalid ones are listed in `rejected` (the request still succeeds).
 * `json`, when given, is the text `body` was parsed from (as for `ingestSingle`): scanned once for
 * NUL and surrogate escapes instead of serializing every message.
 */
export async function ingestBatch(ctx: Ctx, input: { body: unknown; bytes: number; json?: string }, identity: IdentityPort): Promise<IngestResult> {
  if (input.bytes > MAX_BATCH_BYTES) {
    throw new AppError({ code: 'batch_too_large', message: `The request body is ${input.bytes} bytes; a batch may be at most ${MAX_BATCH_BYTES} bytes (500 KB).` });
  }
  const body = input.body;
  if (!isPlainObject(body)) throw new AppError({ code: 'parameter_invalid', message: 'The body must be a JSON object: {"batch": [...]}.' });
  if (body.batch === undefined || body.batch === null) throw new AppError({ code: 'parameter_missing', message: "'batch' is required: an array of messages.", param: 'batch' });
  if (!Array.isArray(body.batch)) throw new AppError({ code: 'parameter_invalid', message: "'batch' must be an array of messages.", param: 'batch' });
  if (body.context !== undefined && body.context !== null && !isPlainObject(body.context)) {
    throw new AppError({ code: 'parameter_invalid', message: "'context' must be a JSON object.", param: 'context' });
  }
  // The batch context is stored inside every message's context (level 2 of a message): what a
  // message's own checks would refuse there is refused here, for the whole batch.
  if (isPlainObject(body.context)) {
    if (serializedHoldsUnstorable(JSON.stringify(body.context))) {
      throw new AppError({ code: 'parameter_invalid', message: "'context' contains a NUL character or an unpaired UTF-16 surrogate.", param: 'context' });
    }
    if (depthExceeds(body.context, MAX_JSON_DEPTH - 1)) {
      throw new AppError({ code: 'parameter_invalid', message: `'context' nests deeper than ${MAX_JSON_DEPTH - 1} levels (a message may nest ${MAX_JSON_DEPTH}).`, param: 'context' });
    }
  }
  let batchSentAt: Date | null = null;
  if (body.sentAt !== undefined && body.sentAt !== null) {
    batchSentAt = typeof body.sentAt === 'string' ? parseInstant(body.sentAt) : null;
    if (!batchSentAt) throw new AppError({ code: 'parameter_invalid', message: "'sentAt' must be an ISO 8601 instant with a zone.", param: 'sentAt' });
  }
  const valid: NormalizedMessage[] = [];
  const rejected: Rejection[] = [];
  const parsedFromCleanJson = input.json !== undefined && !jsonMayHoldUnstorable(input.json);
  body.batch.forEach((raw, index) => {
    const r = normalizeMessage(raw, {
      index,
      receivedAt: ctx.asOf,
      batchContext: (body.context ?? null) as Record<string, unknown> | null,
      batchSentAt,
      paramPrefix: `batch[${index}].`,
      newMessageId: generatedMessageId,
      parsedFromCleanJson,
    });
    if (r.ok) valid.push(r.value);
    else {
      const mid = isPlainObject(raw) && (typeof raw.messageId === 'string' || typeof raw.messageId === 'number') ? String(raw.messageId) : null;
      rejected.push({ index, messageId: mid, code: r.error.code, message: r.error.message, param: r.error.param });
    }
  });
  return store(ctx, valid, rejected, identity);
}

/**
 * Resolves and stores messages, in at most three steps:
 * 1. identify / group / alias messages (usually none, or a few per batch): applied and stored in
 *    one transaction under the workspace's identity lock — combined with those of the other
 *    requests of the workspace waiting at the same moment (see `Combiner`): the lock is held, and
 *    a commit waited for, once per group of requests instead of once per request;
 * 2. everything else: one lookup for the whole batch (after step 1 has committed, so the batch's
 *    own identity calls count), one INSERT — no transaction, no lock — combined with the rows of
 *    the workspace's other requests waiting at the same moment (`insertJobs`). Group ids that
 *    have no account yet get one first, through the same combined identity transaction. Rows
 *    stored without an account are resolved again under the identity lock (`attachLateLinks`);
 * 3. after commit, the accounts touched go to the ingest listeners (caches, re-scoring, usage
 *    thresholds), again once per group of concurrent requests.
 * When every message of step 2 resolves by its own group id (nothing step 1 could change), steps
 * 1 and 2 run concurrently instead.
 * The 200 is sent after all three. A failure after step 1 leaves the batch partly stored, which a
 * retry completes: messageIds dedupe, and identity calls already stored are not applied again.
 */
async function store(ctx: Ctx, messages: NormalizedMessage[], rejected: Rejection[], identity: IdentityPort): Promise<IngestResult> {
  const unique = firstPerMessageId(messages);
  const result: IngestResult = { accepted: messages.length, rejected };
  if (unique.length === 0) return result;
  const combiners = combinersOf(ctx.deps.database);
  const identityCalls = unique.filter((m) => IDENTITY_TYPES.has(m.type));
  const rest = identityCalls.length ? unique.filter((m) => !IDENTITY_TYPES.has(m.type)) : unique;
  const touched: (string | null)[] = [];
  const exec = execOn(ctx.deps.database);
  const applyIdentity = async () => {
    const done = await combiners.identity.submit(ctx.workspaceId, { ctx, identity, apply: identityCalls, insert: identityCalls });
    touched.push(...done.accountIds);
  };
  const insertRest = async (accountIds: (string | null)[]) => {
    await combiners.insert.submit(ctx.workspaceId, { messages: rest, accountIds });
    touched.push(...accountIds);
    const unmatched = rest.filter((_, i) => accountIds[i] === null);
    if (unmatched.length) {
      const done = await combiners.identity.submit(ctx.workspaceId, { ctx, identity, apply: [], insert: [], recheck: unmatched });
      touched.push(...done.accountIds);
    }
  };
  // The usual mixed batch (tracks carrying context.groupId of known accounts, plus a few identity
  // calls): a group id outranks anything an identity call can change, so those rows do not wait
  // for the identity calls (serialized per workspace) — both are stored concurrently, and the
  // request answers once both have committed. (On PGlite the statements still run one at a time.)
  if (identityCalls.length && rest.length && rest.every((m) => m.groupId !== null)) {
    const early = await identity.resolve(exec, ctx, rest, { groupsInMemory: true });
    if (early.missingGroupIds.length === 0) {
      const settled = await Promise.allSettled([applyIdentity(), insertRest(early.accountIds)]);
      for (const s of settled) if (s.status === 'rejected') throw s.reason;
      await combiners.notify.submit(ctx.workspaceId, { ctx, accountIds: touched });
      return result;
    }
  }
  if (identityCalls.length) await applyIdentity();
  if (rest.length) {
    let resolved = await identity.resolve(exec, ctx, rest, { groupsInMemory: true });
    if (resolved.missingGroupIds.length) {
      // Unknown group ids (a track with a new context.groupId): their accounts are created under
      // the identity lock (apply creates accounts for the group ids of the messages it is given,
      // and applies only identity calls), then the batch is resolved again.
      const missing = new Set(resolved.missingGroupIds);
      await combiners.identity.submit(ctx.workspaceId, { ctx, identity, apply: rest.filter((m) => m.groupId !== null && missing.has(m.groupId)), insert: [] });
      resolved = await identity.resolve(exec, ctx, rest, { groupsInMemory: true });
    }
    await insertRest(resolved.accountIds);
  }
  await combiners.notify.submit(ctx.workspaceId, { ctx, accountIds: touched });
  return result;
}

interface IdentityJob {
  ctx: Ctx;
  identity: IdentityPort;
  /** Messages for IdentityPort.apply (identity calls are applied; every group id gets an account). */
  apply: NormalizedMessage[];
  /** Messages to resolve and store in the same transaction (the identity calls themselves). */
  insert: NormalizedMessage[];
  /** Messages stored without an account: resolved again under the lock, see `attachLateLinks`. */
  recheck?: NormalizedMessage[];
}

interface IdentityDone {
  accountIds: (string | null)[];
}

interface InsertJob {
  messages: NormalizedMessage[];
  accountIds: (string | null)[];
}

interface NotifyJob {
  ctx: Ctx;
  accountIds: readonly (string | null)[];
}

interface Combiners {
  insert: Combiner<InsertJob, void>;
  identity: Combiner<IdentityJob, IdentityDone>;
  notify: Combiner<NotifyJob, void>;
}

/** One set of combiners per database (keys are workspace ids). */
const combiners = new WeakMap<Database, Combiners>();

function combinersOf(database: Database): Combiners {
  let c = combiners.get(database);
  if (!c) {
    const storedIds = new StoredIdsSeen();
    c = {
      insert: new Combiner((ws, jobs) => insertJobs(database, ws, jobs, storedIds), INSERT_GROUP, database.kind === 'postgres' ? INSERTS_IN_FLIGHT : 1),
      identity: new Combiner((_ws, jobs) => applyIdentityJobs(database, jobs)),
      notify: new Combiner((_ws, jobs) => notifyListeners(jobs)),
    };
    combiners.set(database, c);
  }
  return c;
}

/**
 * Runs jobs of concurrent requests together (`inOne`); should that fail for good, each job runs
 * again on its own, so an error belongs to the request that caused it.
 */
async function togetherOrEach<J, R>(jobs: J[], inOne: (group: J[]) => Promise<R[]>): Promise<Settled<R>[]> {
  try {
    return (await inOne(jobs)).map((value) => ({ ok: true as const, value }));
  } catch (error) {
    if (jobs.length === 1) return [{ ok: false, error }];
    const settled: Settled<R>[] = [];
    for (const job of jobs) {
      try {
        settled.push({ ok: true, value: (await inOne([job]))[0] });
      } catch (e) {
        settled.push({ ok: false, error: e });
      }
    }
    return settled;
  }
}

/** Requests whose rows one combined INSERT takes at most (500 KB each at most: a parameter of ≤ 8 MB). */
const INSERT_GROUP = 16;

/**
 * Combined INSERTs of one workspace in flight at once on PostgreSQL. With one, a core sat idle
 * while the workspace's statement ran and its next requests waited (the cores were ~87% busy on
 * the ingest bench); with two, the next statement starts while the first runs. Ten alternating
 * pairs of the PostgreSQL ingest bench: 31,956 events/s on average (29,697–33,229) against 30,090
 * (28,281–31,910), leaving out one run of 20,590. Two statements cannot deadlock each other:
 * each takes its index entries in messageId order and its rollup rows in key order, and a
 * messageId in both fails the second, which then skips it (`StoredIdsSeen`). PGlite has one
 * connection: a second statement would only wait for it, in a smaller group.
 */
const INSERTS_IN_FLIGHT = 2;

/**
 * The plain rows (step 2 of `store`) of concurrent requests of one workspace, in ONE statement: a
 * request arriving while the workspace's INSERTs run (INSERTS_IN_FLIGHT at most) waits for one to
 * end, then goes in the next one with the others that arrived meanwhile. Fewer, larger statements write fewer rollup rows (an
 * account's hour is upserted once for the group, not once per request), wait for fewer commits
 * and contend less for the table's last page: on the PostgreSQL ingest bench, 15,082 / 15,235 /
 * 15,132 against 14,661 / 13,459 / 12,563 events/s (three alternating pairs). A messageId in two of the requests is
 * stored once (the first), as if they had come one after the other; each row keeps its own
 * request's received_at.
 */
function insertJobs(database: Database, workspaceId: string, jobs: InsertJob[], storedIds: StoredIdsSeen): Promise<Settled<void>[]> {
  return togetherOrEach(jobs, async (group) => {
    const messages: NormalizedMessage[] = [];
    const accountIds: (string | null)[] = [];
    const seen = new Set<string>();
    for (const job of group) {
      job.messages.forEach((m, i) => {
        if (seen.has(m.messageId)) return;
        seen.add(m.messageId);
        messages.push(m);
        accountIds.push(job.accountIds[i]);
      });
    }
    await retryOnConflict(() => storedIds.insert(execOn(database), { workspaceId, messages, ids: newIds('pev', messages.length), accountIds }));
    return group.map(() => undefined);
  });
}

/**
 * How a workspace's combined INSERTs meet messageIds already stored. Usually they hold none, and
 * go without ON CONFLICT (`repo.insertNewEvents`: cheaper per row; a stored one fails the
 * statement, which then runs again skipping it). Once a statement has met one — a client retrying
 * its batches, which usually comes in runs — the workspace's next statements skip stored ones
 * from the start, until QUIET_AFTER_STORED statements in a row have met none: a run of retries
 * costs one failed statement, not one per statement.
 */
export class StoredIdsSeen {
  /** Per workspace: statements still to run skipping stored messageIds. */
  private readonly skipping = new Map<string, number>();

  async insert(exec: Exec, input: Parameters<typeof repo.insertEvents>[1]): Promise<number> {
    const ws = input.workspaceId;
    if (!this.skipping.has(ws)) {
      const { inserted, metStored } = await repo.insertNewEvents(exec, input);
      if (metStored) this.skipping.set(ws, QUIET_AFTER_STORED);
      return inserted;
    }
    const inserted = await repo.insertEvents(exec, input);
    const left = inserted < input.messages.length ? QUIET_AFTER_STORED : this.skipping.get(ws)! - 1;
    if (left > 0) this.skipping.set(ws, left);
    else this.skipping.delete(ws);
    return inserted;
  }
}

export const QUIET_AFTER_STORED = 16;

/**
 * The identity jobs of concurrent requests, in arrival order, in ONE transaction and ONE
 * application: their calls applied together (IdentityPort.apply, each on behalf of its own
 * request), their late rows resolved again together, and their identity calls resolved and stored
 * by one INSERT — as one request carrying all of them would. A messageId in two of the jobs is
 * applied and stored once, from the first. Under the ingest bench's load, ~3 requests' jobs meet
 * in a transaction (637 jobs in 210 transactions, pg_stat_statements): the ~12 statements of an
 * application are sent once per transaction instead of once per job.
 */
function applyIdentityJobs(database: Database, jobs: IdentityJob[]): Promise<Settled<IdentityDone>[]> {
  return togetherOrEach(jobs, (group) =>
    retryOnConflict(() =>
      database.db.transaction(async (tx) => {
        const out: IdentityDone[] = [];
        // (Every caller passes the same port; jobs of different ports would each get their own application.)
        for (let i = 0; i < group.length; ) {
          let j = i + 1;
          while (j < group.length && group[j].identity === group[i].identity) j++;
          out.push(...(await applyTogether(tx, group.slice(i, j))));
          i = j;
        }
        return out;
      }),
    ),
  );
}

async function applyTogether(tx: Db, jobs: IdentityJob[]): Promise<IdentityDone[]> {
  const { identity, ctx } = jobs[0];
  // Every job's part, even an empty one: the application takes the identity lock the rechecks need.
  await identity.apply(tx, jobs.map((job) => ({ ctx: job.ctx, messages: job.apply })));
  const exec = execIn(tx);
  const rechecked = jobs.flatMap((job) => job.recheck ?? []);
  const attachedTo = rechecked.length ? await attachLateLinks(exec, ctx, identity, rechecked) : [];
  const inserts = firstPerMessageId(jobs.flatMap((job) => job.insert));
  const accountOf = new Map<string, string | null>();
  if (inserts.length) {
    const resolved = await identity.resolve(exec, ctx, inserts);
    await repo.insertEvents(exec, { workspaceId: ctx.workspaceId, messages: inserts, ids: newIds('pev', inserts.length), accountIds: resolved.accountIds });
    inserts.forEach((m, i) => accountOf.set(m.messageId, resolved.accountIds[i]));
  }
  let k = 0;
  return jobs.map((job) => {
    const attached = attachedTo.slice(k, (k += job.recheck?.length ?? 0)).filter((a): a is string => a !== null);
    return { accountIds: [...job.insert.map((m) => accountOf.get(m.messageId) ?? null), ...new Set(attached)] };
  });
}

/**
 * Rows requests stored without an account, resolved again under the workspace's identity lock
 * (held by the caller): a concurrent request's identify or group call may have linked their user
 * after this request resolved them, and attached the user's unmatched events before these rows
 * were committed — they would stay unmatched. Under the lock, that transaction has committed (its
 * link is seen here) or has not begun (it will see these rows). The users now linked get their
 * unmatched events attached, as a link attaches them. Returns, for each message, the account its
 * user's events were attached to (null: none).
 */
async function attachLateLinks(exec: Exec, ctx: Ctx, identity: IdentityPort, messages: readonly NormalizedMessage[]): Promise<(string | null)[]> {
  const again = await identity.resolve(exec, ctx, messages);
  const byUserId: [string, string][] = [];
  const byAnonymousId: [string, string][] = [];
  const attachedTo = messages.map((m, i) => {
    const account = again.accountIds[i];
    if (!account) return null;
    if (m.userId) byUserId.push([m.userId, account]);
    else if (m.anonymousId) byAnonymousId.push([m.anonymousId, account]);
    else return null;
    return account;
  });
  if (byUserId.length + byAnonymousId.length === 0) return attachedTo;
  await repo.attachUnmatchedEvents(exec, { workspaceId: ctx.workspaceId, byUserId, byAnonymousId });
  return attachedTo;
}

/**
 * After commit: the accounts the requests touched go to the registered listeners (caches,
 * re-scoring, usage thresholds) — one call for the union over the concurrent requests of the
 * workspace, with the context of the latest. Each request answers only once the call that
 * includes its accounts has returned, so a check after an acknowledged event sees it.
 */
async function notifyListeners(jobs: NotifyJob[]): Promise<Settled<void>[]> {
  let latest = jobs[0].ctx;
  const accounts = new Set<string>();
  for (const job of jobs) {
    if (job.ctx.asOf.getTime() >= latest.asOf.getTime()) latest = job.ctx;
    for (const a of job.accountIds) if (a) accounts.add(a);
  }
  if (accounts.size) await latest.deps.registry.notifyIngest(latest, [...accounts]);
  return jobs.map(() => ({ ok: true as const, value: undefined }));
}

/**
 * Identity writes of a workspace are serialized (see IdentityPort.apply), so transactions should
 * not deadlock; should PostgreSQL still abort one (deadlock, serialization failure, unique race),
 * ingestion is idempotent — messageIds dedupe, identity writes are guarded — and is retried.
 */
async function retryOnConflict<T>(run: () => Promise<T>, attempts = 4): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (e) {
      const code = (e as { code?: string; cause?: { code?: string } }).code ?? (e as { cause?: { code?: string } }).cause?.code;
      if (attempt >= attempts || !code || !['40P01', '40001', '23505'].includes(code)) throw e;
    }
  }
}

function firstPerMessageId(messages: NormalizedMessage[]): NormalizedMessage[] {
  const seen = new Set<string>();
  return messages.filter((m) => (seen.has(m.messageId) ? false : (seen.add(m.messageId), true)));
}

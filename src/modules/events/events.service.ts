import { randomUUID } from 'node:crypto';
import type { Ctx } from '../../context.ts';
import { AppError } from '../../kernel/errors.ts';
import { newId } from '../../kernel/ids.ts';
import { isPlainObject, normalizeMessage } from './compute/normalize.ts';
import * as repo from './events.repo.ts';
import { IDENTITY_TYPES, MAX_BATCH_BYTES, MAX_EVENT_BYTES, type IdentityPort, type IngestResult, type MessageType, type NormalizedMessage, type Rejection } from './events.ts';
import { execIn, execOn } from './exec.ts';
import { parseInstant } from '../../kernel/dates.ts';

/** A message without messageId gets a random one: Segment libraries always send one; such a message cannot be deduplicated on retry. */
const generatedMessageId = () => `tandem-${randomUUID()}`;

/**
 * A single call (/v1/track, /v1/identify, …). Invalid → AppError (400 naming the field), nothing
 * stored. Returns once the row is committed.
 */
export async function ingestSingle(ctx: Ctx, input: { type: MessageType; body: unknown; bytes: number }, identity: IdentityPort): Promise<IngestResult> {
  if (input.bytes > MAX_EVENT_BYTES) {
    throw new AppError({ code: 'event_too_large', message: `The request body is ${input.bytes} bytes; an event may be at most ${MAX_EVENT_BYTES} bytes (32 KB).` });
  }
  const r = normalizeMessage(input.body, { index: 0, type: input.type, receivedAt: ctx.asOf, paramPrefix: '', bytes: input.bytes, newMessageId: generatedMessageId });
  if (!r.ok) throw new AppError({ code: r.error.code, message: r.error.message, param: r.error.param });
  return store(ctx, [r.value], [], identity);
}

/**
 * /v1/batch: `{ batch: [...], context?, sentAt? }`. The batch-level context merges under each
 * message's context and the batch-level sentAt stands in for a message's own, as Segment does.
 * Valid messages are stored; invalid ones are listed in `rejected` (the request still succeeds).
 */
export async function ingestBatch(ctx: Ctx, input: { body: unknown; bytes: number }, identity: IdentityPort): Promise<IngestResult> {
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
  let batchSentAt: Date | null = null;
  if (body.sentAt !== undefined && body.sentAt !== null) {
    batchSentAt = typeof body.sentAt === 'string' ? parseInstant(body.sentAt) : null;
    if (!batchSentAt) throw new AppError({ code: 'parameter_invalid', message: "'sentAt' must be an ISO 8601 instant with a zone.", param: 'sentAt' });
  }
  const valid: NormalizedMessage[] = [];
  const rejected: Rejection[] = [];
  body.batch.forEach((raw, index) => {
    const r = normalizeMessage(raw, {
      index,
      receivedAt: ctx.asOf,
      batchContext: (body.context ?? null) as Record<string, unknown> | null,
      batchSentAt,
      paramPrefix: `batch[${index}].`,
      newMessageId: generatedMessageId,
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
 * Resolves and stores messages. The common case (no identify/group/alias, every group id
 * known) costs two statements: one lookup for the whole batch, one INSERT … SELECT FROM unnest.
 * Identity calls or unknown group ids: one transaction that applies them, then resolves and
 * inserts, so the 200 means everything is committed together.
 */
async function store(ctx: Ctx, messages: NormalizedMessage[], rejected: Rejection[], identity: IdentityPort): Promise<IngestResult> {
  const unique = firstPerMessageId(messages);
  const result: IngestResult = { accepted: messages.length, stored: 0, rejected };
  if (unique.length === 0) return result;
  result.stored = await retryOnConflict(() => resolveAndInsert(ctx, unique, identity));
  return result;
}

async function resolveAndInsert(ctx: Ctx, unique: NormalizedMessage[], identity: IdentityPort): Promise<number> {
  const database = ctx.deps.database;
  const ids = unique.map(() => newId('pev'));
  let accountIds: readonly (string | null)[] = [];
  let stored: number;
  if (!unique.some((m) => IDENTITY_TYPES.has(m.type))) {
    const exec = execOn(database);
    const resolved = await identity.resolve(exec, ctx, unique);
    if (resolved.missingGroupIds.length === 0) {
      stored = await repo.insertEvents(exec, { workspaceId: ctx.workspaceId, receivedAt: ctx.asOf, messages: unique, ids, accountIds: resolved.accountIds });
      await notify(ctx, resolved.accountIds);
      return stored;
    }
  }
  stored = await database.db.transaction(async (tx) => {
    const exec = execIn(tx);
    await identity.apply(tx, ctx, unique);
    const resolved = await identity.resolve(exec, ctx, unique);
    accountIds = resolved.accountIds;
    return repo.insertEvents(exec, { workspaceId: ctx.workspaceId, receivedAt: ctx.asOf, messages: unique, ids, accountIds: resolved.accountIds });
  });
  await notify(ctx, accountIds);
  return stored;
}

/** After commit: the accounts this batch touched go to the registered listeners (caches, re-scoring). */
async function notify(ctx: Ctx, accountIds: readonly (string | null)[]) {
  const distinct = [...new Set(accountIds.filter((a): a is string => Boolean(a)))];
  await ctx.deps.registry.notifyIngest(ctx, distinct);
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

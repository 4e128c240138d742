import type { ErrorCode } from '../../../kernel/errors.ts';
import { parseInstant } from '../../../kernel/dates.ts';
import { err, ok, type Result } from '../../../kernel/result.ts';
import {
  MAX_EVENT_BYTES,
  MAX_ID_LENGTH,
  MAX_JSON_DEPTH,
  MAX_NAME_LENGTH,
  MESSAGE_TYPES,
  type MessageType,
  type NormalizedMessage,
} from '../events.ts';

export interface MessageProblem {
  code: ErrorCode;
  message: string;
  param: string;
}

export interface NormalizeOptions {
  index: number;
  /** Forced by the path of a single call (/v1/track → 'track'); a batch message names its own type. */
  type?: MessageType;
  /** The workspace clock at reception. */
  receivedAt: Date;
  /** Batch-level context, merged under each message's own context (the message wins per key). */
  batchContext?: Record<string, unknown> | null;
  /** Batch-level sentAt (analytics-node sends it there), used when a message has none. */
  batchSentAt?: Date | null;
  /** Prefix of parameter names in errors: '' for a single call, 'batch[3].' in a batch. */
  paramPrefix: string;
  /** Bytes of the message as received, when known (single calls); otherwise measured here. */
  bytes?: number;
  /** Makes a messageId for a message without one (random: such a message cannot be deduplicated). */
  newMessageId: () => string;
}

const EARLIEST = Date.UTC(1970, 0, 1);
const LATEST = Date.UTC(10000, 0, 1);

export const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Validates one Segment message and normalizes it. Pure: the same input gives the same output.
 *
 * Clock skew, exactly as Segment corrects it: when a message carries both `sentAt` (the
 * client's clock when the request left) and `timestamp` (the client's clock when the event
 * happened), the client clock's offset cancels out:
 *   timestamp = receivedAt − (sentAt − timestamp)
 * e.g. a device 1 hour slow: timestamp 09:59:30, sentAt 10:00:00, received at 11:00:05
 * → 11:00:05 − 30 s = 10:59:35. Without sentAt the timestamp is taken as sent; without a
 * timestamp the event happened when it was received.
 */
export function normalizeMessage(raw: unknown, o: NormalizeOptions): Result<NormalizedMessage, MessageProblem> {
  // (No closures here: this runs once per ingested message, and allocations add up.)
  if (!isPlainObject(raw)) return err({ code: 'parameter_invalid', message: 'Each message must be a JSON object.', param: whole(o) });

  const serialized = JSON.stringify(raw);
  // Measuring UTF-8 bytes only matters when the UTF-16 length could be over the limit (a UTF-8
  // byte count is at least the number of UTF-16 code units, at most three times it).
  const bytes = o.bytes ?? (serialized.length * 3 <= MAX_EVENT_BYTES ? serialized.length : Buffer.byteLength(serialized, 'utf8'));
  if (bytes > MAX_EVENT_BYTES) {
    return err({ code: 'event_too_large', message: `The message is ${bytes} bytes; a message may be at most ${MAX_EVENT_BYTES} bytes (32 KB).`, param: whole(o) });
  }
  // PostgreSQL text and jsonb cannot hold NUL characters or unpaired surrogates; JSON.stringify
  // writes exactly those as \u escapes (an escaped backslash before them is not one).
  if (serialized.includes('\\u') && /(?:^|[^\\])(?:\\\\)*\\u(?:0000|d[89a-f][0-9a-f]{2})/i.test(serialized)) {
    return err({ code: 'parameter_invalid', message: 'The message contains a NUL character or an unpaired UTF-16 surrogate.', param: whole(o) });
  }
  if (depthExceeds(raw, MAX_JSON_DEPTH)) return err({ code: 'parameter_invalid', message: `The message nests deeper than ${MAX_JSON_DEPTH} levels.`, param: whole(o) });

  const type = o.type ?? raw.type;
  if (type === undefined || type === null) return bad(o, 'type', `'type' is required: one of ${MESSAGE_TYPES.join(', ')}.`, 'parameter_missing');
  if (typeof type !== 'string' || !(MESSAGE_TYPES as readonly string[]).includes(type)) return bad(o, 'type', `'type' must be one of ${MESSAGE_TYPES.join(', ')}.`);
  const t = type as MessageType;

  const messageId = idField(raw.messageId);
  if (messageId === 'invalid') return bad(o, 'messageId', `'messageId' must be a non-empty string of at most 255 characters.`);
  if (typeof messageId === 'string' && messageId.length > 255) return bad(o, 'messageId', `'messageId' must be at most 255 characters.`);
  const userId = idField(raw.userId);
  if (userId === 'invalid') return bad(o, 'userId', `'userId' must be a string or a number of at most ${MAX_ID_LENGTH} characters.`);
  const anonymousId = idField(raw.anonymousId);
  if (anonymousId === 'invalid') return bad(o, 'anonymousId', `'anonymousId' must be a string or a number of at most ${MAX_ID_LENGTH} characters.`);
  if (!userId && !anonymousId) return bad(o, 'userId', `Every message needs a 'userId' or an 'anonymousId'.`, 'parameter_missing');

  for (const f of ['properties', 'traits', 'context'] as const) {
    if (raw[f] !== undefined && raw[f] !== null && !isPlainObject(raw[f])) return bad(o, f, `'${f}' must be a JSON object.`);
  }
  const ownContext = (raw.context ?? null) as Record<string, unknown> | null;
  const context = o.batchContext ? { ...o.batchContext, ...(ownContext ?? {}) } : ownContext;

  let event: string | null = null;
  let groupId: string | null = null;
  let previousId: string | null = null;
  if (t === 'track') {
    if (raw.event === undefined || raw.event === null || raw.event === '') return bad(o, 'event', `A track call needs an 'event' name.`, 'parameter_missing');
    if (typeof raw.event !== 'string' || raw.event.length > MAX_NAME_LENGTH) return bad(o, 'event', `'event' must be a string of at most ${MAX_NAME_LENGTH} characters.`);
    event = raw.event;
  } else if (t === 'page' || t === 'screen') {
    if (raw.name !== undefined && raw.name !== null && (typeof raw.name !== 'string' || raw.name.length > MAX_NAME_LENGTH)) {
      return bad(o, 'name', `'name' must be a string of at most ${MAX_NAME_LENGTH} characters.`);
    }
    event = (raw.name as string | undefined) || null;
  }
  if (t === 'group') {
    const g = idField(raw.groupId);
    if (g === null) return bad(o, 'groupId', `A group call needs a 'groupId'.`, 'parameter_missing');
    if (g === 'invalid') return bad(o, 'groupId', `'groupId' must be a string or a number of at most ${MAX_ID_LENGTH} characters.`);
    groupId = g;
  } else if (context && context.groupId !== undefined && context.groupId !== null) {
    const g = idField(context.groupId);
    if (g === 'invalid') return bad(o, 'context.groupId', `'context.groupId' must be a string or a number of at most ${MAX_ID_LENGTH} characters.`);
    groupId = g;
  }
  if (t === 'alias') {
    const prev = idField(raw.previousId);
    if (prev === null) return bad(o, 'previousId', `An alias call needs a 'previousId'.`, 'parameter_missing');
    if (prev === 'invalid') return bad(o, 'previousId', `'previousId' must be a string or a number of at most ${MAX_ID_LENGTH} characters.`);
    if (!userId) return bad(o, 'userId', `An alias call needs a 'userId'.`, 'parameter_missing');
    previousId = prev;
  }

  const ts = instantField(raw.timestamp);
  if (ts === 'invalid') return bad(o, 'timestamp', `'timestamp' must be an ISO 8601 instant with a zone, e.g. 2026-01-15T12:00:00.000Z.`);
  const ownSentAt = instantField(raw.sentAt);
  if (ownSentAt === 'invalid') return bad(o, 'sentAt', `'sentAt' must be an ISO 8601 instant with a zone.`);
  const sentAt = ownSentAt ?? o.batchSentAt ?? null;
  const timestamp = correctSkew(o.receivedAt, ts, sentAt);
  if (timestamp.getTime() < EARLIEST || timestamp.getTime() >= LATEST) return bad(o, 'timestamp', `'timestamp' must fall between 1970 and 9999 (after clock-skew correction).`);

  return ok({
    index: o.index,
    messageId: messageId ?? o.newMessageId(),
    type: t,
    event,
    userId,
    anonymousId,
    groupId,
    previousId,
    timestamp,
    sentAt,
    receivedAt: o.receivedAt,
    properties: (raw.properties ?? null) as Record<string, unknown> | null,
    traits: (raw.traits ?? null) as Record<string, unknown> | null,
    context: context && Object.keys(context).length > 0 ? context : null,
  });
}

/** The parameter naming the whole message: 'body' for a single call, 'batch[3]' in a batch. */
function whole(o: NormalizeOptions): string {
  return o.paramPrefix === '' ? 'body' : o.paramPrefix.replace(/\.$/, '');
}

function bad(o: NormalizeOptions, field: string, message: string, code: ErrorCode = 'parameter_invalid') {
  return err({ code, message, param: `${o.paramPrefix}${field}` });
}

/** receivedAt − (sentAt − timestamp) when both are known; the timestamp as sent, or receivedAt. */
export function correctSkew(receivedAt: Date, timestamp: Date | null, sentAt: Date | null): Date {
  if (!timestamp) return receivedAt;
  if (!sentAt) return timestamp;
  return new Date(receivedAt.getTime() - (sentAt.getTime() - timestamp.getTime()));
}

/** Ids may be strings or numbers (Segment coerces numbers); '' counts as absent. */
function idField(v: unknown): string | null | 'invalid' {
  if (v === undefined || v === null || v === '') return null;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v !== 'string' || v.length > MAX_ID_LENGTH) return 'invalid';
  return v;
}

function instantField(v: unknown): Date | null | 'invalid' {
  if (v === undefined || v === null || v === '') return null;
  if (typeof v !== 'string') return 'invalid';
  return parseInstant(v) ?? 'invalid';
}

/** Whether JSON nests deeper than `max` levels (the root object is level 1). Stops at max + 1. */
function depthExceeds(v: unknown, max: number, depth = 1): boolean {
  if (depth > max) return true;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const c = v[i];
      if (typeof c === 'object' && c !== null && depthExceeds(c, max, depth + 1)) return true;
    }
    return false;
  }
  for (const k in v as Record<string, unknown>) {
    const c = (v as Record<string, unknown>)[k];
    if (typeof c === 'object' && c !== null && depthExceeds(c, max, depth + 1)) return true;
  }
  return false;
}

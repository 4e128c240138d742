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
  /**
   * Set only when `raw` is a value JSON.parse returned for a text that `jsonMayHoldUnstorable`
   * found clean: then the message cannot hold a NUL or an unpaired surrogate, and its size is
   * bounded while checking its depth (see `serializedBytesBound`) — it is serialized only when
   * that bound does not already prove it fits in 32 KB.
   */
  parsedFromCleanJson?: boolean;
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

  // The fast path (the usual message): parsed from a text without NUL or surrogate escapes, not
  // too deep, and provably under 32 KB (or measured by the caller) — nothing to serialize. Any
  // other message takes the exact checks below, in their order (size, then characters, then depth).
  const fast = o.parsedFromCleanJson === true && (o.bytes === undefined ? serializedBytesBound(raw, MAX_EVENT_BYTES) <= MAX_EVENT_BYTES : o.bytes <= MAX_EVENT_BYTES && !depthExceeds(raw, MAX_JSON_DEPTH));
  if (!fast) {
    const problem = serializedProblem(raw, o);
    if (problem) return problem;
  }

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

/**
 * The checks that need the message serialized: its size (32 KB), NUL characters and unpaired
 * surrogates (which PostgreSQL text and jsonb cannot hold), then its depth.
 */
function serializedProblem(raw: Record<string, unknown>, o: NormalizeOptions): Result<never, MessageProblem> | null {
  const serialized = JSON.stringify(raw);
  // Measuring UTF-8 bytes only matters when the UTF-16 length could be over the limit (a UTF-8
  // byte count is at least the number of UTF-16 code units, at most three times it).
  const bytes = o.bytes ?? (serialized.length * 3 <= MAX_EVENT_BYTES ? serialized.length : Buffer.byteLength(serialized, 'utf8'));
  if (bytes > MAX_EVENT_BYTES) {
    return err({ code: 'event_too_large', message: `The message is ${bytes} bytes; a message may be at most ${MAX_EVENT_BYTES} bytes (32 KB).`, param: whole(o) });
  }
  if (serializedHoldsUnstorable(serialized)) {
    return err({ code: 'parameter_invalid', message: 'The message contains a NUL character or an unpaired UTF-16 surrogate.', param: whole(o) });
  }
  if (depthExceeds(raw, MAX_JSON_DEPTH)) return err({ code: 'parameter_invalid', message: `The message nests deeper than ${MAX_JSON_DEPTH} levels.`, param: whole(o) });
  return null;
}

/**
 * Whether a JSON.stringify output holds a NUL character or an unpaired UTF-16 surrogate, which
 * PostgreSQL text and jsonb cannot store: JSON.stringify writes exactly those as \u escapes (an
 * escaped backslash before them is not one).
 */
export function serializedHoldsUnstorable(serialized: string): boolean {
  return serialized.includes('\\u') && /(?:^|[^\\])(?:\\\\)*\\u(?:0000|d[89a-f][0-9a-f]{2})/i.test(serialized);
}

/**
 * Whether values JSON.parse makes of this text may hold a NUL character or an unpaired UTF-16
 * surrogate. JSON text can only spell a NUL as the escape \u0000 (a raw control character is a
 * syntax error) and a surrogate as an escape \uD800–\uDFFF or as the character itself, so a text
 * with none of those cannot. Conservative: an escaped backslash before "u0000", or a surrogate
 * escape that is half of a pair, also answers true (those messages take the exact check).
 */
export function jsonMayHoldUnstorable(text: string): boolean {
  // String.prototype.isWellFormed (ES2024: no unpaired surrogate) is in Node 20, not in our TS lib.
  return !(text as string & { isWellFormed(): boolean }).isWellFormed() || (text.includes('\\u') && /\\u(?:0000|[dD][89abcdefABCDEF])/.test(text));
}

/**
 * The longest JSON.stringify of a number: 25 characters, a negative number in [1e-6, 1e-5) written
 * out in decimals, "-0.0000010208010360097032" (sign, "0.", five zeros, 17 significant digits).
 * The longest in exponent form is one shorter: "-1.7976931348623157e+308".
 */
const NUMBER_BYTES = 25;

/**
 * An upper bound of the UTF-8 bytes of JSON.stringify(v), for a value JSON.parse returned, or
 * +Infinity when v nests deeper than MAX_JSON_DEPTH (the root object is level 1). Stops once the
 * bound passes `stopAbove`. Per value, at most: a string of n UTF-16 code units 2 + 6n (each unit
 * written as itself in ≤ 3 bytes, a two-character escape, or a six-character \u escape); a number
 * NUMBER_BYTES; true, false, null 5; an object 2 + per key (key as a string) + 2 + value (colon
 * and comma); an array 2 + per element value + 1.
 * E.g. {"a":[1,"xy"]} ≤ 2 + (2 + 6) + 2 + (2 + (25 + 1) + (2 + 12 + 1)) = 55 (it is 14).
 */
export function serializedBytesBound(v: unknown, stopAbove: number): number {
  return typeof v === 'string' ? 2 + 6 * v.length : typeof v === 'object' && v !== null ? boundOf(v, 1, stopAbove) : NUMBER_BYTES;
}

/** serializedBytesBound of an object or array at `depth`. */
function boundOf(v: object, depth: number, stopAbove: number): number {
  if (depth > MAX_JSON_DEPTH) return Infinity;
  let total = 2;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const c = v[i];
      total += (typeof c === 'string' ? 2 + 6 * c.length : typeof c === 'object' && c !== null ? boundOf(c, depth + 1, stopAbove) : NUMBER_BYTES) + 1;
      if (total > stopAbove) return total;
    }
    return total;
  }
  for (const k in v as Record<string, unknown>) {
    const c = (v as Record<string, unknown>)[k];
    total += 4 + 6 * k.length + (typeof c === 'string' ? 2 + 6 * c.length : typeof c === 'object' && c !== null ? boundOf(c, depth + 1, stopAbove) : NUMBER_BYTES);
    if (total > stopAbove) return total;
  }
  return total;
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
  return canonicalInstant(v) ?? parseInstant(v) ?? 'invalid';
}

/**
 * The instant of the form every Segment library sends (Date.toISOString(): 2026-01-15T12:00:00.000Z),
 * read without a regular expression and a date parser — or null for anything else, which then
 * goes to `parseInstant`. Only unambiguous values are taken here: years 1000–9999, days 1–28
 * (no month-end roll-over question), hours 0–23, minutes and seconds 0–59; for those,
 * Date.UTC gives what `new Date(s)` gives.
 */
export function canonicalInstant(s: string): Date | null {
  if (s.length !== 24 || s.charCodeAt(23) !== 90 /* Z */) return null;
  if (s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || s.charCodeAt(10) !== 84 || s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58 || s.charCodeAt(19) !== 46) return null;
  const year = digits(s, 0, 4);
  const month = digits(s, 5, 2);
  const day = digits(s, 8, 2);
  const hour = digits(s, 11, 2);
  const minute = digits(s, 14, 2);
  const second = digits(s, 17, 2);
  const ms = digits(s, 20, 3);
  if (year < 1000 || month < 1 || month > 12 || day < 1 || day > 28 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59 || ms < 0) return null;
  return new Date(Date.UTC(year, month - 1, day, hour, minute, second, ms));
}

/** The decimal number of s[from, from + n), or -1 when any of those is not a digit 0–9. */
function digits(s: string, from: number, n: number): number {
  let v = 0;
  for (let i = from; i < from + n; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

/** Whether JSON nests deeper than `max` levels (the root object is level 1). Stops at max + 1. */
export function depthExceeds(v: unknown, max: number, depth = 1): boolean {
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

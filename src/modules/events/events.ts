/** Product events: the Segment-compatible message model, limits, and the identity port. */
import type { Ctx, Db } from '../../context.ts';
import type { ErrorCode } from '../../kernel/errors.ts';
import type { QueryOptions } from '../../db/client.ts';

export const MESSAGE_TYPES = ['track', 'identify', 'group', 'page', 'screen', 'alias'] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];
/** Messages that change identity (contacts, accounts, links); everything else is only stored. */
export const IDENTITY_TYPES: ReadonlySet<MessageType> = new Set(['identify', 'group', 'alias']);

/** Segment's limits: 32 KB per message, 500 KB per batch request. */
export const MAX_EVENT_BYTES = 32 * 1024;
export const MAX_BATCH_BYTES = 500 * 1024;
/** The route accepts bodies up to this size so that anything between the limit and it gets a clear 400, not a 413. */
export const INGEST_BODY_LIMIT_BYTES = 1024 * 1024;
export const MAX_ID_LENGTH = 512;
export const MAX_NAME_LENGTH = 1024;
/** Deeper JSON is refused (PostgreSQL's jsonb parser recurses). */
export const MAX_JSON_DEPTH = 64;

/** A validated message, ready to resolve and store. */
export interface NormalizedMessage {
  /** Position in the request (0 for a single call). */
  index: number;
  messageId: string;
  type: MessageType;
  /** track: event; page/screen: name. */
  event: string | null;
  userId: string | null;
  anonymousId: string | null;
  /** group: groupId; others: context.groupId (as sent). */
  groupId: string | null;
  /** alias: previousId. */
  previousId: string | null;
  /** Clock-skew corrected: receivedAt − (sentAt − timestamp) when both are given. */
  timestamp: Date;
  sentAt: Date | null;
  receivedAt: Date;
  properties: Record<string, unknown> | null;
  traits: Record<string, unknown> | null;
  context: Record<string, unknown> | null;
}

/** A message of a batch that was not stored, and why. */
export interface Rejection {
  index: number;
  messageId: string | null;
  code: ErrorCode;
  message: string;
  param: string | null;
}

export interface IngestResult {
  /** Messages that passed validation (stored now or before). */
  accepted: number;
  rejected: Rejection[];
}

/**
 * Raw parameterised SQL, on the shared connection or inside a transaction (see `execIn`).
 * `opts.name` makes it a named prepared statement on PostgreSQL (see `Database.query`).
 */
export type Exec = <T = Record<string, unknown>>(text: string, params?: unknown[], opts?: QueryOptions) => Promise<T[]>;

/**
 * Identity resolution, implemented by the accounts module and handed to `ingest` by the route
 * (events never imports accounts; accounts uses events' storage functions).
 */
export interface IdentityPort {
  /**
   * The account of each message (same order), set-based: one query for the whole batch.
   * `missingGroupIds` lists group ids that have no account yet (the caller then runs `apply`).
   * `groupsInMemory`: group ids may be answered from the process's memory of them, valid while the
   * workspace's identity epoch stands still (one row read instead of a lookup of each). Not under
   * the identity lock, where the caller reads what it is about to write.
   */
  resolve(
    exec: Exec,
    ctx: Ctx,
    messages: readonly NormalizedMessage[],
    opts?: { groupsInMemory?: boolean },
  ): Promise<{ accountIds: (string | null)[]; missingGroupIds: string[] }>;
  /**
   * Inside the ingest transaction: takes the workspace's identity lock (identity writes are
   * serialized per workspace, so concurrent batches cannot deadlock), skips identity messages
   * already stored (a retried batch), creates accounts for unknown group ids, then applies
   * identify/group/alias messages in order (contacts, traits, links, memberships, and the
   * retroactive attachment of the user's unmatched events). Idempotent. Several requests' parts
   * (one workspace, in arrival order) are applied as one, each call on behalf of its own request.
   */
  apply(tx: Db, parts: readonly ApplyPart[]): Promise<void>;
}

/** A request's messages for IdentityPort.apply, with the request's context (instant, actor, request id). */
export interface ApplyPart {
  ctx: Ctx;
  messages: readonly NormalizedMessage[];
}

/** One stored product event as other modules read it. */
export interface ProductEvent {
  id: string;
  messageId: string;
  type: MessageType;
  event: string | null;
  userId: string | null;
  anonymousId: string | null;
  groupId: string | null;
  accountId: string | null;
  timestamp: Date;
  receivedAt: Date;
  sentAt: Date | null;
  properties: Record<string, unknown> | null;
  traits: Record<string, unknown> | null;
  context: Record<string, unknown> | null;
}

/** A user (or anonymous visitor) whose events matched no account. */
export interface UnmatchedIdentity {
  key: string;
  userId: string | null;
  anonymousId: string | null;
  eventCount: number;
  firstSeenAt: Date;
  lastSeenAt: Date;
}

import { sql } from 'drizzle-orm';
import { bigint, boolean, check, index, jsonb, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { instant } from './columns.ts';

export const workspaces = pgTable(
  'workspaces',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    sandbox: boolean('sandbox').notNull().default(false),
    /** The frozen time of a sandbox workspace's test clock; null for live workspaces. */
    testClockTime: instant('test_clock_time'),
    /** 'ready' or 'advancing'; a second advance while one runs is refused. */
    testClockStatus: text('test_clock_status').notNull().default('ready'),
    settings: jsonb('settings').$type<Record<string, unknown>>().notNull().default({}),
    createdAt: instant('created_at').notNull(),
  },
  (t) => [
    check('workspaces_clock_only_in_sandbox', sql`(${t.sandbox} AND ${t.testClockTime} IS NOT NULL) OR (NOT ${t.sandbox} AND ${t.testClockTime} IS NULL)`),
    check('workspaces_clock_status', sql`${t.testClockStatus} IN ('ready', 'advancing')`),
  ],
);

export const apiKeys = pgTable(
  'api_keys',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id').notNull().references(() => workspaces.id),
    /** 'secret' (sk_…, management API) or 'write' (wk_…, ingestion only). */
    kind: text('kind').notNull(),
    name: text('name').notNull(),
    scopes: text('scopes').array().notNull(),
    /** sha256 of the whole key; the key itself is shown once and never stored. */
    keyHash: text('key_hash').notNull(),
    /** First and last characters, to recognise a key in lists: "sk_4f…x9Qa". */
    redacted: text('redacted').notNull(),
    createdAt: instant('created_at').notNull(),
    lastUsedAt: instant('last_used_at'),
    revokedAt: instant('revoked_at'),
  },
  (t) => [
    uniqueIndex('api_keys_hash').on(t.keyHash),
    index('api_keys_workspace').on(t.workspaceId, t.id),
    check('api_keys_kind', sql`${t.kind} IN ('secret', 'write')`),
  ],
);

export const auditLog = pgTable(
  'audit_log',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id').notNull().references(() => workspaces.id),
    /** 'api_key', 'system' (jobs, test clock) or 'cli'. */
    actorType: text('actor_type').notNull(),
    actorId: text('actor_id'),
    action: text('action').notNull(),
    entityType: text('entity_type').notNull(),
    entityId: text('entity_id').notNull(),
    before: jsonb('before'),
    after: jsonb('after'),
    requestId: text('request_id'),
    createdAt: instant('created_at').notNull(),
  },
  (t) => [index('audit_log_workspace').on(t.workspaceId, t.id), index('audit_log_entity').on(t.workspaceId, t.entityId)],
);

export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    workspaceId: text('workspace_id').notNull().references(() => workspaces.id),
    key: text('key').notNull(),
    /** sha256 of method, path and canonical body: the same key with another request is a 409. */
    requestHash: text('request_hash').notNull(),
    /** null while the first request is still running. */
    responseStatus: bigint('response_status', { mode: 'number' }),
    responseBody: text('response_body'),
    createdAt: instant('created_at').notNull(),
  },
  (t) => [uniqueIndex('idempotency_keys_pk').on(t.workspaceId, t.key), index('idempotency_keys_created').on(t.createdAt)],
);

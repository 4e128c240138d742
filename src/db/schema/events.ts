import { sql } from 'drizzle-orm';
import { check, index, jsonb, pgTable, primaryKey, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { instant } from './columns.ts';

/**
 * Product events received through the Segment-compatible ingestion API (track, identify, group,
 * page, screen, alias). Not to be confused with `events`, the outbox of domain events.
 *
 * The hot table: every index costs on insert (each full index here costs ~20% of insert
 * throughput on PostgreSQL), so only what queries need —
 * - (workspace, id) PRIMARY KEY: ids are time-sortable, so a workspace's events in the order
 *   they were stored — scoring's sweep reads "this workspace's events after id X" and "its
 *   newest event" as a range of its own. Keyed by id alone, those scans walked every other
 *   workspace's newer events on a shared database.
 * - (workspace, message_id) UNIQUE: dedupe for good; a retried batch never double-counts.
 * - (workspace, account, timestamp, id): timelines, metering, merges re-pointing an account.
 * - (workspace, user_id, anonymous_id) WHERE account_id IS NULL: attaching a user's (or an
 *   anonymous visitor's) unmatched events once identified, and listing unmatched users. Partial,
 *   so matched events — nearly all of them — never touch it. Per-user queries over matched events
 *   go through the account index; add a full (workspace, user_id) index if one ever needs more.
 * No foreign keys here (a lookup per inserted row); account_id is written by the events and
 * accounts modules only.
 */
export const productEvents = pgTable(
  'product_events',
  {
    id: text('id').notNull(),
    workspaceId: text('workspace_id').notNull(),
    messageId: text('message_id').notNull(),
    type: text('type').notNull(),
    /** track: the event name; page/screen: the page name. */
    event: text('event'),
    userId: text('user_id'),
    anonymousId: text('anonymous_id'),
    /** The group id as sent (group call's groupId or context.groupId). */
    groupId: text('group_id'),
    /** The resolved account (acct_…), null while unmatched. */
    accountId: text('account_id'),
    /** When it happened (clock-skew corrected), on the sender's timeline. */
    timestamp: instant('timestamp').notNull(),
    /** When Tandem received it (the workspace clock: the test clock in a sandbox). */
    receivedAt: instant('received_at').notNull(),
    sentAt: instant('sent_at'),
    properties: jsonb('properties').$type<Record<string, unknown>>(),
    traits: jsonb('traits').$type<Record<string, unknown>>(),
    context: jsonb('context').$type<Record<string, unknown>>(),
  },
  (t) => [
    primaryKey({ name: 'product_events_pkey', columns: [t.workspaceId, t.id] }),
    uniqueIndex('product_events_message').on(t.workspaceId, t.messageId),
    // id COLLATE "C": the timeline's tie-break compares ids bytewise, whatever the database collation.
    index('product_events_account_time').on(t.workspaceId, t.accountId, t.timestamp, sql`${t.id} COLLATE "C"`),
    index('product_events_unmatched').on(t.workspaceId, t.userId, t.anonymousId).where(sql`${t.accountId} IS NULL`),
    check('product_events_type', sql`${t.type} IN ('track', 'identify', 'group', 'page', 'screen', 'alias')`),
    check('product_events_identity', sql`${t.userId} IS NOT NULL OR ${t.anonymousId} IS NOT NULL`),
  ],
);

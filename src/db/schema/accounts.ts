import { sql } from 'drizzle-orm';
import { bigint, boolean, check, index, jsonb, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { instant } from './columns.ts';
import { workspaces } from './workspaces.ts';

/**
 * Per workspace, a counter moved by every change to what a group id resolves to: a merge (the
 * merged account's group id now names the survivor) and an account's external_id set, changed or
 * removed through the API — in that change's own transaction. Ingestion keeps group id → account
 * in memory while the counter stands still (modules/accounts `GroupAccounts`), so a batch reads
 * this one row instead of looking up every group id it carries. No row: 0.
 */
export const identityEpochs = pgTable('identity_epochs', {
  workspaceId: text('workspace_id')
    .primaryKey()
    .references(() => workspaces.id),
  epoch: bigint('epoch', { mode: 'number' }).notNull(),
});

/**
 * Accounts (companies, `acct_`). `external_id` is the Segment group id. A merged account keeps
 * its row (status 'merged', `merged_into` the survivor) so every lookup by its id still resolves;
 * merges compress chains, so `merged_into` always names a live account.
 */
export const accounts = pgTable(
  'accounts',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id').notNull().references(() => workspaces.id),
    externalId: text('external_id'),
    name: text('name'),
    status: text('status').notNull().default('active'),
    mergedInto: text('merged_into'),
    mergedAt: instant('merged_at'),
    employees: bigint('employees', { mode: 'number' }),
    industry: text('industry'),
    country: text('country'),
    segment: text('segment'),
    motion: text('motion'),
    ownerId: text('owner_id'),
    lifecycleStage: text('lifecycle_stage'),
    /** Every group trait as last sent (merged, newest message wins per key). */
    traits: jsonb('traits').$type<Record<string, unknown>>().notNull().default({}),
    /** Timestamp of the newest group message applied: an older (late or retried) one never overrides it. */
    traitsAt: instant('traits_at'),
    createdAt: instant('created_at').notNull(),
    updatedAt: instant('updated_at').notNull(),
  },
  (t) => [
    uniqueIndex('accounts_external_id').on(t.workspaceId, t.externalId).where(sql`${t.externalId} IS NOT NULL`),
    index('accounts_workspace').on(t.workspaceId, t.id),
    index('accounts_merged_into').on(t.workspaceId, t.mergedInto).where(sql`${t.mergedInto} IS NOT NULL`),
    check('accounts_status', sql`${t.status} IN ('active', 'merged')`),
    check('accounts_merged', sql`(${t.status} = 'merged') = (${t.mergedInto} IS NOT NULL) AND ${t.mergedInto} IS DISTINCT FROM ${t.id}`),
    check('accounts_employees', sql`${t.employees} IS NULL OR ${t.employees} >= 0`),
    check('accounts_segment', sql`${t.segment} IS NULL OR ${t.segment} IN ('smb', 'mid_market', 'enterprise')`),
    check('accounts_motion', sql`${t.motion} IS NULL OR ${t.motion} IN ('self_serve', 'sales_assisted', 'sales_led')`),
  ],
);

/**
 * An account's web domains. A claimed domain belongs to exactly one account of the workspace
 * (email-domain resolution uses claimed domains only). Ingestion may find a domain already
 * claimed by another account (two group ids, one company): it is kept unclaimed, and the pair
 * shows up in GET /v1/accounts/duplicates for consolidation.
 */
export const accountDomains = pgTable(
  'account_domains',
  {
    workspaceId: text('workspace_id').notNull().references(() => workspaces.id),
    accountId: text('account_id').notNull().references(() => accounts.id),
    domain: text('domain').notNull(),
    claimed: boolean('claimed').notNull(),
    /** 'api' or 'group' (from group traits domain/website). */
    source: text('source').notNull(),
    createdAt: instant('created_at').notNull(),
  },
  (t) => [
    uniqueIndex('account_domains_pk').on(t.workspaceId, t.domain, t.accountId),
    uniqueIndex('account_domains_claimed').on(t.workspaceId, t.domain).where(sql`${t.claimed}`),
    index('account_domains_account').on(t.workspaceId, t.accountId),
    check('account_domains_source', sql`${t.source} IN ('api', 'group')`),
  ],
);

/**
 * Contacts (people, `cont_`), keyed by the Segment user id. `account_id` is the user → account
 * link that later events roll up to; `account_source` ranks it: 'group' (latest group call) and
 * 'api' above 'company' (traits.company.id) above 'domain' (corporate email domain).
 */
export const contacts = pgTable(
  'contacts',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id').notNull().references(() => workspaces.id),
    userId: text('user_id'),
    email: text('email'),
    emailDomain: text('email_domain'),
    name: text('name'),
    companyExternalId: text('company_external_id'),
    traits: jsonb('traits').$type<Record<string, unknown>>().notNull().default({}),
    traitsAt: instant('traits_at'),
    accountId: text('account_id').references(() => accounts.id),
    accountSource: text('account_source'),
    accountLinkedAt: instant('account_linked_at'),
    createdAt: instant('created_at').notNull(),
    updatedAt: instant('updated_at').notNull(),
  },
  (t) => [
    uniqueIndex('contacts_user').on(t.workspaceId, t.userId).where(sql`${t.userId} IS NOT NULL`),
    index('contacts_workspace').on(t.workspaceId, t.id),
    index('contacts_account').on(t.workspaceId, t.accountId),
    index('contacts_email').on(t.workspaceId, t.email),
    index('contacts_email_domain').on(t.workspaceId, t.emailDomain),
    index('contacts_company').on(t.workspaceId, t.companyExternalId).where(sql`${t.companyExternalId} IS NOT NULL`),
    check('contacts_account_source', sql`(${t.accountId} IS NULL) = (${t.accountSource} IS NULL) AND (${t.accountSource} IS NULL OR ${t.accountSource} IN ('group', 'api', 'company', 'domain'))`),
  ],
);

/** Other ids a contact is known by: anonymous ids seen with its user id, alias previousIds. */
export const contactAliases = pgTable(
  'contact_aliases',
  {
    workspaceId: text('workspace_id').notNull().references(() => workspaces.id),
    alias: text('alias').notNull(),
    contactId: text('contact_id').notNull().references(() => contacts.id),
    kind: text('kind').notNull(),
    createdAt: instant('created_at').notNull(),
  },
  (t) => [
    uniqueIndex('contact_aliases_pk').on(t.workspaceId, t.alias),
    index('contact_aliases_contact').on(t.workspaceId, t.contactId),
    check('contact_aliases_kind', sql`${t.kind} IN ('anonymous', 'previous_id')`),
  ],
);

/** Group memberships (a user may belong to several accounts); the contact's link is the latest. */
export const accountMemberships = pgTable(
  'account_memberships',
  {
    workspaceId: text('workspace_id').notNull().references(() => workspaces.id),
    accountId: text('account_id').notNull().references(() => accounts.id),
    contactId: text('contact_id').notNull().references(() => contacts.id),
    firstSeenAt: instant('first_seen_at').notNull(),
    lastSeenAt: instant('last_seen_at').notNull(),
  },
  (t) => [uniqueIndex('account_memberships_pk').on(t.workspaceId, t.accountId, t.contactId), index('account_memberships_contact').on(t.workspaceId, t.contactId)],
);

/**
 * The identity and merge items of an account's timeline (product events come from
 * product_events). `dedupe_key` makes an item written while ingesting idempotent: a retried
 * batch adds nothing.
 */
export const accountActivity = pgTable(
  'account_activity',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id').notNull().references(() => workspaces.id),
    accountId: text('account_id').notNull().references(() => accounts.id),
    type: text('type').notNull(),
    kind: text('kind').notNull(),
    summary: text('summary').notNull(),
    data: jsonb('data').$type<Record<string, unknown>>().notNull().default({}),
    occurredAt: instant('occurred_at').notNull(),
    dedupeKey: text('dedupe_key'),
    createdAt: instant('created_at').notNull(),
  },
  (t) => [
    index('account_activity_timeline').on(t.workspaceId, t.accountId, t.occurredAt, sql`${t.id} COLLATE "C"`),
    uniqueIndex('account_activity_dedupe').on(t.workspaceId, t.dedupeKey).where(sql`${t.dedupeKey} IS NOT NULL`),
    check('account_activity_type', sql`${t.type} IN ('identity', 'merge')`),
  ],
);

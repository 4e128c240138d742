import { sql } from 'drizzle-orm';
import { bigint, boolean, check, index, integer, jsonb, numeric, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { instant } from './columns.ts';

const minor = (name: string) => bigint(name, { mode: 'number' });

/**
 * Sales-led quotes: one plan (version) with negotiated prices and discounts, term, start,
 * payment terms and expiry; approval; acceptance; conversion into a subscription (new, or an
 * amendment of the running one at contract start).
 */
export const quotes = pgTable(
  'quotes',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id').notNull(),
    /** Q-000001, per workspace, assigned at creation. */
    number: text('number').notNull(),
    status: text('status').notNull(),
    accountId: text('account_id').notNull(),
    planId: text('plan_id').notNull(),
    planVersionId: text('plan_version_id').notNull(),
    currency: text('currency').notNull(),
    interval: text('interval').notNull(),
    /** Seats for per-seat prices. */
    quantity: integer('quantity').notNull(),
    termMonths: integer('term_months').notNull(),
    /** Contract start; null = at acceptance (new subscription) or at the running subscription's period end. */
    startDate: instant('start_date'),
    collectionMethod: text('collection_method').notNull(),
    daysUntilDue: integer('days_until_due'),
    expiresAt: instant('expires_at').notNull(),
    /** Whole-quote discount: a percentage or an amount per billing period. */
    discountType: text('discount_type'),
    discountPercent: numeric('discount_percent'),
    discountAmount: minor('discount_amount'),
    freeMonths: integer('free_months').notNull().default(0),
    requestedByCustomer: boolean('requested_by_customer').notNull().default(false),
    /** The running subscription a customer request came from. */
    sourceSubscriptionId: text('source_subscription_id'),
    memo: text('memo'),
    /** Why approval is needed (rules that fired), decided at submission. */
    approvalReasons: jsonb('approval_reasons').$type<string[]>().notNull().default([]),
    approval: jsonb('approval').$type<Record<string, unknown>>(),
    acceptance: jsonb('acceptance').$type<Record<string, unknown>>(),
    declineReason: text('decline_reason'),
    /** The first invoice as quoted, frozen at acceptance (compared with the real one). */
    acceptedPreview: jsonb('accepted_preview').$type<Record<string, unknown>>(),
    conversionType: text('conversion_type'),
    subscriptionId: text('subscription_id'),
    contractStart: instant('contract_start'),
    createdBy: jsonb('created_by').$type<Record<string, unknown>>().notNull(),
    submittedAt: instant('submitted_at'),
    approvedAt: instant('approved_at'),
    sentAt: instant('sent_at'),
    acceptedAt: instant('accepted_at'),
    declinedAt: instant('declined_at'),
    expiredAt: instant('expired_at'),
    convertedAt: instant('converted_at'),
    createdAt: instant('created_at').notNull(),
    updatedAt: instant('updated_at').notNull(),
  },
  (t) => [
    index('quotes_workspace').on(t.workspaceId, t.id),
    index('quotes_account').on(t.workspaceId, t.accountId),
    uniqueIndex('quotes_number').on(t.workspaceId, t.number),
    check('quotes_status', sql`${t.status} IN ('draft', 'pending_approval', 'approved', 'sent', 'accepted', 'declined', 'expired', 'converted')`),
    check('quotes_interval', sql`${t.interval} IN ('month', 'year')`),
    check('quotes_quantity', sql`${t.quantity} >= 1`),
    check('quotes_term', sql`${t.termMonths} >= 1 AND ${t.termMonths} <= 120`),
    check('quotes_free_months', sql`${t.freeMonths} >= 0 AND ${t.freeMonths} < ${t.termMonths}`),
    check('quotes_collection', sql`${t.collectionMethod} IN ('charge_automatically', 'send_invoice')`),
    check('quotes_net_terms', sql`(${t.collectionMethod} = 'send_invoice') = (${t.daysUntilDue} IS NOT NULL)`),
    check(
      'quotes_discount',
      sql`(${t.discountType} IS NULL AND ${t.discountPercent} IS NULL AND ${t.discountAmount} IS NULL)
        OR (${t.discountType} = 'percent' AND ${t.discountPercent} > 0 AND ${t.discountPercent} <= 100 AND ${t.discountAmount} IS NULL)
        OR (${t.discountType} = 'amount' AND ${t.discountAmount} > 0 AND ${t.discountPercent} IS NULL)`,
    ),
  ],
);

/** One line per recurring price of the quoted plan version, with its negotiated terms. */
export const quoteLines = pgTable(
  'quote_lines',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id').notNull(),
    quoteId: text('quote_id').notNull(),
    priceId: text('price_id').notNull(),
    position: integer('position').notNull(),
    /** A negotiated unit amount replacing the list one (flat and per-seat prices). */
    unitAmount: minor('unit_amount'),
    discountPercent: numeric('discount_percent'),
    discountAmount: minor('discount_amount'),
  },
  (t) => [
    uniqueIndex('quote_lines_price').on(t.quoteId, t.priceId),
    index('quote_lines_quote').on(t.workspaceId, t.quoteId, t.position),
    check('quote_lines_amounts', sql`(${t.unitAmount} IS NULL OR ${t.unitAmount} >= 0) AND (${t.discountAmount} IS NULL OR ${t.discountAmount} > 0)`),
    check('quote_lines_one_discount', sql`${t.discountPercent} IS NULL OR ${t.discountAmount} IS NULL`),
    check('quote_lines_percent', sql`${t.discountPercent} IS NULL OR (${t.discountPercent} > 0 AND ${t.discountPercent} <= 100)`),
  ],
);

/** Per-workspace quote rules (absent → defaults), the share-link secret and the number sequence. */
export const quoteSettings = pgTable(
  'quote_settings',
  {
    workspaceId: text('workspace_id').primaryKey(),
    /** An effective discount above this percentage needs approval. */
    maxDiscountPercent: numeric('max_discount_percent').notNull(),
    /** A total contract value above this amount needs approval. */
    tcvThreshold: minor('tcv_threshold').notNull(),
    currency: text('currency').notNull(),
    approverRole: text('approver_role').notNull(),
    defaultExpiryDays: integer('default_expiry_days').notNull(),
    tokenSecret: text('token_secret').notNull(),
    nextNumber: bigint('next_number', { mode: 'number' }).notNull().default(1),
    updatedAt: instant('updated_at').notNull(),
  },
  (t) => [
    check('quote_settings_discount', sql`${t.maxDiscountPercent} >= 0 AND ${t.maxDiscountPercent} <= 100`),
    check('quote_settings_tcv', sql`${t.tcvThreshold} >= 0`),
    check('quote_settings_expiry', sql`${t.defaultExpiryDays} BETWEEN 1 AND 365`),
  ],
);

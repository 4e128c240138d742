import { sql } from 'drizzle-orm';
import { bigint, check, index, integer, jsonb, numeric, pgTable, text } from 'drizzle-orm/pg-core';
import { instant } from './columns.ts';

const minor = (name: string) => bigint(name, { mode: 'number' });

/**
 * Self-serve buying: hosted checkout sessions, customer-portal sessions, hand-raises ("Contact
 * sales") and the workspace's upgrade policy. Hosted pages carry no API key: their links are
 * signed with a per-workspace secret kept here.
 */
export const hostedPageSecrets = pgTable('hosted_page_secrets', {
  workspaceId: text('workspace_id').primaryKey(),
  /** HMAC-SHA256 key for checkout and portal links (hex); never leaves the server. */
  secret: text('secret').notNull(),
  createdAt: instant('created_at').notNull(),
});

export const checkoutSessions = pgTable(
  'checkout_sessions',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id').notNull(),
    /** 'subscription' (public plans: pay by card) or 'contact_sales' (contact_sales / quote_only plans). */
    mode: text('mode').notNull(),
    planId: text('plan_id').notNull(),
    /** The intervals the buyer may pick from, and the one preselected. */
    intervals: text('intervals').array().notNull(),
    defaultInterval: text('default_interval').notNull(),
    quantity: integer('quantity').notNull().default(1),
    successUrl: text('success_url').notNull(),
    cancelUrl: text('cancel_url').notNull(),
    /** Prefill: an existing account to buy for, and/or the buyer's email. */
    prefillAccountId: text('prefill_account_id'),
    customerEmail: text('customer_email'),
    status: text('status').notNull().default('open'),
    expiresAt: instant('expires_at').notNull(),
    /** What completion created or found. */
    accountId: text('account_id'),
    contactId: text('contact_id'),
    subscriptionId: text('subscription_id'),
    invoiceId: text('invoice_id'),
    paymentMethodId: text('payment_method_id'),
    handRaiseId: text('hand_raise_id'),
    completedAt: instant('completed_at'),
    /** The last failed attempt (a declined card): shown to the buyer, kept for support. */
    failedAttempts: integer('failed_attempts').notNull().default(0),
    lastErrorCode: text('last_error_code'),
    lastErrorMessage: text('last_error_message'),
    metadata: jsonb('metadata').$type<Record<string, string>>().notNull().default({}),
    createdAt: instant('created_at').notNull(),
  },
  (t) => [
    index('checkout_sessions_workspace').on(t.workspaceId, t.id),
    check('checkout_sessions_mode', sql`${t.mode} IN ('subscription', 'contact_sales')`),
    check('checkout_sessions_status', sql`${t.status} IN ('open', 'complete')`),
    check('checkout_sessions_quantity', sql`${t.quantity} >= 1`),
    check('checkout_sessions_complete', sql`(${t.status} = 'complete') = (${t.completedAt} IS NOT NULL)`),
  ],
);

export const portalSessions = pgTable(
  'portal_sessions',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id').notNull(),
    accountId: text('account_id').notNull(),
    returnUrl: text('return_url').notNull(),
    expiresAt: instant('expires_at').notNull(),
    createdAt: instant('created_at').notNull(),
  },
  (t) => [index('portal_sessions_workspace').on(t.workspaceId, t.id)],
);

/** A buyer asked to talk to sales (the routing module turns `hand_raise.created` into an assignment). */
export const handRaises = pgTable(
  'hand_raises',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id').notNull(),
    accountId: text('account_id').notNull(),
    contactId: text('contact_id').notNull(),
    planId: text('plan_id'),
    source: text('source').notNull(),
    sourceId: text('source_id'),
    email: text('email').notNull(),
    name: text('name'),
    company: text('company'),
    message: text('message'),
    createdAt: instant('created_at').notNull(),
  },
  (t) => [index('hand_raises_workspace').on(t.workspaceId, t.id), index('hand_raises_account').on(t.workspaceId, t.accountId)],
);

/** How far a customer may go alone: one row per workspace (absent → the defaults). */
export const upgradePolicies = pgTable(
  'upgrade_policies',
  {
    workspaceId: text('workspace_id').primaryKey(),
    /** An in-app change that adds at least this much ARR also alerts sales (`upgrade.large`). */
    largeUpgradeArrThreshold: minor('large_upgrade_arr_threshold').notNull(),
    currency: text('currency').notNull(),
    /** Monthly → annual in the portal: the annual prices less this percentage (decimal string). */
    annualCommitmentDiscountPercent: numeric('annual_commitment_discount_percent').notNull(),
    /** Plan motions whose customers may pay by invoice on Net terms / by card. */
    netTermsAllowedMotions: text('net_terms_allowed_motions').array().notNull(),
    cardAllowedMotions: text('card_allowed_motions').array().notNull(),
    netTermsDays: integer('net_terms_days').array().notNull(),
    updatedAt: instant('updated_at').notNull(),
  },
  (t) => [
    check('upgrade_policies_threshold', sql`${t.largeUpgradeArrThreshold} >= 0`),
    check('upgrade_policies_discount', sql`${t.annualCommitmentDiscountPercent} >= 0 AND ${t.annualCommitmentDiscountPercent} < 100`),
  ],
);

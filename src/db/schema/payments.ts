import { sql } from 'drizzle-orm';
import { bigint, boolean, check, index, jsonb, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { instant, minor } from './columns.ts';
import { workspaces } from './workspaces.ts';

/**
 * Payments: saved payment methods, payment attempts against invoices, and the built-in sandbox
 * processor's own state. Full card numbers and CVCs are never stored anywhere: a card is kept as
 * brand, last 4 digits, expiry, a salted fingerprint and the processor's opaque token.
 */
export const paymentMethods = pgTable(
  'payment_methods',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id').notNull().references(() => workspaces.id),
    /** The account (acct_…) the method belongs to; owned by the accounts module, not a foreign key. */
    accountId: text('account_id').notNull(),
    /** 'card' (charged through a processor) or 'bank_transfer' (a preference record: pays invoices by transfer). */
    type: text('type').notNull(),
    status: text('status').notNull().default('active'),
    /** Processor name ('sandbox', …) and its opaque token; null for bank transfers. */
    processor: text('processor'),
    processorToken: text('processor_token'),
    cardBrand: text('card_brand'),
    cardLast4: text('card_last4'),
    cardExpMonth: bigint('card_exp_month', { mode: 'number' }),
    cardExpYear: bigint('card_exp_year', { mode: 'number' }),
    cardFingerprint: text('card_fingerprint'),
    /** The account's default card for automatic charges (at most one active default per account). */
    isDefault: boolean('is_default').notNull().default(false),
    createdAt: instant('created_at').notNull(),
    detachedAt: instant('detached_at'),
  },
  (t) => [
    index('payment_methods_workspace').on(t.workspaceId, t.id),
    index('payment_methods_account').on(t.workspaceId, t.accountId, t.id),
    uniqueIndex('payment_methods_one_default').on(t.workspaceId, t.accountId).where(sql`${t.isDefault}`),
    check('payment_methods_type', sql`${t.type} IN ('card', 'bank_transfer')`),
    check('payment_methods_status', sql`${t.status} IN ('active', 'detached')`),
    check('payment_methods_detached_at', sql`(${t.status} = 'detached') = (${t.detachedAt} IS NOT NULL)`),
    check(
      'payment_methods_card_fields',
      sql`(${t.type} = 'card' AND ${t.processor} IS NOT NULL AND ${t.processorToken} IS NOT NULL AND ${t.cardBrand} IS NOT NULL
          AND ${t.cardLast4} ~ '^[0-9]{4}$' AND ${t.cardExpMonth} BETWEEN 1 AND 12 AND ${t.cardExpYear} BETWEEN 2000 AND 2099
          AND ${t.cardFingerprint} IS NOT NULL)
        OR (${t.type} = 'bank_transfer' AND ${t.processorToken} IS NULL AND ${t.cardLast4} IS NULL AND ${t.cardFingerprint} IS NULL)`,
    ),
    check('payment_methods_default_active_card', sql`NOT ${t.isDefault} OR (${t.status} = 'active' AND ${t.type} = 'card')`),
  ],
);

export const payments = pgTable(
  'payments',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id').notNull().references(() => workspaces.id),
    /** The billing module's invoice (inv_…). */
    invoiceId: text('invoice_id').notNull(),
    accountId: text('account_id').notNull(),
    paymentMethodId: text('payment_method_id').references(() => paymentMethods.id),
    amount: minor('amount').notNull(),
    currency: text('currency').notNull(),
    status: text('status').notNull(),
    /** 'card' (charged through a processor) or 'manual' (a transfer, wire or check recorded by finance). */
    kind: text('kind').notNull(),
    method: text('method').notNull(),
    failureCode: text('failure_code'),
    failureMessage: text('failure_message'),
    processor: text('processor'),
    processorChargeId: text('processor_charge_id'),
    /** `${invoiceId}:${attempt}` for card attempts: one attempt per key, ever. */
    idempotencyKey: text('idempotency_key').notNull(),
    attempt: bigint('attempt', { mode: 'number' }),
    reference: text('reference'),
    createdAt: instant('created_at').notNull(),
  },
  (t) => [
    uniqueIndex('payments_idempotency').on(t.workspaceId, t.idempotencyKey),
    index('payments_workspace').on(t.workspaceId, t.id),
    index('payments_invoice').on(t.workspaceId, t.invoiceId, t.id),
    index('payments_account').on(t.workspaceId, t.accountId, t.id),
    check('payments_amount', sql`${t.amount} > 0`),
    check('payments_currency', sql`${t.currency} ~ '^[a-z]{3}$'`),
    check('payments_status', sql`${t.status} IN ('succeeded', 'failed')`),
    check('payments_method', sql`${t.method} IN ('card', 'bank_transfer', 'wire', 'check', 'other')`),
    check(
      'payments_kind',
      sql`(${t.kind} = 'card' AND ${t.method} = 'card' AND ${t.paymentMethodId} IS NOT NULL AND ${t.attempt} IS NOT NULL AND ${t.attempt} >= 1)
        OR (${t.kind} = 'manual' AND ${t.method} <> 'card' AND ${t.attempt} IS NULL AND ${t.status} = 'succeeded')`,
    ),
    check('payments_failure', sql`(${t.status} = 'failed') = (${t.failureCode} IS NOT NULL)`),
  ],
);

/** The sandbox processor's per-workspace account: the secret salt of its card fingerprints. */
export const sandboxAccounts = pgTable('sandbox_accounts', {
  workspaceId: text('workspace_id').primaryKey().references(() => workspaces.id),
  fingerprintSalt: text('fingerprint_salt').notNull(),
  createdAt: instant('created_at').notNull(),
});

/** Cards saved with the sandbox processor, by opaque token (id). `behavior` comes from the test card number. */
export const sandboxCards = pgTable(
  'sandbox_cards',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id').notNull().references(() => workspaces.id),
    behavior: text('behavior').notNull(),
    brand: text('brand').notNull(),
    last4: text('last4').notNull(),
    expMonth: bigint('exp_month', { mode: 'number' }).notNull(),
    expYear: bigint('exp_year', { mode: 'number' }).notNull(),
    fingerprint: text('fingerprint').notNull(),
    createdAt: instant('created_at').notNull(),
  },
  (t) => [index('sandbox_cards_workspace').on(t.workspaceId, t.id), check('sandbox_cards_last4', sql`${t.last4} ~ '^[0-9]{4}$'`)],
);

/** Charges the sandbox processor made: one per (workspace, idempotency key), like Stripe's idempotent requests. */
export const sandboxCharges = pgTable(
  'sandbox_charges',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id').notNull().references(() => workspaces.id),
    idempotencyKey: text('idempotency_key').notNull(),
    /** The key up to its last ':' (the invoice, for `${invoiceId}:${attempt}`); the transient test card keys on it. */
    keyPrefix: text('key_prefix').notNull(),
    token: text('token').notNull(),
    amount: minor('amount').notNull(),
    currency: text('currency').notNull(),
    outcome: text('outcome').notNull(),
    code: text('code'),
    message: text('message'),
    description: text('description'),
    metadata: jsonb('metadata').$type<Record<string, string>>().notNull().default({}),
    createdAt: instant('created_at').notNull(),
  },
  (t) => [
    uniqueIndex('sandbox_charges_idempotency').on(t.workspaceId, t.idempotencyKey),
    index('sandbox_charges_prefix').on(t.workspaceId, t.keyPrefix, t.token),
    check('sandbox_charges_amount', sql`${t.amount} > 0`),
    check('sandbox_charges_outcome', sql`${t.outcome} IN ('succeeded', 'declined', 'failed')`),
    check('sandbox_charges_code', sql`(${t.outcome} = 'succeeded') = (${t.code} IS NULL)`),
  ],
);

import { sql } from 'drizzle-orm';
import { bigint, boolean, check, index, integer, jsonb, numeric, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { instant } from './columns.ts';

const minor = (name: string) => bigint(name, { mode: 'number' });

export const subscriptions = pgTable(
  'subscriptions',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id').notNull(),
    accountId: text('account_id').notNull(),
    status: text('status').notNull(),
    planId: text('plan_id').notNull(),
    planVersionId: text('plan_version_id').notNull(),
    interval: text('interval').notNull(),
    currency: text('currency').notNull(),
    /** Seats, for per-seat prices. */
    quantity: integer('quantity').notNull().default(1),
    collectionMethod: text('collection_method').notNull(),
    /** Net terms for send_invoice (30, 45, 60…); null when charged automatically. */
    daysUntilDue: integer('days_until_due'),
    paymentMethodId: text('payment_method_id'),
    /** Day of month (1–31) the periods are anchored on; clamped in shorter months. */
    anchorDay: integer('anchor_day').notNull(),
    currentPeriodStart: instant('current_period_start').notNull(),
    currentPeriodEnd: instant('current_period_end').notNull(),
    /** Start of the usage not yet billed (the period start, or the last plan change). */
    usageSince: instant('usage_since').notNull(),
    trialEnd: instant('trial_end'),
    cancelAtPeriodEnd: boolean('cancel_at_period_end').notNull().default(false),
    canceledAt: instant('canceled_at'),
    endedAt: instant('ended_at'),
    /** What happens when dunning gives up: 'cancel', 'mark_unpaid' or 'past_due' (leave it). */
    dunningFinalAction: text('dunning_final_action').notNull().default('cancel'),
    metadata: jsonb('metadata').$type<Record<string, string>>().notNull().default({}),
    createdAt: instant('created_at').notNull(),
    updatedAt: instant('updated_at').notNull(),
  },
  (t) => [
    index('subscriptions_workspace').on(t.workspaceId, t.id),
    index('subscriptions_account').on(t.workspaceId, t.accountId),
    index('subscriptions_due').on(t.workspaceId, t.currentPeriodEnd).where(sql`${t.status} IN ('trialing', 'active', 'past_due')`),
    check('subscriptions_status', sql`${t.status} IN ('scheduled', 'trialing', 'active', 'past_due', 'canceled', 'unpaid')`),
    check('subscriptions_interval', sql`${t.interval} IN ('month', 'year')`),
    check('subscriptions_collection', sql`${t.collectionMethod} IN ('charge_automatically', 'send_invoice')`),
    check('subscriptions_net_terms', sql`(${t.collectionMethod} = 'send_invoice') = (${t.daysUntilDue} IS NOT NULL)`),
    check('subscriptions_quantity', sql`${t.quantity} >= 1`),
    check('subscriptions_anchor', sql`${t.anchorDay} BETWEEN 1 AND 31`),
    check('subscriptions_period', sql`${t.currentPeriodEnd} > ${t.currentPeriodStart}`),
    check('subscriptions_final_action', sql`${t.dunningFinalAction} IN ('cancel', 'mark_unpaid', 'past_due')`),
  ],
);

/** Negotiated unit amounts per price (from quotes); absent → the price's own amount. */
export const subscriptionPriceOverrides = pgTable(
  'subscription_price_overrides',
  {
    subscriptionId: text('subscription_id').notNull(),
    workspaceId: text('workspace_id').notNull(),
    priceId: text('price_id').notNull(),
    unitAmount: minor('unit_amount').notNull(),
  },
  (t) => [uniqueIndex('subscription_price_overrides_pk').on(t.subscriptionId, t.priceId), check('spo_amount', sql`${t.unitAmount} >= 0`)],
);

/** Every change to a subscription, with before and after: its history. */
export const subscriptionEvents = pgTable(
  'subscription_events',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id').notNull(),
    subscriptionId: text('subscription_id').notNull(),
    type: text('type').notNull(),
    effectiveAt: instant('effective_at').notNull(),
    before: jsonb('before'),
    after: jsonb('after'),
    createdAt: instant('created_at').notNull(),
  },
  (t) => [index('subscription_events_sub').on(t.workspaceId, t.subscriptionId, t.id)],
);

/** A change scheduled for a future instant (a phase): applied by the renewal that reaches it. */
export const subscriptionSchedules = pgTable(
  'subscription_schedules',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id').notNull(),
    subscriptionId: text('subscription_id').notNull(),
    effectiveAt: instant('effective_at').notNull(),
    change: jsonb('change').$type<Record<string, unknown>>().notNull(),
    status: text('status').notNull().default('pending'),
    source: text('source'),
    createdAt: instant('created_at').notNull(),
    appliedAt: instant('applied_at'),
  },
  (t) => [
    index('subscription_schedules_sub').on(t.workspaceId, t.subscriptionId, t.effectiveAt),
    check('subscription_schedules_status', sql`${t.status} IN ('pending', 'applied', 'canceled')`),
  ],
);

export const invoices = pgTable(
  'invoices',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id').notNull(),
    accountId: text('account_id').notNull(),
    subscriptionId: text('subscription_id'),
    /** Assigned when finalized: sequential per workspace, without gaps. */
    number: text('number'),
    status: text('status').notNull(),
    billingReason: text('billing_reason').notNull(),
    currency: text('currency').notNull(),
    collectionMethod: text('collection_method').notNull(),
    daysUntilDue: integer('days_until_due'),
    periodStart: instant('period_start'),
    periodEnd: instant('period_end'),
    subtotal: minor('subtotal').notNull().default(0),
    balanceApplied: minor('balance_applied').notNull().default(0),
    total: minor('total').notNull().default(0),
    amountDue: minor('amount_due').notNull().default(0),
    amountPaid: minor('amount_paid').notNull().default(0),
    amountCredited: minor('amount_credited').notNull().default(0),
    dueAt: instant('due_at'),
    attemptCount: integer('attempt_count').notNull().default(0),
    nextPaymentAttempt: instant('next_payment_attempt'),
    overdueAt: instant('overdue_at'),
    finalizedAt: instant('finalized_at'),
    paidAt: instant('paid_at'),
    voidedAt: instant('voided_at'),
    markedUncollectibleAt: instant('marked_uncollectible_at'),
    memo: text('memo'),
    createdAt: instant('created_at').notNull(),
  },
  (t) => [
    index('invoices_workspace').on(t.workspaceId, t.id),
    index('invoices_subscription').on(t.workspaceId, t.subscriptionId),
    index('invoices_account').on(t.workspaceId, t.accountId),
    uniqueIndex('invoices_number').on(t.workspaceId, t.number),
    check('invoices_status', sql`${t.status} IN ('draft', 'open', 'paid', 'void', 'uncollectible')`),
    check('invoices_numbered_when_final', sql`(${t.status} = 'draft') = (${t.number} IS NULL)`),
    check('invoices_amounts', sql`${t.amountDue} >= 0 AND ${t.amountPaid} >= 0 AND ${t.balanceApplied} >= 0 AND ${t.amountCredited} >= 0 AND ${t.amountDue} = ${t.total} - ${t.balanceApplied}`),
    check('invoices_paid_le_due', sql`${t.amountPaid} + ${t.amountCredited} <= ${t.amountDue}`),
  ],
);

export const invoiceLines = pgTable(
  'invoice_lines',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id').notNull(),
    invoiceId: text('invoice_id').notNull(),
    subscriptionId: text('subscription_id'),
    kind: text('kind').notNull(),
    /** What is charged: `price:<id>`, `usage:<id>`, `proration:<change>:…`; with the period start, unique per subscription. */
    chargeKey: text('charge_key').notNull(),
    priceId: text('price_id'),
    description: text('description').notNull(),
    periodStart: instant('period_start').notNull(),
    periodEnd: instant('period_end').notNull(),
    quantity: numeric('quantity').notNull(),
    unitAmountDecimal: numeric('unit_amount_decimal'),
    amount: minor('amount').notNull(),
    currency: text('currency').notNull(),
    position: integer('position').notNull(),
  },
  (t) => [
    index('invoice_lines_invoice').on(t.invoiceId, t.position),
    // A period is never billed twice: one line per (subscription, charge, period start), ever.
    uniqueIndex('invoice_lines_no_double_billing').on(t.workspaceId, t.subscriptionId, t.chargeKey, t.periodStart).where(sql`${t.subscriptionId} IS NOT NULL`),
    check('invoice_lines_kind', sql`${t.kind} IN ('recurring', 'usage', 'proration', 'minimum', 'adjustment')`),
    check('invoice_lines_period', sql`${t.periodEnd} >= ${t.periodStart}`),
  ],
);

/** Per-workspace invoice and credit-note numbering: allocated at finalization, never reused. */
export const numberSequences = pgTable(
  'number_sequences',
  {
    workspaceId: text('workspace_id').notNull(),
    kind: text('kind').notNull(),
    next: bigint('next', { mode: 'number' }).notNull(),
  },
  (t) => [uniqueIndex('number_sequences_pk').on(t.workspaceId, t.kind), check('number_sequences_next', sql`${t.next} >= 1`)],
);

export const creditNotes = pgTable(
  'credit_notes',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id').notNull(),
    invoiceId: text('invoice_id'),
    accountId: text('account_id').notNull(),
    subscriptionId: text('subscription_id'),
    number: text('number').notNull(),
    reason: text('reason').notNull(),
    currency: text('currency').notNull(),
    amount: minor('amount').notNull(),
    /** Part that reduced the invoice's amount due; the rest went to the account's credit balance. */
    appliedToInvoice: minor('applied_to_invoice').notNull().default(0),
    creditedToBalance: minor('credited_to_balance').notNull().default(0),
    memo: text('memo'),
    /** Dedupe for system-issued notes (a proration change issues at most one). */
    sourceKey: text('source_key'),
    createdAt: instant('created_at').notNull(),
  },
  (t) => [
    index('credit_notes_workspace').on(t.workspaceId, t.id),
    uniqueIndex('credit_notes_number').on(t.workspaceId, t.number),
    uniqueIndex('credit_notes_source').on(t.workspaceId, t.sourceKey).where(sql`${t.sourceKey} IS NOT NULL`),
    check('credit_notes_amount', sql`${t.amount} > 0 AND ${t.appliedToInvoice} >= 0 AND ${t.creditedToBalance} >= 0 AND ${t.appliedToInvoice} + ${t.creditedToBalance} = ${t.amount}`),
    check('credit_notes_reason', sql`${t.reason} IN ('proration', 'correction', 'duplicate', 'order_change', 'product_unsatisfactory', 'other')`),
  ],
);

/** An account's credit balance per currency (from credit notes), consumed by later invoices. */
export const accountBalances = pgTable(
  'account_balances',
  {
    workspaceId: text('workspace_id').notNull(),
    accountId: text('account_id').notNull(),
    currency: text('currency').notNull(),
    credit: minor('credit').notNull().default(0),
  },
  (t) => [uniqueIndex('account_balances_pk').on(t.workspaceId, t.accountId, t.currency), check('account_balances_credit', sql`${t.credit} >= 0`)],
);

/** Usage thresholds already announced (80 %, 100 %), once per subscription period. */
export const usageAlerts = pgTable(
  'usage_alerts',
  {
    workspaceId: text('workspace_id').notNull(),
    subscriptionId: text('subscription_id').notNull(),
    featureKey: text('feature_key').notNull(),
    periodStart: instant('period_start').notNull(),
    thresholdPercent: integer('threshold_percent').notNull(),
    createdAt: instant('created_at').notNull(),
  },
  (t) => [uniqueIndex('usage_alerts_once').on(t.workspaceId, t.subscriptionId, t.featureKey, t.periodStart, t.thresholdPercent)],
);

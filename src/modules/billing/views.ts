import type { CreditNote, Invoice, InvoiceLine, Subscription } from './billing.ts';

/** The public (API and webhook) shapes: snake_case, ISO timestamps, money as integer minor units. */
const iso = (d: Date | null | undefined) => (d ? (d instanceof Date ? d : new Date(d)).toISOString() : null);

export function subscriptionView(s: Subscription) {
  return {
    id: s.id,
    object: 'subscription' as const,
    account: s.accountId,
    status: s.status,
    plan: s.planId,
    plan_version: s.planVersionId,
    interval: s.interval,
    currency: s.currency,
    quantity: s.quantity,
    collection_method: s.collectionMethod,
    days_until_due: s.daysUntilDue,
    payment_method: s.paymentMethodId,
    billing_cycle_anchor_day: s.anchorDay,
    current_period_start: iso(s.currentPeriodStart)!,
    current_period_end: iso(s.currentPeriodEnd)!,
    trial_end: iso(s.trialEnd),
    cancel_at_period_end: s.cancelAtPeriodEnd,
    canceled_at: iso(s.canceledAt),
    ended_at: iso(s.endedAt),
    dunning_final_action: s.dunningFinalAction,
    metadata: s.metadata,
    created_at: iso(s.createdAt)!,
  };
}

export function lineView(l: InvoiceLine) {
  return {
    id: l.id,
    object: 'invoice_line' as const,
    kind: l.kind,
    description: l.description,
    price: l.priceId,
    period: { start: iso(l.periodStart)!, end: iso(l.periodEnd)! },
    quantity: l.quantity,
    unit_amount_decimal: l.unitAmountDecimal,
    amount: l.amount,
    currency: l.currency,
  };
}

export function invoiceView(i: Invoice, lines?: InvoiceLine[]) {
  return {
    id: i.id,
    object: 'invoice' as const,
    number: i.number,
    account: i.accountId,
    subscription: i.subscriptionId,
    status: i.status,
    billing_reason: i.billingReason,
    currency: i.currency,
    collection_method: i.collectionMethod,
    days_until_due: i.daysUntilDue,
    period_start: iso(i.periodStart),
    period_end: iso(i.periodEnd),
    subtotal: i.subtotal,
    balance_applied: i.balanceApplied,
    total: i.total,
    amount_due: i.amountDue,
    amount_paid: i.amountPaid,
    amount_credited: i.amountCredited,
    amount_remaining: Math.max(0, i.amountDue - i.amountPaid - i.amountCredited),
    due_date: iso(i.dueAt),
    attempt_count: i.attemptCount,
    next_payment_attempt: iso(i.nextPaymentAttempt),
    overdue: i.overdueAt !== null,
    finalized_at: iso(i.finalizedAt),
    paid_at: iso(i.paidAt),
    voided_at: iso(i.voidedAt),
    memo: i.memo,
    created_at: iso(i.createdAt)!,
    ...(lines ? { lines: lines.map(lineView) } : {}),
  };
}

export function creditNoteView(c: CreditNote) {
  return {
    id: c.id,
    object: 'credit_note' as const,
    number: c.number,
    invoice: c.invoiceId,
    account: c.accountId,
    subscription: c.subscriptionId,
    reason: c.reason,
    amount: c.amount,
    currency: c.currency,
    applied_to_invoice: c.appliedToInvoice,
    credited_to_balance: c.creditedToBalance,
    memo: c.memo,
    created_at: iso(c.createdAt)!,
  };
}

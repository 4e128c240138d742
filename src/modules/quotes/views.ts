import { APPROVAL_REASON_TEXT, type Quote, type QuoteLine } from './quotes.ts';
import type { QuotePreview } from './preview.service.ts';

/** The public (API, webhook, audit) shapes of quotes: snake_case, ISO instants, integer minor units. */
const iso = (d: Date | null | undefined) => (d ? new Date(d).toISOString() : null);

export function paymentTermsView(q: Pick<Quote, 'collectionMethod' | 'daysUntilDue'>) {
  return q.collectionMethod === 'send_invoice' ? { method: 'invoice' as const, net_days: q.daysUntilDue } : { method: 'card' as const, net_days: null };
}

export function discountView(q: Pick<Quote, 'discountType' | 'discountPercent' | 'discountAmount'>) {
  if (q.discountType === 'percent') return { type: 'percent' as const, percent: q.discountPercent, amount: null };
  if (q.discountType === 'amount') return { type: 'amount' as const, percent: null, amount: q.discountAmount };
  return null;
}

/** Small snapshot for audit rows and domain events. */
export function quoteSnapshot(q: Quote) {
  return {
    id: q.id,
    number: q.number,
    status: q.status,
    account: q.accountId,
    plan: q.planId,
    plan_version: q.planVersionId,
    currency: q.currency,
    interval: q.interval,
    quantity: q.quantity,
    term_months: q.termMonths,
    start_date: iso(q.startDate),
    payment_terms: paymentTermsView(q),
    discount: discountView(q),
    free_months: q.freeMonths,
    expires_at: iso(q.expiresAt),
    requested_by_customer: q.requestedByCustomer,
    subscription: q.subscriptionId,
  };
}

/** The quote's numbers and first invoice, as shown to sales, the buyer and in the PDF. */
export function previewView(p: QuotePreview) {
  const priceOf = (id: string) => p.version.prices.find((x) => x.id === id);
  return {
    plan_name: p.plan.name,
    contract: { type: p.contract.type, subscription: p.contract.subscription?.id ?? null, start: iso(p.contract.start), start_mismatch: p.contract.startMismatch },
    lines: p.pricing.lines.map((l) => {
      const price = priceOf(l.priceId);
      return {
        price: l.priceId,
        type: l.type,
        description: price?.nickname ?? (l.type === 'usage' ? `${p.plan.name} usage` : p.plan.name),
        quantity: l.quantity,
        list_unit_amount: l.listUnitAmount,
        negotiated_unit_amount: l.negotiatedUnitAmount,
        discount: l.discountPercent ? { percent: l.discountPercent, amount: null } : l.discountAmount ? { percent: null, amount: l.discountAmount } : null,
        unit_amount: l.netUnitAmount,
        list_amount: l.listAmount,
        amount: l.netAmount,
        billed: l.type === 'usage' ? ('in_arrears_at_list_rates' as const) : ('in_advance' as const),
      };
    }),
    per_period: p.pricing.perPeriod,
    periods: p.pricing.periods,
    free_months_credit: p.pricing.freeMonthsCredit,
    list_contract_value: p.pricing.listContractValue,
    total_contract_value: p.pricing.totalContractValue,
    effective_discount_percent: p.pricing.effectiveDiscountPercent,
    price_overrides: p.pricing.overrides,
    first_invoice: {
      period_start: iso(p.firstInvoice.periodStart),
      period_end: iso(p.firstInvoice.periodEnd),
      lines: p.firstInvoice.lines.map((l) => ({ description: l.description, price: l.priceId, quantity: l.quantity, unit_amount_decimal: l.unitAmountDecimal, amount: l.amount })),
      subtotal: p.firstInvoice.subtotal,
      balance_applied: p.firstInvoice.balanceApplied,
      total: p.firstInvoice.total,
      amount_due: p.firstInvoice.amountDue,
      collection_method: p.firstInvoice.collectionMethod,
      due_date: iso(p.firstInvoice.dueDate),
    },
  };
}

export type PreviewView = ReturnType<typeof previewView>;

export function quoteView(q: Quote, lines: QuoteLine[], preview: PreviewView | null, url: string | null) {
  return {
    id: q.id,
    object: 'quote' as const,
    number: q.number,
    status: q.status,
    account: q.accountId,
    plan: q.planId,
    plan_version: q.planVersionId,
    currency: q.currency,
    interval: q.interval,
    quantity: q.quantity,
    term_months: q.termMonths,
    start_date: iso(q.startDate),
    payment_terms: paymentTermsView(q),
    expires_at: iso(q.expiresAt)!,
    discount: discountView(q),
    free_months: q.freeMonths,
    lines: lines.map((l) => ({ id: l.id, price: l.priceId, unit_amount: l.unitAmount, discount_percent: l.discountPercent, discount_amount: l.discountAmount })),
    memo: q.memo,
    requested_by_customer: q.requestedByCustomer,
    source_subscription: q.sourceSubscriptionId,
    approval: {
      required: q.approvalReasons.length > 0,
      reasons: q.approvalReasons.map((code) => ({ code, message: APPROVAL_REASON_TEXT[code] ?? code })),
      approved_by: q.approval,
    },
    acceptance: q.acceptance,
    decline_reason: q.declineReason,
    conversion: q.subscriptionId ? { type: q.conversionType, subscription: q.subscriptionId, contract_start: iso(q.contractStart) } : null,
    preview,
    url,
    created_by: q.createdBy,
    submitted_at: iso(q.submittedAt),
    approved_at: iso(q.approvedAt),
    sent_at: iso(q.sentAt),
    accepted_at: iso(q.acceptedAt),
    declined_at: iso(q.declinedAt),
    expired_at: iso(q.expiredAt),
    converted_at: iso(q.convertedAt),
    created_at: iso(q.createdAt)!,
    updated_at: iso(q.updatedAt)!,
  };
}

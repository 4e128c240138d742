import { sessionStatus, type CheckoutSession, type PortalSession } from './checkout.ts';

/** Public shapes of checkout and portal sessions (snake_case, ISO instants). */
const iso = (d: Date | null | undefined) => (d ? new Date(d).toISOString() : null);

export function checkoutSessionView(s: CheckoutSession, asOf: Date, url: string | null) {
  return {
    id: s.id,
    object: 'checkout_session' as const,
    mode: s.mode as 'subscription' | 'contact_sales',
    status: sessionStatus(s, asOf),
    url,
    plan: s.planId,
    intervals: s.intervals,
    interval: s.defaultInterval,
    quantity: s.quantity,
    success_url: s.successUrl,
    cancel_url: s.cancelUrl,
    prefill: { account: s.prefillAccountId, customer_email: s.customerEmail },
    account: s.accountId,
    contact: s.contactId,
    subscription: s.subscriptionId,
    invoice: s.invoiceId,
    payment_method: s.paymentMethodId,
    hand_raise: s.handRaiseId,
    failed_attempts: s.failedAttempts,
    last_error: s.lastErrorCode ? { code: s.lastErrorCode, message: s.lastErrorMessage } : null,
    metadata: s.metadata,
    expires_at: iso(s.expiresAt)!,
    completed_at: iso(s.completedAt),
    created_at: iso(s.createdAt)!,
  };
}

export function portalSessionView(s: PortalSession, url: string | null) {
  return { id: s.id, object: 'portal_session' as const, account: s.accountId, url, return_url: s.returnUrl, expires_at: iso(s.expiresAt)!, created_at: iso(s.createdAt)! };
}

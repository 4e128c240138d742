import type { Interval } from './compute/periods.ts';

/** Subscription and invoice types, and the state machines they move through. */
/** `scheduled`: created with a future start date (a quote's contract start); nothing is billed before it. */
export type SubscriptionStatus = 'scheduled' | 'trialing' | 'active' | 'past_due' | 'canceled' | 'unpaid';
export type CollectionMethod = 'charge_automatically' | 'send_invoice';
export type InvoiceStatus = 'draft' | 'open' | 'paid' | 'void' | 'uncollectible';
export type BillingReason = 'subscription_create' | 'subscription_cycle' | 'subscription_update' | 'subscription_cancel' | 'manual';
export type DunningFinalAction = 'cancel' | 'mark_unpaid' | 'past_due';

export interface Subscription {
  id: string;
  workspaceId: string;
  accountId: string;
  status: SubscriptionStatus;
  planId: string;
  planVersionId: string;
  interval: Interval;
  currency: string;
  quantity: number;
  collectionMethod: CollectionMethod;
  daysUntilDue: number | null;
  paymentMethodId: string | null;
  anchorDay: number;
  currentPeriodStart: Date;
  currentPeriodEnd: Date;
  usageSince: Date;
  trialEnd: Date | null;
  cancelAtPeriodEnd: boolean;
  canceledAt: Date | null;
  endedAt: Date | null;
  dunningFinalAction: DunningFinalAction;
  metadata: Record<string, string>;
  createdAt: Date;
  updatedAt: Date;
}

export interface Invoice {
  id: string;
  workspaceId: string;
  accountId: string;
  subscriptionId: string | null;
  number: string | null;
  status: InvoiceStatus;
  billingReason: BillingReason;
  currency: string;
  collectionMethod: CollectionMethod;
  daysUntilDue: number | null;
  periodStart: Date | null;
  periodEnd: Date | null;
  subtotal: number;
  balanceApplied: number;
  total: number;
  amountDue: number;
  amountPaid: number;
  amountCredited: number;
  dueAt: Date | null;
  attemptCount: number;
  nextPaymentAttempt: Date | null;
  overdueAt: Date | null;
  finalizedAt: Date | null;
  paidAt: Date | null;
  voidedAt: Date | null;
  markedUncollectibleAt: Date | null;
  memo: string | null;
  createdAt: Date;
}

export interface InvoiceLine {
  id: string;
  invoiceId: string;
  subscriptionId: string | null;
  kind: string;
  chargeKey: string;
  priceId: string | null;
  description: string;
  periodStart: Date;
  periodEnd: Date;
  quantity: string;
  unitAmountDecimal: string | null;
  amount: number;
  currency: string;
  position: number;
}

export interface CreditNote {
  id: string;
  workspaceId: string;
  invoiceId: string | null;
  accountId: string;
  subscriptionId: string | null;
  number: string;
  reason: string;
  currency: string;
  amount: number;
  appliedToInvoice: number;
  creditedToBalance: number;
  memo: string | null;
  sourceKey: string | null;
  createdAt: Date;
}

/** Allowed invoice transitions; anything else is a `state_conflict`. */
export const INVOICE_TRANSITIONS: Record<InvoiceStatus, readonly InvoiceStatus[]> = {
  draft: ['open', 'void'],
  open: ['paid', 'void', 'uncollectible'],
  uncollectible: ['paid', 'void'],
  paid: [],
  void: [],
};

export const LIVE_STATUSES: readonly SubscriptionStatus[] = ['trialing', 'active', 'past_due'];
/** Subscriptions that can still be changed or canceled. */
export const OPEN_STATUSES: readonly SubscriptionStatus[] = ['scheduled', 'trialing', 'active', 'past_due'];

/** A change requested on a subscription, applied now or scheduled at a future instant (a phase). */
export interface SubscriptionChange {
  planId?: string;
  planVersionId?: string;
  interval?: Interval;
  quantity?: number;
  collectionMethod?: CollectionMethod;
  daysUntilDue?: number | null;
  paymentMethodId?: string | null;
  /** Negotiated unit amounts by price id (from a quote). */
  priceOverrides?: Record<string, number>;
  cancel?: boolean;
}

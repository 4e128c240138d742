import type { Money } from '../../kernel/money.ts';
import type { CardBrand } from './compute/card.ts';

/** Payment methods and payments (attempts to pay an invoice), and their public, redacted views. */
export type PaymentMethodType = 'card' | 'bank_transfer';
export type PaymentMethodStatus = 'active' | 'detached';

export interface CardDetails {
  brand: CardBrand;
  last4: string;
  expMonth: number;
  expYear: number;
  fingerprint: string;
}

export interface PaymentMethod {
  id: string;
  workspaceId: string;
  accountId: string;
  type: PaymentMethodType;
  status: PaymentMethodStatus;
  /** The processor that issued `processorToken` ('sandbox', …); null for bank transfers. */
  processor: string | null;
  /** Opaque processor token: never shown in the API or the audit log. */
  processorToken: string | null;
  card: CardDetails | null;
  isDefault: boolean;
  createdAt: Date;
  detachedAt: Date | null;
}

export type PaymentStatus = 'succeeded' | 'failed';
export type PaymentKind = 'card' | 'manual';
export type ManualPaymentMethod = 'bank_transfer' | 'wire' | 'check' | 'other';
export const MANUAL_PAYMENT_METHODS: readonly ManualPaymentMethod[] = ['bank_transfer', 'wire', 'check', 'other'];

export interface Payment {
  id: string;
  workspaceId: string;
  invoiceId: string;
  accountId: string;
  paymentMethodId: string | null;
  amount: Money;
  status: PaymentStatus;
  kind: PaymentKind;
  method: 'card' | ManualPaymentMethod;
  /** A decline code (insufficient_funds, …) or processing_error; null when succeeded. */
  failureCode: string | null;
  failureMessage: string | null;
  processor: string | null;
  processorChargeId: string | null;
  idempotencyKey: string;
  /** 1 for the first charge of an invoice, 2 for the first retry, …; null for manual payments. */
  attempt: number | null;
  reference: string | null;
  createdAt: Date;
}

/** A card charge attempt, as `chargeCard` returns it. */
export type PaymentAttempt = Payment;

/** The idempotency key of a card attempt: one charge per (invoice, attempt), ever. */
export const attemptKey = (invoiceId: string, attempt: number): string => `${invoiceId}:${attempt}`;

/** The API and audit view of a payment method: no number, no cvc, no token. */
export function paymentMethodView(pm: PaymentMethod) {
  return {
    id: pm.id,
    object: 'payment_method' as const,
    account: pm.accountId,
    type: pm.type,
    card: pm.card ? { brand: pm.card.brand, last4: pm.card.last4, exp_month: pm.card.expMonth, exp_year: pm.card.expYear, fingerprint: pm.card.fingerprint } : null,
    default: pm.isDefault,
    status: pm.status,
    created_at: pm.createdAt.toISOString(),
    detached_at: pm.detachedAt ? pm.detachedAt.toISOString() : null,
  };
}

export function paymentView(p: Payment) {
  return {
    id: p.id,
    object: 'payment' as const,
    invoice: p.invoiceId,
    account: p.accountId,
    payment_method: p.paymentMethodId,
    amount: p.amount.amount,
    currency: p.amount.currency,
    status: p.status,
    kind: p.kind,
    method: p.method,
    failure_code: p.failureCode,
    failure_message: p.failureMessage,
    processor: p.processor,
    processor_charge_id: p.processorChargeId,
    attempt: p.attempt,
    reference: p.reference,
    created_at: p.createdAt.toISOString(),
  };
}

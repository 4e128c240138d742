import type { quoteLines, quotes, quoteSettings } from '../../db/schema/index.ts';
import { AppError } from '../../kernel/errors.ts';

/**
 * Quotes: the sales-led path to buy. A quote prices ONE plan version (every recurring price of
 * the chosen interval is a line) with negotiated unit amounts, discounts and free months, over a
 * term, with payment terms and an expiry. It moves through a validated state machine and, once
 * accepted, converts into a subscription at the contract start date.
 *
 *   draft ─submit─► pending_approval ─approve─► approved ─send─► sent ─accept─► accepted ─► converted
 *     └──submit (no rule fires)──────────────────►┘                 ├─decline─► declined
 *   any of draft…sent ─(expires_at passes)─► expired               └─(expiry)─► expired
 *
 * Editing a draft, pending or approved quote sends it back to draft (approval must be redone).
 */
export type Quote = typeof quotes.$inferSelect;
export type QuoteLine = typeof quoteLines.$inferSelect;
export type QuoteSettings = typeof quoteSettings.$inferSelect;

export const QUOTE_STATUSES = ['draft', 'pending_approval', 'approved', 'sent', 'accepted', 'declined', 'expired', 'converted'] as const;
export type QuoteStatus = (typeof QUOTE_STATUSES)[number];

export const QUOTE_TRANSITIONS: Record<QuoteStatus, readonly QuoteStatus[]> = {
  draft: ['pending_approval', 'approved', 'expired'],
  pending_approval: ['approved', 'draft', 'expired'],
  approved: ['sent', 'draft', 'expired'],
  sent: ['accepted', 'declined', 'expired'],
  accepted: ['converted'],
  declined: [],
  expired: [],
  converted: [],
};

/** Statuses a quote can still expire from (and be edited in, except `sent`). */
export const OPEN_QUOTE_STATUSES: readonly QuoteStatus[] = ['draft', 'pending_approval', 'approved', 'sent'];
export const EDITABLE_QUOTE_STATUSES: readonly QuoteStatus[] = ['draft', 'pending_approval', 'approved'];

export function assertQuoteTransition(q: Pick<Quote, 'id' | 'status'>, to: QuoteStatus, action: string): void {
  const from = q.status as QuoteStatus;
  if (!QUOTE_TRANSITIONS[from].includes(to)) {
    throw new AppError({ code: 'state_conflict', message: `Quote ${q.id} is ${from}; it cannot be ${action} (that needs ${expectedFrom(to).join(' or ') || 'another state'}).` });
  }
}

function expectedFrom(to: QuoteStatus): QuoteStatus[] {
  return QUOTE_STATUSES.filter((s) => QUOTE_TRANSITIONS[s].includes(to));
}

export type PaymentTerms = { method: 'card' } | { method: 'invoice'; netDays: number };
export const NET_TERMS_DAYS = [30, 45, 60] as const;

export type QuoteDiscount = { type: 'percent'; percent: string } | { type: 'amount'; amount: number };

/** A negotiated change to one price line. */
export interface LineTerms {
  priceId: string;
  /** Negotiated unit amount (minor units) replacing the list price. */
  unitAmount?: number | null;
  discountPercent?: string | null;
  discountAmount?: number | null;
}

export interface QuoteInput {
  account: string;
  plan: string;
  planVersionId?: string;
  interval: 'month' | 'year';
  quantity: number;
  termMonths: number;
  startDate?: Date | null;
  paymentTerms: PaymentTerms;
  expiresAt?: Date | null;
  discount?: QuoteDiscount | null;
  freeMonths?: number;
  lines?: LineTerms[];
  memo?: string | null;
}

export type QuoteUpdate = Partial<Omit<QuoteInput, 'account'>>;

/** Approval rules (per workspace). */
export const DEFAULT_QUOTE_SETTINGS = {
  maxDiscountPercent: '20',
  tcvThreshold: 10_000_000, // $100,000.00
  currency: 'usd',
  approverRole: 'sales_manager',
  defaultExpiryDays: 30,
} as const;

export const APPROVAL_REASON_TEXT: Record<string, string> = {
  discount_above_limit: 'the effective discount is above the limit',
  contract_value_above_threshold: 'the total contract value is above the threshold',
};

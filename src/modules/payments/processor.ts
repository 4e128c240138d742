import type { Ctx, Deps } from '../../context.ts';
import type { Money } from '../../kernel/money.ts';
import type { Result } from '../../kernel/result.ts';
import type { CardBrand } from './compute/card.ts';
import { sandboxProcessor } from './sandbox-processor.ts';

/**
 * The payment-processor port. The built-in sandbox implements it; a real processor (Stripe,
 * Adyen, …) plugs in behind the same interface with `registerProcessor()` without billing
 * changing. Every call takes the command context: the workspace (whose processor account) and
 * `ctx.asOf` (the workspace clock, against which card expiry is judged).
 *
 * Calls may do I/O (HTTP to a real processor; the sandbox writes its own tables through
 * `ctx.deps.database.db`), so they are made OUTSIDE any database transaction.
 */
export interface CardInput {
  number: string;
  exp_month: number;
  exp_year: number;
  cvc: string;
}

export interface TokenizedCard {
  /** Opaque to Tandem; only the processor that issued it can charge it. */
  token: string;
  brand: CardBrand;
  last4: string;
  exp_month: number;
  exp_year: number;
  /** The same card number gives the same fingerprint within a workspace (duplicate detection). */
  fingerprint: string;
}

export interface ChargeInput {
  token: string;
  amount: Money;
  /** Same key → same outcome and at most one charge, forever (as Stripe's Idempotency-Key). */
  idempotencyKey: string;
  description?: string;
  metadata?: Record<string, string>;
}

export type DeclineCode =
  | 'card_declined'
  | 'insufficient_funds'
  | 'expired_card'
  | 'incorrect_cvc'
  | 'lost_card'
  | 'stolen_card'
  | 'do_not_honor';

export type ChargeOutcome =
  | { status: 'succeeded'; processorChargeId: string }
  | { status: 'declined'; code: DeclineCode; message: string; processorChargeId?: string }
  | { status: 'failed'; retryable: true; code: 'processing_error'; message: string; processorChargeId?: string };

export interface RefundInput {
  processorChargeId: string;
  amount: Money;
  idempotencyKey: string;
}

export type RefundOutcome = { status: 'succeeded'; processorRefundId: string } | { status: 'failed'; code: string; message: string };

export interface PaymentProcessor {
  readonly name: string;
  /**
   * Validates and saves a card. Expected failures are values: `card_number_invalid` (Luhn,
   * length), `card_expired` (on the workspace clock), `parameter_invalid` (month, year, cvc)
   * naming `card.<field>`, `card_declined` (the issuer refused to save it).
   */
  tokenizeCard(ctx: Ctx, input: CardInput): Promise<Result<TokenizedCard>>;
  /** Declines are outcomes, not exceptions; a throw means the outcome is unknown (retry with the same key). */
  charge(ctx: Ctx, input: ChargeInput): Promise<ChargeOutcome>;
  /** Optional: adapters that support refunds implement it (the sandbox does not yet). */
  refund?(ctx: Ctx, input: RefundInput): Promise<RefundOutcome>;
}

export const DEFAULT_PROCESSOR = sandboxProcessor.name;

const processors = new Map<string, PaymentProcessor>([[sandboxProcessor.name, sandboxProcessor]]);

/** Plugs in an adapter (at start-up, from the composition root or a plugin). */
export function registerProcessor(processor: PaymentProcessor): void {
  processors.set(processor.name, processor);
}

/**
 * The processor by name; without a name, the one new payment methods are saved with (the
 * sandbox until a real adapter is configured). `deps` is the seam for choosing by configuration.
 */
export function getProcessor(_deps: Deps, name: string = DEFAULT_PROCESSOR): PaymentProcessor {
  const p = processors.get(name);
  if (!p) throw new Error(`payment processor '${name}' is not registered`);
  return p;
}

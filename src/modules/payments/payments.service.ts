import type { Ctx, Db } from '../../context.ts';
import { publish } from '../../jobs/outbox.ts';
import { AppError, notFound } from '../../kernel/errors.ts';
import { newId } from '../../kernel/ids.ts';
import { money, type Money } from '../../kernel/money.ts';
import { recordAudit } from '../workspaces/index.ts';
import * as repo from './payments.repo.ts';
import {
  attemptKey,
  MANUAL_PAYMENT_METHODS,
  paymentMethodView,
  paymentView,
  type ManualPaymentMethod,
  type Payment,
  type PaymentAttempt,
  type PaymentMethod,
  type PaymentMethodStatus,
  type PaymentMethodType,
} from './payments.ts';
import { getProcessor, type CardInput } from './processor.ts';

export interface CreatePaymentMethodInput {
  /** acct_…: stored as given (the accounts module owns accounts). */
  account: string;
  type: PaymentMethodType;
  card?: CardInput;
  default?: boolean;
}

function positive(amount: Money, param = 'amount'): Money {
  const m = money(amount.amount, amount.currency);
  if (m.amount <= 0) throw new AppError({ code: 'amount_invalid', message: `A payment amount must be positive; got ${m.amount}.`, param });
  return m;
}

/**
 * Saves a payment method. A card is tokenized by the processor first (outside the transaction:
 * it is the processor's side effect), then recorded with only brand, last 4, expiry and
 * fingerprint. The number and CVC go no further than the processor call.
 */
export async function createPaymentMethod(ctx: Ctx, input: CreatePaymentMethodInput): Promise<PaymentMethod> {
  if (!/^acct_[A-Za-z0-9_]+$/.test(input.account)) {
    throw new AppError({ code: 'parameter_invalid', message: `'account' must be an account id such as acct_123; got '${input.account}'.`, param: 'account' });
  }
  let card: { processor: string; token: string; brand: string; last4: string; expMonth: number; expYear: number; fingerprint: string } | null = null;
  if (input.type === 'card') {
    if (!input.card) throw new AppError({ code: 'parameter_missing', message: "A card payment method needs 'card': { number, exp_month, exp_year, cvc }.", param: 'card' });
    const processor = getProcessor(ctx.deps);
    const r = await processor.tokenizeCard(ctx, input.card);
    if (!r.ok) throw new AppError(r.error);
    const t = r.value;
    card = { processor: processor.name, token: t.token, brand: t.brand, last4: t.last4, expMonth: t.exp_month, expYear: t.exp_year, fingerprint: t.fingerprint };
  } else {
    if (input.card) throw new AppError({ code: 'parameter_invalid', message: "'card' is only for type 'card'.", param: 'card' });
    if (input.default) throw new AppError({ code: 'parameter_invalid', message: 'Only a card can be the default for automatic charges.', param: 'default' });
  }
  return ctx.deps.database.db.transaction(async (tx) => {
    if (input.default) await repo.clearDefault(tx, ctx.workspaceId, input.account);
    const pm = await repo.insertPaymentMethod(tx, {
      id: newId('pm'),
      workspaceId: ctx.workspaceId,
      accountId: input.account,
      type: input.type,
      status: 'active',
      processor: card?.processor ?? null,
      processorToken: card?.token ?? null,
      cardBrand: card?.brand ?? null,
      cardLast4: card?.last4 ?? null,
      cardExpMonth: card?.expMonth ?? null,
      cardExpYear: card?.expYear ?? null,
      cardFingerprint: card?.fingerprint ?? null,
      isDefault: input.default ?? false,
      createdAt: ctx.asOf,
    });
    await recordAudit(tx, ctx, { action: 'payment_method.created', entityType: 'payment_method', entityId: pm.id, after: paymentMethodView(pm) });
    return pm;
  });
}

export async function getPaymentMethod(ctx: Ctx, id: string): Promise<PaymentMethod> {
  const pm = await repo.findPaymentMethod(ctx.deps.database.db, ctx.workspaceId, id);
  if (!pm) throw notFound('payment method', id);
  return pm;
}

export function listPaymentMethods(
  ctx: Ctx,
  f: { accountId?: string; type?: PaymentMethodType; status?: PaymentMethodStatus; limit?: number; startingAfter?: string },
): Promise<PaymentMethod[]> {
  return repo.listPaymentMethods(ctx.deps.database.db, ctx.workspaceId, f);
}

/** Makes a card the account's default for automatic charges (`default: true`), or removes the flag. */
export async function updatePaymentMethod(ctx: Ctx, id: string, input: { default?: boolean }): Promise<PaymentMethod> {
  return ctx.deps.database.db.transaction(async (tx) => {
    const before = await repo.findPaymentMethod(tx, ctx.workspaceId, id);
    if (!before) throw notFound('payment method', id);
    if (input.default === undefined || input.default === before.isDefault) return before;
    if (input.default) {
      if (before.status !== 'active') throw new AppError({ code: 'state_conflict', message: `Payment method ${id} is detached; it cannot be the default.`, param: 'default' });
      if (before.type !== 'card') throw new AppError({ code: 'parameter_invalid', message: 'Only a card can be the default for automatic charges.', param: 'default' });
      await repo.clearDefault(tx, ctx.workspaceId, before.accountId);
    }
    const after = await repo.updatePaymentMethod(tx, ctx.workspaceId, id, { isDefault: input.default });
    await recordAudit(tx, ctx, { action: 'payment_method.updated', entityType: 'payment_method', entityId: id, before: paymentMethodView(before), after: paymentMethodView(after) });
    return after;
  });
}

/** Detaches a method: it is no longer charged nor the default. Detaching twice is a no-op. */
export async function detachPaymentMethod(ctx: Ctx, id: string): Promise<PaymentMethod> {
  return ctx.deps.database.db.transaction(async (tx) => {
    const before = await repo.findPaymentMethod(tx, ctx.workspaceId, id);
    if (!before) throw notFound('payment method', id);
    if (before.status === 'detached') return before;
    const after = await repo.updatePaymentMethod(tx, ctx.workspaceId, id, { status: 'detached', isDefault: false, detachedAt: ctx.asOf });
    await recordAudit(tx, ctx, { action: 'payment_method.detached', entityType: 'payment_method', entityId: id, before: paymentMethodView(before), after: paymentMethodView(after) });
    return after;
  });
}

/** The card to charge automatically: the account's default card, else its most recently saved active card. */
export function getDefaultPaymentMethod(db: Db, workspaceId: string, accountId: string): Promise<PaymentMethod | undefined> {
  return repo.findDefaultCard(db, workspaceId, accountId);
}

export interface ChargeCardInput {
  invoiceId: string;
  accountId: string;
  paymentMethodId: string;
  amount: Money;
  /** 1 for the invoice's first charge, then 2, 3, … for the dunning retries. */
  attempt: number;
  description?: string;
}

/**
 * Charges a saved card for an invoice and records the attempt.
 *
 * MUST be called OUTSIDE any database transaction — from a non-transactional job
 * (`transactional: false`) or after the caller's commit. The processor call is a side effect
 * (a real processor is an HTTP call; the sandbox writes through `ctx.deps.database.db`, which
 * would wait forever for an open PGlite transaction).
 *
 * Exactly once per (invoice, attempt): the processor is called with idempotency key
 * `${invoiceId}:${attempt}`, and the attempt is recorded under the same unique key. Re-running
 * after a crash returns the recorded attempt, or, if the crash came between the charge and the
 * record, the processor replays its stored outcome for the key: never a second charge.
 * Declines and processing errors are returned as `status: 'failed'` attempts, not thrown;
 * `paymentError(attempt)` turns one into a 402 for an HTTP answer.
 */
export async function chargeCard(ctx: Ctx, input: ChargeCardInput): Promise<PaymentAttempt> {
  if (!Number.isInteger(input.attempt) || input.attempt < 1) {
    throw new AppError({ code: 'parameter_invalid', message: `attempt must be an integer ≥ 1; got ${input.attempt}.`, param: 'attempt' });
  }
  const amount = positive(input.amount);
  const db = ctx.deps.database.db;
  const key = attemptKey(input.invoiceId, input.attempt);
  const sameAttempt = (p: Payment) =>
    p.invoiceId === input.invoiceId && p.paymentMethodId === input.paymentMethodId && p.amount.amount === amount.amount && p.amount.currency === amount.currency;
  const reused = () =>
    new AppError({ code: 'idempotency_key_reused', message: `Attempt ${input.attempt} of invoice ${input.invoiceId} was already made with another card or amount.`, param: 'attempt' });

  const recorded = await repo.findPaymentByKey(db, ctx.workspaceId, key);
  if (recorded) {
    if (!sameAttempt(recorded)) throw reused();
    return recorded;
  }
  const pm = await repo.findPaymentMethod(db, ctx.workspaceId, input.paymentMethodId);
  if (!pm) throw notFound('payment method', input.paymentMethodId, 'payment_method');
  if (pm.accountId !== input.accountId) {
    throw new AppError({ code: 'parameter_invalid', message: `Payment method ${pm.id} belongs to account ${pm.accountId}, not ${input.accountId}.`, param: 'payment_method' });
  }
  if (pm.type !== 'card' || pm.status !== 'active' || !pm.processor || !pm.processorToken) {
    throw new AppError({ code: 'state_conflict', message: `Payment method ${pm.id} is not an active card (${pm.type}, ${pm.status}).`, param: 'payment_method' });
  }
  const processor = getProcessor(ctx.deps, pm.processor);
  const outcome = await processor.charge(ctx, {
    token: pm.processorToken,
    amount,
    idempotencyKey: key,
    description: input.description ?? `Invoice ${input.invoiceId}`,
    metadata: { invoice_id: input.invoiceId, account_id: input.accountId, payment_method_id: pm.id, attempt: String(input.attempt) },
  });
  const failed = outcome.status !== 'succeeded';
  return db.transaction(async (tx) => {
    const payment = await repo.insertPaymentOnce(tx, {
      id: newId('pay'),
      workspaceId: ctx.workspaceId,
      invoiceId: input.invoiceId,
      accountId: input.accountId,
      paymentMethodId: pm.id,
      amount: amount.amount,
      currency: amount.currency,
      status: failed ? 'failed' : 'succeeded',
      kind: 'card',
      method: 'card',
      failureCode: outcome.status === 'succeeded' ? null : outcome.code,
      failureMessage: outcome.status === 'succeeded' ? null : outcome.message,
      processor: processor.name,
      processorChargeId: outcome.processorChargeId ?? null,
      idempotencyKey: key,
      attempt: input.attempt,
      createdAt: ctx.asOf,
    });
    if (!payment) {
      // A concurrent run recorded this attempt first (same processor outcome, by key).
      const winner = await repo.findPaymentByKey(tx, ctx.workspaceId, key);
      if (!winner || !sameAttempt(winner)) throw reused();
      return winner;
    }
    await recordAudit(tx, ctx, { action: `payment.${payment.status}`, entityType: 'payment', entityId: payment.id, after: paymentView(payment) });
    await publish(tx, ctx, `payment.${payment.status}`, paymentView(payment));
    return payment;
  });
}

export interface ManualPaymentInput {
  invoiceId: string;
  accountId: string;
  amount: Money;
  method: ManualPaymentMethod;
  /** The bank or check reference finance reads on the statement. */
  reference?: string | null;
  /** Optional: recording again with the same key returns the first record. */
  idempotencyKey?: string;
}

/** Records money received outside the processor (transfer, wire, check), in the caller's transaction. */
export async function recordManualPayment(tx: Db, ctx: Ctx, input: ManualPaymentInput): Promise<Payment> {
  const amount = positive(input.amount);
  if (!MANUAL_PAYMENT_METHODS.includes(input.method)) {
    throw new AppError({ code: 'parameter_invalid', message: `method must be one of ${MANUAL_PAYMENT_METHODS.join(', ')}.`, param: 'method' });
  }
  const id = newId('pay');
  const key = input.idempotencyKey ? `manual:${input.idempotencyKey}` : `manual:${id}`;
  const payment = await repo.insertPaymentOnce(tx, {
    id,
    workspaceId: ctx.workspaceId,
    invoiceId: input.invoiceId,
    accountId: input.accountId,
    paymentMethodId: null,
    amount: amount.amount,
    currency: amount.currency,
    status: 'succeeded',
    kind: 'manual',
    method: input.method,
    idempotencyKey: key,
    attempt: null,
    reference: input.reference ?? null,
    createdAt: ctx.asOf,
  });
  if (!payment) {
    const prior = await repo.findPaymentByKey(tx, ctx.workspaceId, key);
    const same = prior && prior.invoiceId === input.invoiceId && prior.amount.amount === amount.amount && prior.amount.currency === amount.currency && prior.method === input.method;
    if (!same) throw new AppError({ code: 'idempotency_key_reused', message: `A different manual payment was already recorded with key '${input.idempotencyKey}'.`, param: 'idempotency_key' });
    return prior;
  }
  await recordAudit(tx, ctx, { action: 'payment.recorded', entityType: 'payment', entityId: payment.id, after: paymentView(payment) });
  await publish(tx, ctx, 'payment.succeeded', paymentView(payment));
  return payment;
}

/** Payments newest first; every payment of an invoice when no limit is given. */
export function listPayments(db: Db, workspaceId: string, filter: repo.PaymentFilter = {}): Promise<Payment[]> {
  return repo.listPayments(db, workspaceId, filter);
}

export async function getPayment(ctx: Ctx, id: string): Promise<Payment> {
  const p = await repo.findPayment(ctx.deps.database.db, ctx.workspaceId, id);
  if (!p) throw notFound('payment', id);
  return p;
}

/** A failed card attempt as the 402 error an HTTP caller answers with (`card_declined` / `card_processing_error`); null if it succeeded. */
export function paymentError(p: Payment): AppError | null {
  if (p.status === 'succeeded') return null;
  const code = p.failureCode === 'processing_error' ? 'card_processing_error' : 'card_declined';
  return new AppError({ code, message: p.failureMessage ?? undefined, param: 'payment_method', details: { decline_code: p.failureCode, payment: p.id } });
}

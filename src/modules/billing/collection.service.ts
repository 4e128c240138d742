import type { Ctx, Db } from '../../context.ts';
import { enqueue } from '../../jobs/queue.ts';
import { publish } from '../../jobs/outbox.ts';
import { AppError, notFound } from '../../kernel/errors.ts';
import { money } from '../../kernel/money.ts';
import { chargeCard, getDefaultPaymentMethod, nextDunningStep, paymentView, recordManualPayment, type ManualPaymentMethod, type Payment } from '../payments/index.ts';
import { recordAudit } from '../workspaces/index.ts';
import * as repo from './billing.repo.ts';
import type { Invoice, SubscriptionStatus } from './billing.ts';
import { applyPayment } from './invoices.service.ts';
import { invoiceView, subscriptionView } from './views.ts';

export const DEFAULT_RETRY_DAYS = [1, 3, 5] as const;

const remaining = (inv: Invoice) => inv.amountDue - inv.amountPaid - inv.amountCredited;

/**
 * Charges an open card invoice (attempt n) and records the outcome. The charge leaves the
 * process outside any transaction (after the invoice was committed), keyed by (invoice,
 * attempt) so a crash and re-run never charges twice; the outcome is then recorded in one
 * transaction. A failure moves the subscription to past_due and schedules the next retry on the
 * workspace clock (days after the first failure, default 1, 3, 5); when retries run out the
 * subscription's `dunning_final_action` applies: cancel, mark unpaid, or stay past_due.
 */
export async function collect(ctx: Ctx, invoiceId: string, attempt: number): Promise<'paid' | 'failed' | 'skipped'> {
  const db = ctx.deps.database.db;
  const inv = await repo.findInvoice(db, ctx.workspaceId, invoiceId);
  if (!inv || inv.status !== 'open' || remaining(inv) <= 0) return 'skipped';
  const sub = inv.subscriptionId ? await repo.findSubscription(db, ctx.workspaceId, inv.subscriptionId) : undefined;
  const pmId = sub?.paymentMethodId ?? (await getDefaultPaymentMethod(db, ctx.workspaceId, inv.accountId))?.id ?? null;
  let payment: Payment | null = null;
  if (pmId) {
    payment = await chargeCard(ctx, { invoiceId: inv.id, accountId: inv.accountId, paymentMethodId: pmId, amount: money(remaining(inv), inv.currency), attempt, description: `Invoice ${inv.number}` });
  }
  return db.transaction(async (tx) => {
    const current = await repo.findInvoice(tx, ctx.workspaceId, invoiceId, { forUpdate: true });
    if (!current || current.status !== 'open') return 'skipped';
    if (payment?.status === 'succeeded') {
      const paid = await applyPayment(tx, ctx, { ...current, attemptCount: Math.max(current.attemptCount, attempt) }, payment.amount.amount);
      await repo.updateInvoice(tx, ctx.workspaceId, current.id, { attemptCount: Math.max(current.attemptCount, attempt), nextPaymentAttempt: null });
      await publish(tx, ctx, 'payment.succeeded', { payment: paymentView(payment), invoice: paid.id });
      if (sub && paid.status === 'paid') await recover(tx, ctx, sub.id);
      return 'paid';
    }
    const failure = payment ? { code: payment.failureCode, message: payment.failureMessage } : { code: 'no_payment_method', message: 'The account has no card on file.' };
    const firstFailureAt = current.finalizedAt ?? ctx.asOf;
    const step = nextDunningStep({ retry_days: DEFAULT_RETRY_DAYS, final_action: sub?.dunningFinalAction ?? 'past_due' }, { failedAttempt: attempt, firstFailureAt });
    const updated = await repo.updateInvoice(tx, ctx.workspaceId, current.id, {
      attemptCount: Math.max(current.attemptCount, attempt),
      nextPaymentAttempt: step.kind === 'retry' ? step.at : null,
    });
    if (payment) await publish(tx, ctx, 'payment.failed', { payment: paymentView(payment), invoice: current.id });
    await publish(tx, ctx, 'invoice.payment_failed', { invoice: invoiceView(updated), attempt, failure, next_payment_attempt: step.kind === 'retry' ? step.at.toISOString() : null });
    if (step.kind === 'retry') {
      await enqueue(tx, { workspaceId: ctx.workspaceId, kind: 'billing.collect', runAt: step.at, payload: { invoice_id: current.id, attempt: step.attempt }, dedupeKey: `collect:${current.id}:${step.attempt}`, asOf: ctx.asOf });
    }
    if (sub) await delinquent(tx, ctx, sub.id, step.kind === 'final' ? step.action : null, current.id);
    return 'failed';
  });
}

/** A failed payment: the subscription goes past_due; when dunning is over, the final action applies. */
async function delinquent(tx: Db, ctx: Ctx, subscriptionId: string, finalAction: string | null, invoiceId: string) {
  const sub = await repo.findSubscription(tx, ctx.workspaceId, subscriptionId, { forUpdate: true });
  if (!sub || (sub.status !== 'active' && sub.status !== 'past_due' && sub.status !== 'trialing')) return;
  let status: SubscriptionStatus = sub.status === 'trialing' || sub.status === 'active' ? 'past_due' : sub.status;
  let endedAt: Date | null = null;
  if (finalAction === 'cancel') {
    status = 'canceled';
    endedAt = ctx.asOf;
    await repo.updateInvoice(tx, ctx.workspaceId, invoiceId, { status: 'uncollectible', markedUncollectibleAt: ctx.asOf, nextPaymentAttempt: null });
  } else if (finalAction === 'mark_unpaid') status = 'unpaid';
  if (status === sub.status) return;
  const after = await repo.updateSubscription(tx, ctx.workspaceId, sub.id, {
    status,
    ...(endedAt ? { endedAt, canceledAt: ctx.asOf } : {}),
    updatedAt: ctx.asOf,
  });
  await publish(tx, ctx, status === 'canceled' ? 'subscription.canceled' : 'subscription.updated', { subscription: subscriptionView(after), previous: subscriptionView(sub), reason: 'payment_failed' });
  await recordAudit(tx, ctx, { action: `subscription.${status}`, entityType: 'subscription', entityId: sub.id, before: { status: sub.status }, after: { status, reason: 'payment_failed' } });
}

/** Paid up: a past_due or unpaid subscription whose invoices are all settled is active again. */
async function recover(tx: Db, ctx: Ctx, subscriptionId: string) {
  const sub = await repo.findSubscription(tx, ctx.workspaceId, subscriptionId, { forUpdate: true });
  if (!sub || (sub.status !== 'past_due' && sub.status !== 'unpaid')) return;
  const open = await repo.listInvoices(tx, ctx.workspaceId, { limit: 1, subscriptionId, status: 'open' });
  if (open.length) return;
  const after = await repo.updateSubscription(tx, ctx.workspaceId, sub.id, { status: 'active', updatedAt: ctx.asOf });
  await publish(tx, ctx, 'subscription.updated', { subscription: subscriptionView(after), previous: subscriptionView(sub), reason: 'payment_recovered' });
}

/**
 * An invoice on Net terms still open at its due date is overdue: flagged, announced, and its
 * subscription moves to past_due (back to active when paid).
 */
export async function markOverdue(tx: Db, ctx: Ctx, invoiceId: string): Promise<void> {
  const inv = await repo.findInvoice(tx, ctx.workspaceId, invoiceId, { forUpdate: true });
  if (!inv || inv.status !== 'open' || inv.overdueAt || !inv.dueAt || inv.dueAt > ctx.asOf) return;
  const updated = await repo.updateInvoice(tx, ctx.workspaceId, inv.id, { overdueAt: ctx.asOf });
  await publish(tx, ctx, 'invoice.overdue', { invoice: invoiceView(updated), days_overdue: 0 });
  if (inv.subscriptionId) await delinquent(tx, ctx, inv.subscriptionId, null, inv.id);
}

/**
 * `POST /v1/invoices/:id/pay`: record a bank transfer, wire or check (finance, for Net-terms
 * invoices), or — with no method — charge the card on file now.
 */
export async function payInvoice(
  ctx: Ctx,
  invoiceId: string,
  input: { paidOutOfBand?: boolean; method?: ManualPaymentMethod; amount?: number; reference?: string | null },
): Promise<Invoice> {
  const db = ctx.deps.database.db;
  const inv = await repo.findInvoice(db, ctx.workspaceId, invoiceId);
  if (!inv) throw notFound('invoice', invoiceId);
  if (inv.status !== 'open' && inv.status !== 'uncollectible') throw new AppError({ code: 'state_conflict', message: `Invoice ${inv.id} is ${inv.status}; only open or uncollectible invoices can be paid.` });
  if (input.paidOutOfBand || input.method) {
    return db.transaction(async (tx) => {
      const current = (await repo.findInvoice(tx, ctx.workspaceId, invoiceId, { forUpdate: true }))!;
      const amount = input.amount ?? remaining(current);
      if (amount <= 0 || amount > remaining(current)) throw new AppError({ code: 'parameter_invalid', message: `amount must be between 1 and ${remaining(current)}.`, param: 'amount' });
      const payment = await recordManualPayment(tx, ctx, { invoiceId, accountId: current.accountId, amount: money(amount, current.currency), method: input.method ?? 'bank_transfer', reference: input.reference ?? null });
      const paid = await applyPayment(tx, ctx, current.status === 'uncollectible' ? { ...current, status: 'open' } : current, amount);
      await publish(tx, ctx, 'payment.succeeded', { payment: paymentView(payment), invoice: paid.id });
      if (paid.subscriptionId && paid.status === 'paid') await recover(tx, ctx, paid.subscriptionId);
      await recordAudit(tx, ctx, { action: 'invoice.payment_recorded', entityType: 'invoice', entityId: inv.id, before: { amount_paid: current.amountPaid, status: current.status }, after: { amount_paid: paid.amountPaid, status: paid.status, method: payment.method, reference: payment.reference } });
      return paid;
    });
  }
  const attempt = inv.attemptCount + 1;
  const outcome = await collect(ctx, invoiceId, attempt);
  const after = (await repo.findInvoice(db, ctx.workspaceId, invoiceId))!;
  if (outcome === 'failed') {
    throw new AppError({ code: 'card_declined', message: `The charge for invoice ${inv.number} failed; the invoice stays open.`, details: { invoice: after.id } });
  }
  return after;
}

import type { Ctx, Db } from '../../context.ts';
import { publish } from '../../jobs/outbox.ts';
import { AppError, notFound } from '../../kernel/errors.ts';
import { newId } from '../../kernel/ids.ts';
import { recordAudit } from '../workspaces/index.ts';
import * as repo from './billing.repo.ts';
import { INVOICE_TRANSITIONS, type Invoice, type InvoiceStatus } from './billing.ts';
import { invoiceView } from './views.ts';

export function assertTransition(inv: Invoice, to: InvoiceStatus) {
  if (!INVOICE_TRANSITIONS[inv.status].includes(to)) {
    throw new AppError({ code: 'state_conflict', message: `Invoice ${inv.id} is ${inv.status}; it cannot become ${to}.` });
  }
}

/** Records money received against an invoice; paid in full → `paid`. */
export async function applyPayment(tx: Db, ctx: Ctx, inv: Invoice, amount: number): Promise<Invoice> {
  const remaining = inv.amountDue - inv.amountPaid - inv.amountCredited;
  if (amount <= 0 || amount > remaining) {
    throw new AppError({ code: 'parameter_invalid', message: `Payment of ${amount} does not fit the ${remaining} remaining on invoice ${inv.id}.`, param: 'amount' });
  }
  const paid = amount === remaining;
  const updated = await repo.updateInvoice(tx, ctx.workspaceId, inv.id, {
    amountPaid: inv.amountPaid + amount,
    status: paid ? 'paid' : inv.status,
    paidAt: paid ? ctx.asOf : null,
    nextPaymentAttempt: paid ? null : inv.nextPaymentAttempt,
  });
  if (paid) await publish(tx, ctx, 'invoice.paid', { invoice: invoiceView(updated) });
  return updated;
}

export async function voidInvoice(tx: Db, ctx: Ctx, invoiceId: string): Promise<Invoice> {
  const inv = await repo.findInvoice(tx, ctx.workspaceId, invoiceId, { forUpdate: true });
  if (!inv) throw notFound('invoice', invoiceId);
  assertTransition(inv, 'void');
  if (inv.amountPaid > 0) throw new AppError({ code: 'state_conflict', message: `Invoice ${inv.id} has payments; issue a credit note instead of voiding it.` });
  // Credit that was applied from the balance goes back to the balance.
  await repo.adjustBalance(tx, ctx.workspaceId, inv.accountId, inv.currency, inv.balanceApplied);
  const updated = await repo.updateInvoice(tx, ctx.workspaceId, inv.id, { status: 'void', voidedAt: ctx.asOf, nextPaymentAttempt: null });
  await publish(tx, ctx, 'invoice.voided', { invoice: invoiceView(updated) });
  await recordAudit(tx, ctx, { action: 'invoice.voided', entityType: 'invoice', entityId: inv.id, before: { status: inv.status }, after: { status: 'void' } });
  return updated;
}

export async function markUncollectible(tx: Db, ctx: Ctx, invoiceId: string): Promise<Invoice> {
  const inv = await repo.findInvoice(tx, ctx.workspaceId, invoiceId, { forUpdate: true });
  if (!inv) throw notFound('invoice', invoiceId);
  assertTransition(inv, 'uncollectible');
  const updated = await repo.updateInvoice(tx, ctx.workspaceId, inv.id, { status: 'uncollectible', markedUncollectibleAt: ctx.asOf, nextPaymentAttempt: null });
  await publish(tx, ctx, 'invoice.marked_uncollectible', { invoice: invoiceView(updated) });
  await recordAudit(tx, ctx, { action: 'invoice.marked_uncollectible', entityType: 'invoice', entityId: inv.id, before: { status: inv.status }, after: { status: updated.status } });
  return updated;
}

/**
 * A credit note against an invoice (or, with no invoice, straight to the account's balance).
 * On an open invoice it first reduces what is still owed; the rest, and anything on a paid
 * invoice, becomes credit on the account's balance, consumed by its next invoices.
 */
export async function issueCreditNote(
  tx: Db,
  ctx: Ctx,
  input: { invoiceId: string | null; accountId: string; subscriptionId: string | null; currency: string; amount: number; reason: string; memo?: string | null; sourceKey?: string },
): Promise<{ creditNote: import('./billing.ts').CreditNote; invoice: Invoice | null } | null> {
  if (!Number.isSafeInteger(input.amount) || input.amount <= 0) throw new AppError({ code: 'parameter_invalid', message: 'A credit note amount is a positive integer of minor units.', param: 'amount' });
  let inv: Invoice | null = null;
  let toInvoice = 0;
  if (input.invoiceId) {
    inv = (await repo.findInvoice(tx, ctx.workspaceId, input.invoiceId, { forUpdate: true })) ?? null;
    if (!inv) throw notFound('invoice', input.invoiceId);
    if (inv.status === 'draft' || inv.status === 'void') throw new AppError({ code: 'state_conflict', message: `Invoice ${inv.id} is ${inv.status}; credit notes apply to finalized invoices.` });
    if (inv.currency !== input.currency) throw new AppError({ code: 'currency_mismatch' });
    const creditable = inv.total - inv.amountCredited;
    if (input.amount > creditable) throw new AppError({ code: 'parameter_invalid', message: `At most ${creditable} can still be credited on invoice ${inv.id}.`, param: 'amount' });
    const owed = inv.status === 'open' || inv.status === 'uncollectible' ? inv.amountDue - inv.amountPaid - inv.amountCredited : 0;
    toInvoice = Math.min(owed, input.amount);
  }
  const number = `CN-${String(await repo.nextNumber(tx, ctx.workspaceId, 'credit_note')).padStart(6, '0')}`;
  const cn = {
    id: newId('cn'),
    workspaceId: ctx.workspaceId,
    invoiceId: inv?.id ?? null,
    accountId: input.accountId,
    subscriptionId: input.subscriptionId,
    number,
    reason: input.reason,
    currency: input.currency,
    amount: input.amount,
    appliedToInvoice: toInvoice,
    creditedToBalance: input.amount - toInvoice,
    memo: input.memo ?? null,
    sourceKey: input.sourceKey ?? null,
    createdAt: ctx.asOf,
  };
  if (!(await repo.insertCreditNote(tx, cn))) return null; // this source was credited before
  await repo.adjustBalance(tx, ctx.workspaceId, input.accountId, input.currency, cn.creditedToBalance);
  if (inv) {
    const credited = inv.amountCredited + toInvoice;
    const settled = inv.amountPaid + credited === inv.amountDue && (inv.status === 'open' || inv.status === 'uncollectible');
    inv = await repo.updateInvoice(tx, ctx.workspaceId, inv.id, {
      amountCredited: credited,
      ...(settled ? { status: 'paid' as const, paidAt: ctx.asOf, nextPaymentAttempt: null } : {}),
    });
  }
  await publish(tx, ctx, 'credit_note.created', { credit_note: { id: cn.id, number, amount: cn.amount, currency: cn.currency, invoice: cn.invoiceId } });
  await recordAudit(tx, ctx, { action: 'credit_note.created', entityType: 'credit_note', entityId: cn.id, after: { ...cn, createdAt: undefined } });
  return { creditNote: cn, invoice: inv };
}

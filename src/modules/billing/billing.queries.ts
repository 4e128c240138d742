import type { Ctx } from '../../context.ts';
import { AppError, notFound } from '../../kernel/errors.ts';
import * as repo from './billing.repo.ts';
import type { Invoice, InvoiceLine } from './billing.ts';
import { invoicePdf, invoiceHtml, type Party } from './render.ts';

/** Read side of billing for the API: lists, single objects with lines, documents. */
export const listSubscriptions = (ctx: Ctx, q: Parameters<typeof repo.listSubscriptions>[2]) => repo.listSubscriptions(ctx.deps.database.db, ctx.workspaceId, q);
export const listInvoices = (ctx: Ctx, q: Parameters<typeof repo.listInvoices>[2]) => repo.listInvoices(ctx.deps.database.db, ctx.workspaceId, q);
export const listCreditNotes = (ctx: Ctx, q: Parameters<typeof repo.listCreditNotes>[2]) => repo.listCreditNotes(ctx.deps.database.db, ctx.workspaceId, q);
export const subscriptionHistory = (ctx: Ctx, id: string) => repo.listSubscriptionEvents(ctx.deps.database.db, ctx.workspaceId, id);
export const pendingChanges = (ctx: Ctx, id: string) => repo.pendingSchedules(ctx.deps.database.db, ctx.workspaceId, id);
export const invoiceLinesOf = (ctx: Ctx, ids: string[]) => repo.linesOf(ctx.deps.database.db, ctx.workspaceId, ids);
export const accountCreditBalance = (ctx: Ctx, accountId: string, currency: string) => repo.creditBalance(ctx.deps.database.db, ctx.workspaceId, accountId, currency);

export async function getInvoice(ctx: Ctx, id: string): Promise<{ invoice: Invoice; lines: InvoiceLine[] }> {
  const invoice = await repo.findInvoice(ctx.deps.database.db, ctx.workspaceId, id);
  if (!invoice) throw notFound('invoice', id);
  return { invoice, lines: await repo.linesOf(ctx.deps.database.db, ctx.workspaceId, [id]) };
}

export async function getCreditNote(ctx: Ctx, id: string) {
  const cn = await repo.findCreditNote(ctx.deps.database.db, ctx.workspaceId, id);
  if (!cn) throw notFound('credit note', id);
  return cn;
}

export async function invoiceDocument(ctx: Ctx, id: string, kind: 'pdf' | 'html', parties: { seller: Party; customer: Party }): Promise<Buffer | string> {
  const { invoice, lines } = await getInvoice(ctx, id);
  if (invoice.status === 'draft' && kind === 'pdf') throw new AppError({ code: 'state_conflict', message: `Invoice ${id} is a draft; finalize it to get its PDF.` });
  return kind === 'pdf' ? invoicePdf(invoice, lines, parties.seller, parties.customer) : invoiceHtml(invoice, lines, parties.seller, parties.customer);
}

import type { Ctx, Db } from '../../context.ts';
import { publishMany, type EventInput } from '../../jobs/outbox.ts';
import { enqueueMany, type EnqueueInput } from '../../jobs/queue.ts';
import { addDays } from '../../kernel/dates.ts';
import { notFound } from '../../kernel/errors.ts';
import { newId } from '../../kernel/ids.ts';
import * as batch from './batch.repo.ts';
import * as repo from './billing.repo.ts';
import type { BillingReason, CollectionMethod, Invoice, InvoiceLine } from './billing.ts';
import { totals, type ComputedLine } from './compute/invoice.ts';
import type { Period } from './compute/periods.ts';
import { assertTransition } from './invoices.service.ts';
import { invoiceView } from './views.ts';

export const INVOICE_PREFIX_DEFAULT = 'INV';

/**
 * Drafts and finalization, for one invoice or many with the same statements: a bill run's batch
 * of 1,000 invoices costs what one costs, in statements.
 */
export interface DraftInput {
  accountId: string;
  subscriptionId: string | null;
  currency: string;
  collectionMethod: CollectionMethod;
  daysUntilDue: number | null;
  billingReason: BillingReason;
  period: Period | null;
  lines: ComputedLine[];
  memo?: string | null;
  /** When it is created (default `ctx.asOf`): a bill run's invoices each date from their own renewal. */
  at?: Date;
}

export type Draft = { invoice: Invoice; lines: InvoiceLine[] };

/**
 * Inserts the drafts' lines — all at once; `ON CONFLICT DO NOTHING RETURNING` says which were
 * new — and builds the drafts that kept at least one line (in memory; the caller stores them).
 * A line whose (subscription, charge, period start) was billed before is skipped by the
 * database; a draft left with no line is `null`: how a re-run finds "nothing to do".
 */
async function draftsWithNewLines(tx: Db, ctx: Ctx, inputs: readonly DraftInput[]): Promise<Array<Draft | null>> {
  const candidates = inputs.map((input) => {
    const id = newId('inv');
    const lines = input.lines.map(
      (l, i): InvoiceLine => ({
        id: newId('il'),
        invoiceId: id,
        subscriptionId: input.subscriptionId,
        kind: l.kind,
        chargeKey: l.chargeKey,
        priceId: l.priceId,
        description: l.description,
        periodStart: l.periodStart,
        periodEnd: l.periodEnd,
        quantity: l.quantity,
        unitAmountDecimal: l.unitAmountDecimal,
        amount: l.amount,
        currency: input.currency,
        position: i,
      }),
    );
    return { id, input, lines };
  });
  const insertedIds = await batch.insertLinesOnce(tx, ctx.workspaceId, candidates.flatMap((c) => c.lines));
  return candidates.map(({ id, input, lines }): Draft | null => {
    const inserted = lines.filter((l) => insertedIds.has(l.id));
    if (inserted.length === 0) return null;
    const t = totals(inserted);
    if (t.subtotal < 0) throw new Error(`invoice ${id} would total ${t.subtotal}: credits go to credit notes`);
    const invoice: Invoice = {
      id,
      workspaceId: ctx.workspaceId,
      accountId: input.accountId,
      subscriptionId: input.subscriptionId,
      number: null,
      status: 'draft',
      billingReason: input.billingReason,
      currency: input.currency,
      collectionMethod: input.collectionMethod,
      daysUntilDue: input.daysUntilDue,
      periodStart: input.period?.start ?? null,
      periodEnd: input.period?.end ?? null,
      subtotal: t.subtotal,
      balanceApplied: 0,
      total: t.total,
      amountDue: t.total,
      amountPaid: 0,
      amountCredited: 0,
      dueAt: null,
      attemptCount: 0,
      nextPaymentAttempt: null,
      overdueAt: null,
      finalizedAt: null,
      paidAt: null,
      voidedAt: null,
      markedUncollectibleAt: null,
      memo: input.memo ?? null,
      createdAt: input.at ?? ctx.asOf,
    };
    return { invoice, lines: inserted };
  });
}

/** Writes a draft invoice with its lines; `null` when every line was billed before. */
export async function createDraft(tx: Db, ctx: Ctx, input: DraftInput): Promise<Draft | null> {
  const [draft] = await draftsWithNewLines(tx, ctx, [input]);
  if (draft) await batch.insertInvoices(tx, [draft.invoice]);
  return draft;
}

function formatNumber(prefix: string, n: number): string {
  return `${prefix}-${String(n).padStart(6, '0')}`;
}

/**
 * draft → open, for drafts in input order, each at its own `at`: the account's credit balance
 * applied (consumed in order: a second invoice of an account sees what the first left), due date
 * from Net terms, a zero amount due paid at once, a card invoice queued for collection and an
 * invoice on terms given an overdue check at its due date; then numbered — one block of
 * consecutive numbers — stored by `store`, announced and audited.
 *
 * The numbers are allocated as late as possible: the sequence row stays locked until commit,
 * so concurrent batches queue only for the few statements that carry the numbers.
 */
async function finalizeDrafts(tx: Db, ctx: Ctx, drafts: ReadonlyArray<{ inv: Invoice; at: Date }>, store: (finalized: Invoice[]) => Promise<void>): Promise<Invoice[]> {
  if (!drafts.length) return [];
  const ws = ctx.workspaceId;
  const credit = await batch.lockCredit(tx, ws, drafts.map((d) => d.inv.accountId));
  const consumed = new Map<string, { accountId: string; currency: string; amount: number }>();
  const open = drafts.map(({ inv, at }): Invoice => {
    const key = batch.balanceKey(inv.accountId, inv.currency);
    const t = totals([{ amount: inv.subtotal }], credit.get(key) ?? 0);
    if (t.balanceApplied > 0) {
      credit.set(key, credit.get(key)! - t.balanceApplied);
      const c = consumed.get(key) ?? { accountId: inv.accountId, currency: inv.currency, amount: 0 };
      consumed.set(key, { ...c, amount: c.amount + t.balanceApplied });
    }
    const paidNow = t.amountDue === 0;
    return {
      ...inv,
      status: paidNow ? 'paid' : 'open',
      balanceApplied: t.balanceApplied,
      total: t.total,
      amountDue: t.amountDue,
      finalizedAt: at,
      paidAt: paidNow ? at : null,
      dueAt: inv.collectionMethod === 'send_invoice' ? addDays(at, inv.daysUntilDue ?? 30) : at,
    };
  });
  await batch.consumeCredit(tx, ws, [...consumed.values()]);
  const jobs: EnqueueInput[] = [];
  for (const inv of open) {
    if (inv.status === 'paid') continue;
    if (inv.collectionMethod === 'charge_automatically') {
      jobs.push({ workspaceId: ws, kind: 'billing.collect', runAt: inv.finalizedAt!, payload: { invoice_id: inv.id, attempt: 1 }, dedupeKey: `collect:${inv.id}:1` });
    } else {
      jobs.push({ workspaceId: ws, kind: 'billing.overdue', runAt: inv.dueAt!, payload: { invoice_id: inv.id }, dedupeKey: `overdue:${inv.id}` });
    }
  }
  await enqueueMany(tx, jobs);

  const first = await repo.nextNumbers(tx, ws, 'invoice', open.length);
  const finalized = open.map((inv, i) => ({ ...inv, number: formatNumber(INVOICE_PREFIX_DEFAULT, first + i) }));
  await store(finalized);
  const events: EventInput[] = [];
  for (const inv of finalized) {
    const view = invoiceView(inv);
    events.push({ type: 'invoice.finalized', data: { invoice: view }, at: inv.finalizedAt! });
    if (inv.status === 'paid') events.push({ type: 'invoice.paid', data: { invoice: view }, at: inv.finalizedAt! });
  }
  await publishMany(tx, ctx, events);
  await batch.insertAudit(
    tx,
    ctx,
    finalized.map((inv, i) => ({
      action: 'invoice.finalized',
      entityType: 'invoice',
      entityId: inv.id,
      before: { status: drafts[i].inv.status },
      after: { status: inv.status, number: inv.number, amount_due: inv.amountDue },
      at: inv.finalizedAt!,
    })),
  );
  return finalized;
}

/** Finalizes stored drafts (each at its `at`, default `ctx.asOf`), in order. */
export async function finalizeMany(tx: Db, ctx: Ctx, items: ReadonlyArray<{ id: string; at?: Date }>): Promise<Invoice[]> {
  if (!items.length) return [];
  const locked = await batch.lockInvoices(tx, ctx.workspaceId, items.map((i) => i.id));
  const drafts = items.map(({ id, at }) => {
    const inv = locked.get(id);
    if (!inv) throw notFound('invoice', id);
    assertTransition(inv, 'open');
    return { inv, at: at ?? ctx.asOf };
  });
  return finalizeDrafts(tx, ctx, drafts, (finalized) => batch.updateFinalized(tx, ctx.workspaceId, finalized));
}

/**
 * draft → open: numbered (per workspace, sequential), immutable from here on, due date from Net
 * terms, the account's credit balance applied. A zero amount due is paid at once. A card invoice
 * is queued for collection; an invoice on terms gets an overdue check at its due date.
 */
export async function finalize(tx: Db, ctx: Ctx, invoiceId: string): Promise<Invoice> {
  const [invoice] = await finalizeMany(tx, ctx, [{ id: invoiceId }]);
  return invoice;
}

/**
 * Drafts finalized at once (a renewal's invoices): the same finalization as `finalizeMany`, but
 * the invoices are inserted already final — never stored as drafts, so no second write per
 * invoice. Results are in input order; `null` where every line was billed before.
 */
export async function issueInvoices(tx: Db, ctx: Ctx, inputs: readonly DraftInput[]): Promise<Array<Invoice | null>> {
  const drafts = await draftsWithNewLines(tx, ctx, inputs);
  const issued = await finalizeDrafts(
    tx,
    ctx,
    drafts.flatMap((d, i) => (d ? [{ inv: d.invoice, at: inputs[i].at ?? ctx.asOf }] : [])),
    (finalized) => batch.insertInvoices(tx, finalized),
  );
  const byId = new Map(issued.map((inv) => [inv.id, inv]));
  return drafts.map((d) => (d ? byId.get(d.invoice.id)! : null));
}

import { and, asc, desc, eq, inArray, lt, sql } from 'drizzle-orm';
import type { Db } from '../../context.ts';
import {
  accountBalances,
  creditNotes,
  invoiceLines,
  invoices,
  numberSequences,
  subscriptionEvents,
  subscriptionPriceOverrides,
  subscriptions,
  subscriptionSchedules,
} from '../../db/schema/index.ts';
import type { CreditNote, Invoice, InvoiceLine, Subscription } from './billing.ts';

/** Every query takes the workspace id: tenancy is enforced here, not by callers remembering. */

export async function findSubscription(db: Db, workspaceId: string, id: string, opts: { forUpdate?: boolean } = {}): Promise<Subscription | undefined> {
  const q = db.select().from(subscriptions).where(and(eq(subscriptions.workspaceId, workspaceId), eq(subscriptions.id, id))).limit(1);
  const [row] = opts.forUpdate ? await q.for('update') : await q;
  return row as Subscription | undefined;
}

export async function listSubscriptions(
  db: Db,
  workspaceId: string,
  q: { limit: number; startingAfter?: string; accountId?: string; status?: string },
): Promise<Subscription[]> {
  const conds = [eq(subscriptions.workspaceId, workspaceId)];
  if (q.startingAfter) conds.push(lt(subscriptions.id, q.startingAfter));
  if (q.accountId) conds.push(eq(subscriptions.accountId, q.accountId));
  if (q.status) conds.push(eq(subscriptions.status, q.status));
  return (await db.select().from(subscriptions).where(and(...conds)).orderBy(desc(subscriptions.id)).limit(q.limit + 1)) as Subscription[];
}

export async function insertSubscription(db: Db, s: Subscription): Promise<void> {
  await db.insert(subscriptions).values(s);
}

export async function updateSubscription(db: Db, workspaceId: string, id: string, patch: Partial<Subscription>): Promise<Subscription> {
  const [row] = await db
    .update(subscriptions)
    .set(patch)
    .where(and(eq(subscriptions.workspaceId, workspaceId), eq(subscriptions.id, id)))
    .returning();
  return row as Subscription;
}

export async function getOverrides(db: Db, workspaceId: string, subscriptionId: string): Promise<Record<string, number>> {
  const rows = await db
    .select()
    .from(subscriptionPriceOverrides)
    .where(and(eq(subscriptionPriceOverrides.workspaceId, workspaceId), eq(subscriptionPriceOverrides.subscriptionId, subscriptionId)));
  return Object.fromEntries(rows.map((r) => [r.priceId, r.unitAmount]));
}

export async function replaceOverrides(db: Db, workspaceId: string, subscriptionId: string, overrides: Record<string, number>): Promise<void> {
  await db
    .delete(subscriptionPriceOverrides)
    .where(and(eq(subscriptionPriceOverrides.workspaceId, workspaceId), eq(subscriptionPriceOverrides.subscriptionId, subscriptionId)));
  const entries = Object.entries(overrides);
  if (entries.length) {
    await db.insert(subscriptionPriceOverrides).values(entries.map(([priceId, unitAmount]) => ({ workspaceId, subscriptionId, priceId, unitAmount })));
  }
}

export async function insertSubscriptionEvent(
  db: Db,
  e: { id: string; workspaceId: string; subscriptionId: string; type: string; effectiveAt: Date; before: unknown; after: unknown; createdAt: Date },
): Promise<void> {
  await db.insert(subscriptionEvents).values({ ...e, before: e.before as never, after: e.after as never });
}

export async function listSubscriptionEvents(db: Db, workspaceId: string, subscriptionId: string) {
  return db
    .select()
    .from(subscriptionEvents)
    .where(and(eq(subscriptionEvents.workspaceId, workspaceId), eq(subscriptionEvents.subscriptionId, subscriptionId)))
    .orderBy(asc(subscriptionEvents.id));
}

export async function pendingSchedules(db: Db, workspaceId: string, subscriptionId: string) {
  return db
    .select()
    .from(subscriptionSchedules)
    .where(
      and(eq(subscriptionSchedules.workspaceId, workspaceId), eq(subscriptionSchedules.subscriptionId, subscriptionId), eq(subscriptionSchedules.status, 'pending')),
    )
    .orderBy(asc(subscriptionSchedules.effectiveAt), asc(subscriptionSchedules.id));
}

export async function insertSchedule(
  db: Db,
  s: { id: string; workspaceId: string; subscriptionId: string; effectiveAt: Date; change: Record<string, unknown>; source: string | null; createdAt: Date },
): Promise<void> {
  await db.insert(subscriptionSchedules).values(s);
}

export async function findInvoice(db: Db, workspaceId: string, id: string, opts: { forUpdate?: boolean } = {}): Promise<Invoice | undefined> {
  const q = db.select().from(invoices).where(and(eq(invoices.workspaceId, workspaceId), eq(invoices.id, id))).limit(1);
  const [row] = opts.forUpdate ? await q.for('update') : await q;
  return row as Invoice | undefined;
}

export async function listInvoices(
  db: Db,
  workspaceId: string,
  q: { limit: number; startingAfter?: string; accountId?: string; subscriptionId?: string; status?: string },
): Promise<Invoice[]> {
  const conds = [eq(invoices.workspaceId, workspaceId)];
  if (q.startingAfter) conds.push(lt(invoices.id, q.startingAfter));
  if (q.accountId) conds.push(eq(invoices.accountId, q.accountId));
  if (q.subscriptionId) conds.push(eq(invoices.subscriptionId, q.subscriptionId));
  if (q.status) conds.push(eq(invoices.status, q.status));
  return (await db.select().from(invoices).where(and(...conds)).orderBy(desc(invoices.id)).limit(q.limit + 1)) as Invoice[];
}

export async function updateInvoice(db: Db, workspaceId: string, id: string, patch: Partial<Invoice>): Promise<Invoice> {
  const [row] = await db
    .update(invoices)
    .set(patch)
    .where(and(eq(invoices.workspaceId, workspaceId), eq(invoices.id, id)))
    .returning();
  return row as Invoice;
}

export async function linesOf(db: Db, workspaceId: string, invoiceIds: string[]): Promise<InvoiceLine[]> {
  if (!invoiceIds.length) return [];
  return (await db
    .select()
    .from(invoiceLines)
    .where(and(eq(invoiceLines.workspaceId, workspaceId), inArray(invoiceLines.invoiceId, invoiceIds)))
    .orderBy(asc(invoiceLines.invoiceId), asc(invoiceLines.position))) as unknown as InvoiceLine[];
}

/** Next number of a per-workspace sequence (invoices, credit notes), inside the caller's transaction. */
export async function nextNumber(db: Db, workspaceId: string, kind: 'invoice' | 'credit_note'): Promise<number> {
  return nextNumbers(db, workspaceId, kind, 1);
}

/**
 * Allocates `count` consecutive numbers of a sequence in one statement and returns the first.
 * The row stays locked until commit, so concurrent allocations queue and a rolled-back
 * allocation leaves no gap.
 */
export async function nextNumbers(db: Db, workspaceId: string, kind: 'invoice' | 'credit_note', count: number): Promise<number> {
  const [row] = await db
    .insert(numberSequences)
    .values({ workspaceId, kind, next: count + 1 })
    .onConflictDoUpdate({ target: [numberSequences.workspaceId, numberSequences.kind], set: { next: sql`${numberSequences.next} + ${count}` } })
    .returning({ next: numberSequences.next });
  return row.next - count;
}

export async function creditBalance(db: Db, workspaceId: string, accountId: string, currency: string): Promise<number> {
  const [row] = await db
    .select({ credit: accountBalances.credit })
    .from(accountBalances)
    .where(and(eq(accountBalances.workspaceId, workspaceId), eq(accountBalances.accountId, accountId), eq(accountBalances.currency, currency)));
  return row?.credit ?? 0;
}

/** Adds (or, with a negative delta, consumes) credit; the CHECK (credit ≥ 0) refuses overdraws. */
export async function adjustBalance(db: Db, workspaceId: string, accountId: string, currency: string, delta: number): Promise<void> {
  if (delta === 0) return;
  if (delta < 0) {
    // Consuming credit: the row exists (the caller read the balance); the CHECK refuses an overdraw.
    const rows = await db
      .update(accountBalances)
      .set({ credit: sql`${accountBalances.credit} + ${delta}` })
      .where(and(eq(accountBalances.workspaceId, workspaceId), eq(accountBalances.accountId, accountId), eq(accountBalances.currency, currency)))
      .returning({ credit: accountBalances.credit });
    if (rows.length === 0) throw new Error(`no credit balance to consume for ${accountId} ${currency}`);
    return;
  }
  await db
    .insert(accountBalances)
    .values({ workspaceId, accountId, currency, credit: delta })
    .onConflictDoUpdate({
      target: [accountBalances.workspaceId, accountBalances.accountId, accountBalances.currency],
      set: { credit: sql`${accountBalances.credit} + ${delta}` },
    });
}

export async function insertCreditNote(db: Db, cn: CreditNote): Promise<boolean> {
  const rows = await db.insert(creditNotes).values(cn).onConflictDoNothing().returning({ id: creditNotes.id });
  return rows.length > 0;
}

export async function listCreditNotes(db: Db, workspaceId: string, q: { limit: number; startingAfter?: string; invoiceId?: string; accountId?: string }) {
  const conds = [eq(creditNotes.workspaceId, workspaceId)];
  if (q.startingAfter) conds.push(lt(creditNotes.id, q.startingAfter));
  if (q.invoiceId) conds.push(eq(creditNotes.invoiceId, q.invoiceId));
  if (q.accountId) conds.push(eq(creditNotes.accountId, q.accountId));
  return (await db.select().from(creditNotes).where(and(...conds)).orderBy(desc(creditNotes.id)).limit(q.limit + 1)) as CreditNote[];
}

export async function findCreditNote(db: Db, workspaceId: string, id: string): Promise<CreditNote | undefined> {
  const [row] = await db.select().from(creditNotes).where(and(eq(creditNotes.workspaceId, workspaceId), eq(creditNotes.id, id)));
  return row as CreditNote | undefined;
}

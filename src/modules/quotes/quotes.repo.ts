import { randomBytes } from 'node:crypto';
import { and, asc, desc, eq, lt, sql } from 'drizzle-orm';
import type { Db } from '../../context.ts';
import { quoteLines, quotes, quoteSettings } from '../../db/schema/index.ts';
import { DEFAULT_QUOTE_SETTINGS, type Quote, type QuoteLine, type QuoteSettings } from './quotes.ts';

/** Workspace-scoped queries for quotes, their lines and the per-workspace quote settings. */

export async function findQuote(db: Db, workspaceId: string, id: string, opts: { forUpdate?: boolean } = {}): Promise<Quote | undefined> {
  const q = db.select().from(quotes).where(and(eq(quotes.workspaceId, workspaceId), eq(quotes.id, id))).limit(1);
  const [row] = opts.forUpdate ? await q.for('update') : await q;
  return row;
}

/** A quote by id alone (the share page knows no workspace; its token is checked against the quote's own workspace secret). */
export async function findQuoteAnyWorkspace(db: Db, id: string): Promise<Quote | undefined> {
  const [row] = await db.select().from(quotes).where(eq(quotes.id, id)).limit(1);
  return row;
}

export async function listQuotes(db: Db, workspaceId: string, q: { limit: number; startingAfter?: string; accountId?: string; status?: string }): Promise<Quote[]> {
  const conds = [eq(quotes.workspaceId, workspaceId)];
  if (q.startingAfter) conds.push(lt(quotes.id, q.startingAfter));
  if (q.accountId) conds.push(eq(quotes.accountId, q.accountId));
  if (q.status) conds.push(eq(quotes.status, q.status));
  return db.select().from(quotes).where(and(...conds)).orderBy(desc(quotes.id)).limit(q.limit + 1);
}

export async function insertQuote(db: Db, q: Quote): Promise<void> {
  await db.insert(quotes).values(q);
}

export async function updateQuote(db: Db, workspaceId: string, id: string, patch: Partial<Quote>): Promise<Quote> {
  const [row] = await db.update(quotes).set(patch).where(and(eq(quotes.workspaceId, workspaceId), eq(quotes.id, id))).returning();
  return row;
}

export async function deleteQuote(db: Db, workspaceId: string, id: string): Promise<void> {
  await db.delete(quoteLines).where(and(eq(quoteLines.workspaceId, workspaceId), eq(quoteLines.quoteId, id)));
  await db.delete(quotes).where(and(eq(quotes.workspaceId, workspaceId), eq(quotes.id, id)));
}

export async function linesOf(db: Db, workspaceId: string, quoteId: string): Promise<QuoteLine[]> {
  return db.select().from(quoteLines).where(and(eq(quoteLines.workspaceId, workspaceId), eq(quoteLines.quoteId, quoteId))).orderBy(asc(quoteLines.position));
}

export async function replaceLines(db: Db, workspaceId: string, quoteId: string, lines: QuoteLine[]): Promise<void> {
  await db.delete(quoteLines).where(and(eq(quoteLines.workspaceId, workspaceId), eq(quoteLines.quoteId, quoteId)));
  if (lines.length) await db.insert(quoteLines).values(lines);
}

/** An open quote a customer already requested for this plan (a second click makes no second request). */
export async function findOpenRequest(db: Db, workspaceId: string, accountId: string, planId: string): Promise<Quote | undefined> {
  const [row] = await db
    .select()
    .from(quotes)
    .where(
      and(
        eq(quotes.workspaceId, workspaceId),
        eq(quotes.accountId, accountId),
        eq(quotes.planId, planId),
        eq(quotes.requestedByCustomer, true),
        sql`${quotes.status} IN ('draft', 'pending_approval', 'approved', 'sent')`,
      ),
    )
    .limit(1);
  return row;
}

/** The workspace's settings row, created with the defaults (and a fresh share-link secret) on first use. */
export async function ensureSettings(db: Db, workspaceId: string, asOf: Date): Promise<QuoteSettings> {
  await db
    .insert(quoteSettings)
    .values({ workspaceId, ...DEFAULT_QUOTE_SETTINGS, tokenSecret: randomBytes(32).toString('hex'), nextNumber: 1, updatedAt: asOf })
    .onConflictDoNothing();
  const [row] = await db.select().from(quoteSettings).where(eq(quoteSettings.workspaceId, workspaceId)).limit(1);
  return row;
}

export async function findSettings(db: Db, workspaceId: string): Promise<QuoteSettings | undefined> {
  const [row] = await db.select().from(quoteSettings).where(eq(quoteSettings.workspaceId, workspaceId)).limit(1);
  return row;
}

export async function updateSettings(db: Db, workspaceId: string, patch: Partial<QuoteSettings>): Promise<QuoteSettings> {
  const [row] = await db.update(quoteSettings).set(patch).where(eq(quoteSettings.workspaceId, workspaceId)).returning();
  return row;
}

/** Q-000001, Q-000002, …: allocated under the settings row's lock, never reused. */
export async function nextQuoteNumber(db: Db, workspaceId: string): Promise<string> {
  const [row] = await db
    .update(quoteSettings)
    .set({ nextNumber: sql`${quoteSettings.nextNumber} + 1` })
    .where(eq(quoteSettings.workspaceId, workspaceId))
    .returning({ n: quoteSettings.nextNumber });
  return `Q-${String(row.n - 1).padStart(6, '0')}`;
}

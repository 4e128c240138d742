import { randomBytes } from 'node:crypto';
import { and, desc, eq, lt } from 'drizzle-orm';
import type { Db } from '../../context.ts';
import { checkoutSessions, handRaises, hostedPageSecrets, portalSessions, upgradePolicies } from '../../db/schema/index.ts';
import type { CheckoutSession, HandRaise, PortalSession } from './checkout.ts';

/** Workspace-scoped queries for checkout, portal, hand-raises and the upgrade policy. */

/** The workspace's link-signing secret, created on first use. */
export async function ensureSecret(db: Db, workspaceId: string, asOf: Date): Promise<string> {
  await db.insert(hostedPageSecrets).values({ workspaceId, secret: randomBytes(32).toString('hex'), createdAt: asOf }).onConflictDoNothing();
  return (await findSecret(db, workspaceId))!;
}

export async function findSecret(db: Db, workspaceId: string): Promise<string | undefined> {
  const [row] = await db.select().from(hostedPageSecrets).where(eq(hostedPageSecrets.workspaceId, workspaceId)).limit(1);
  return row?.secret;
}

export async function insertSession(db: Db, s: CheckoutSession): Promise<void> {
  await db.insert(checkoutSessions).values(s);
}

export async function findSession(db: Db, workspaceId: string, id: string, opts: { forUpdate?: boolean } = {}): Promise<CheckoutSession | undefined> {
  const q = db.select().from(checkoutSessions).where(and(eq(checkoutSessions.workspaceId, workspaceId), eq(checkoutSessions.id, id))).limit(1);
  const [row] = opts.forUpdate ? await q.for('update') : await q;
  return row;
}

/** For the hosted page, which knows only the id (the token is then checked with that workspace's secret). */
export async function findSessionAnyWorkspace(db: Db, id: string): Promise<CheckoutSession | undefined> {
  const [row] = await db.select().from(checkoutSessions).where(eq(checkoutSessions.id, id)).limit(1);
  return row;
}

export async function listSessions(db: Db, workspaceId: string, q: { limit: number; startingAfter?: string }): Promise<CheckoutSession[]> {
  const conds = [eq(checkoutSessions.workspaceId, workspaceId)];
  if (q.startingAfter) conds.push(lt(checkoutSessions.id, q.startingAfter));
  return db.select().from(checkoutSessions).where(and(...conds)).orderBy(desc(checkoutSessions.id)).limit(q.limit + 1);
}

export async function updateSession(db: Db, workspaceId: string, id: string, patch: Partial<CheckoutSession>): Promise<CheckoutSession> {
  const [row] = await db.update(checkoutSessions).set(patch).where(and(eq(checkoutSessions.workspaceId, workspaceId), eq(checkoutSessions.id, id))).returning();
  return row;
}

export async function insertPortalSession(db: Db, s: PortalSession): Promise<void> {
  await db.insert(portalSessions).values(s);
}

export async function findPortalSessionAnyWorkspace(db: Db, id: string): Promise<PortalSession | undefined> {
  const [row] = await db.select().from(portalSessions).where(eq(portalSessions.id, id)).limit(1);
  return row;
}

export async function insertHandRaise(db: Db, h: HandRaise): Promise<void> {
  await db.insert(handRaises).values(h);
}

export async function listHandRaises(db: Db, workspaceId: string, q: { limit: number; accountId?: string }): Promise<HandRaise[]> {
  const conds = [eq(handRaises.workspaceId, workspaceId)];
  if (q.accountId) conds.push(eq(handRaises.accountId, q.accountId));
  return db.select().from(handRaises).where(and(...conds)).orderBy(desc(handRaises.id)).limit(q.limit);
}

export type PolicyRow = typeof upgradePolicies.$inferSelect;

export async function findPolicy(db: Db, workspaceId: string): Promise<PolicyRow | undefined> {
  const [row] = await db.select().from(upgradePolicies).where(eq(upgradePolicies.workspaceId, workspaceId)).limit(1);
  return row;
}

export async function upsertPolicy(db: Db, row: PolicyRow): Promise<PolicyRow> {
  const { workspaceId: _w, ...rest } = row;
  const [saved] = await db.insert(upgradePolicies).values(row).onConflictDoUpdate({ target: upgradePolicies.workspaceId, set: rest }).returning();
  return saved;
}

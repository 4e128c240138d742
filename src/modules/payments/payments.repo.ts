import { and, desc, eq, lt, type SQL } from 'drizzle-orm';
import type { Db } from '../../context.ts';
import { paymentMethods, payments } from '../../db/schema/index.ts';
import type { CardBrand } from './compute/card.ts';
import type { ManualPaymentMethod, Payment, PaymentMethod, PaymentMethodStatus, PaymentMethodType } from './payments.ts';

/** Queries; every one takes the workspace id and filters by it. */
type PmRow = typeof paymentMethods.$inferSelect;
type PayRow = typeof payments.$inferSelect;

export function toPaymentMethod(r: PmRow): PaymentMethod {
  return {
    id: r.id,
    workspaceId: r.workspaceId,
    accountId: r.accountId,
    type: r.type as PaymentMethodType,
    status: r.status as PaymentMethodStatus,
    processor: r.processor,
    processorToken: r.processorToken,
    card:
      r.type === 'card'
        ? { brand: r.cardBrand as CardBrand, last4: r.cardLast4!, expMonth: r.cardExpMonth!, expYear: r.cardExpYear!, fingerprint: r.cardFingerprint! }
        : null,
    isDefault: r.isDefault,
    createdAt: r.createdAt,
    detachedAt: r.detachedAt,
  };
}

export function toPayment(r: PayRow): Payment {
  return {
    id: r.id,
    workspaceId: r.workspaceId,
    invoiceId: r.invoiceId,
    accountId: r.accountId,
    paymentMethodId: r.paymentMethodId,
    amount: { amount: r.amount, currency: r.currency },
    status: r.status as Payment['status'],
    kind: r.kind as Payment['kind'],
    method: r.method as 'card' | ManualPaymentMethod,
    failureCode: r.failureCode,
    failureMessage: r.failureMessage,
    processor: r.processor,
    processorChargeId: r.processorChargeId,
    idempotencyKey: r.idempotencyKey,
    attempt: r.attempt,
    reference: r.reference,
    createdAt: r.createdAt,
  };
}

export async function findPaymentMethod(db: Db, workspaceId: string, id: string): Promise<PaymentMethod | undefined> {
  const [row] = await db.select().from(paymentMethods).where(and(eq(paymentMethods.workspaceId, workspaceId), eq(paymentMethods.id, id))).limit(1);
  return row ? toPaymentMethod(row) : undefined;
}

export interface PaymentMethodFilter {
  accountId?: string;
  type?: PaymentMethodType;
  status?: PaymentMethodStatus;
  /** Rows to fetch (the API asks for limit + 1 to learn `has_more`). */
  limit?: number;
  startingAfter?: string;
}

export async function listPaymentMethods(db: Db, workspaceId: string, f: PaymentMethodFilter): Promise<PaymentMethod[]> {
  const conds: SQL[] = [eq(paymentMethods.workspaceId, workspaceId)];
  if (f.accountId) conds.push(eq(paymentMethods.accountId, f.accountId));
  if (f.type) conds.push(eq(paymentMethods.type, f.type));
  if (f.status) conds.push(eq(paymentMethods.status, f.status));
  if (f.startingAfter) conds.push(lt(paymentMethods.id, f.startingAfter));
  const q = db.select().from(paymentMethods).where(and(...conds)).orderBy(desc(paymentMethods.id));
  return (await (f.limit ? q.limit(f.limit) : q)).map(toPaymentMethod);
}

/** The account's default card: the one flagged default, else the most recently saved active card. */
export async function findDefaultCard(db: Db, workspaceId: string, accountId: string): Promise<PaymentMethod | undefined> {
  const [row] = await db
    .select()
    .from(paymentMethods)
    .where(
      and(
        eq(paymentMethods.workspaceId, workspaceId),
        eq(paymentMethods.accountId, accountId),
        eq(paymentMethods.type, 'card'),
        eq(paymentMethods.status, 'active'),
      ),
    )
    .orderBy(desc(paymentMethods.isDefault), desc(paymentMethods.id))
    .limit(1);
  return row ? toPaymentMethod(row) : undefined;
}

export async function insertPaymentMethod(tx: Db, values: typeof paymentMethods.$inferInsert): Promise<PaymentMethod> {
  const [row] = await tx.insert(paymentMethods).values(values).returning();
  return toPaymentMethod(row);
}

export async function updatePaymentMethod(tx: Db, workspaceId: string, id: string, set: Partial<typeof paymentMethods.$inferInsert>): Promise<PaymentMethod> {
  const [row] = await tx.update(paymentMethods).set(set).where(and(eq(paymentMethods.workspaceId, workspaceId), eq(paymentMethods.id, id))).returning();
  return toPaymentMethod(row);
}

/** Clears the account's default flag (before setting another: one default per account). */
export async function clearDefault(tx: Db, workspaceId: string, accountId: string): Promise<void> {
  await tx
    .update(paymentMethods)
    .set({ isDefault: false })
    .where(and(eq(paymentMethods.workspaceId, workspaceId), eq(paymentMethods.accountId, accountId), eq(paymentMethods.isDefault, true)));
}

export async function findPayment(db: Db, workspaceId: string, id: string): Promise<Payment | undefined> {
  const [row] = await db.select().from(payments).where(and(eq(payments.workspaceId, workspaceId), eq(payments.id, id))).limit(1);
  return row ? toPayment(row) : undefined;
}

export async function findPaymentByKey(db: Db, workspaceId: string, key: string): Promise<Payment | undefined> {
  const [row] = await db.select().from(payments).where(and(eq(payments.workspaceId, workspaceId), eq(payments.idempotencyKey, key))).limit(1);
  return row ? toPayment(row) : undefined;
}

/** Inserts unless the (workspace, idempotency key) exists; returns the new row or undefined. */
export async function insertPaymentOnce(tx: Db, values: typeof payments.$inferInsert): Promise<Payment | undefined> {
  const [row] = await tx.insert(payments).values(values).onConflictDoNothing().returning();
  return row ? toPayment(row) : undefined;
}

export interface PaymentFilter {
  invoiceId?: string;
  accountId?: string;
  limit?: number;
  startingAfter?: string;
}

export async function listPayments(db: Db, workspaceId: string, f: PaymentFilter = {}): Promise<Payment[]> {
  const conds: SQL[] = [eq(payments.workspaceId, workspaceId)];
  if (f.invoiceId) conds.push(eq(payments.invoiceId, f.invoiceId));
  if (f.accountId) conds.push(eq(payments.accountId, f.accountId));
  if (f.startingAfter) conds.push(lt(payments.id, f.startingAfter));
  const q = db.select().from(payments).where(and(...conds)).orderBy(desc(payments.id));
  return (await (f.limit ? q.limit(f.limit) : q)).map(toPayment);
}

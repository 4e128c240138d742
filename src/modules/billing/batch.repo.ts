import { and, asc, eq, getTableColumns, sql, type SQL } from 'drizzle-orm';
import type { Ctx, Db } from '../../context.ts';
import { invoices, subscriptions, subscriptionSchedules } from '../../db/schema/index.ts';
import { rows } from '../../db/sql.ts';
import { newId } from '../../kernel/ids.ts';
import { LIVE_STATUSES, type Invoice, type InvoiceLine, type Subscription } from './billing.ts';

/**
 * Billing's set-based statements: each reads or writes a whole batch (a bill run's 1,000
 * subscriptions, or the one of a renewal job) in ONE statement, whatever its size. Rows travel
 * as one JSON parameter (`jsonb_array_elements($1::jsonb)`, a row per element), so the statement
 * text and its parameter count stay constant, and jsonb columns travel as nested JSON, not as
 * escaped strings. Every statement is workspace-scoped.
 */
type PgType = 'text' | 'timestamptz' | 'jsonb' | 'bigint' | 'integer' | 'numeric';
type Columns<R> = Record<string, readonly [PgType, (r: R) => unknown]>;

const quote = (name: string) => `"${name}"`;

/**
 * The rows as a relation `d` with the columns' names: one JSON array of rows, each an array of
 * values in column order (no keys: the payload is what a batch sends, 1,000 rows at a time).
 * A JSON null is an SQL NULL in every column, jsonb ones included.
 */
function recordsetOf<R>(columns: Columns<R>, list: readonly R[]): SQL {
  const names = Object.keys(columns);
  const getters = names.map((n) => columns[n][1]);
  const payload = JSON.stringify(
    list.map((r) => {
      const values = new Array<unknown>(getters.length);
      for (let i = 0; i < getters.length; i++) {
        const v = getters[i](r);
        // Instants as ISO text up front: JSON.stringify's own Date handling is several times slower.
        values[i] = v instanceof Date ? v.toISOString() : (v ?? null);
      }
      return values;
    }),
  );
  const select = names.map((n, i) => {
    const type = columns[n][0];
    return type === 'jsonb' ? `NULLIF(e -> ${i}, 'null'::jsonb) AS ${quote(n)}` : `(e ->> ${i})::${type} AS ${quote(n)}`;
  });
  return sql`(SELECT ${sql.raw(select.join(', '))} FROM jsonb_array_elements(${payload}::jsonb) AS e) AS d`;
}

async function insertMany<R>(tx: Db, table: string, columns: Columns<R>, list: readonly R[], tail: SQL = sql``): Promise<Array<Record<string, unknown>>> {
  if (!list.length) return [];
  const names = sql.raw(Object.keys(columns).map(quote).join(', '));
  return rows(tx, sql`INSERT INTO ${sql.raw(table)} (${names}) SELECT ${names} FROM ${recordsetOf(columns, list)} ${tail}`);
}

/**
 * `UPDATE table t SET … FROM (rows) d`, each row matched on its workspace and `keys` — both
 * carried by the rows themselves. With no constant condition the planner could scan by, the
 * plan is an index lookup per row, never a scan of the workspace's rows, whatever the table's
 * statistics say (a freshly loaded table has none). `set` defaults to `col = d.col` for every
 * other column.
 */
async function updateMany<R>(
  tx: Db,
  table: string,
  workspaceId: string,
  keys: readonly string[],
  columns: Columns<R>,
  list: readonly R[],
  opts: { set?: SQL; returning?: SQL } = {},
): Promise<Array<Record<string, unknown>>> {
  if (!list.length) return [];
  const set =
    opts.set ??
    sql.raw(
      Object.keys(columns)
        .filter((c) => !keys.includes(c))
        .map((c) => `${quote(c)} = d.${quote(c)}`)
        .join(', '),
    );
  const match = sql.raw(['workspace_id', ...keys].map((k) => `t.${quote(k)} = d.${quote(k)}`).join(' AND '));
  return rows(
    tx,
    sql`UPDATE ${sql.raw(table)} t SET ${set} FROM ${recordsetOf({ workspace_id: ['text', () => workspaceId], ...columns }, list)} WHERE ${match} ${opts.returning ?? sql``}`,
  );
}

const idsParam = (ids: readonly string[]) => sql`${sql.param([...ids])}::text[]`;

const SUBSCRIPTION_COLUMNS = Object.entries(getTableColumns(subscriptions));

/**
 * Locks the subscriptions among `ids` that are still due at `asOf`. Each id is a primary-key
 * lookup (a LATERAL subquery per id: the plan cannot turn into a scan of the workspace's
 * subscriptions, whatever the table's statistics say), and each row is re-checked under its
 * lock: one renewed meanwhile by a job or another bill run is left out. With `skipLocked`, rows
 * another transaction holds are skipped rather than waited for.
 */
export async function lockDue(tx: Db, workspaceId: string, ids: readonly string[], asOf: Date, opts: { skipLocked?: boolean } = {}): Promise<Subscription[]> {
  if (!ids.length) return [];
  const columns = sql.join(
    SUBSCRIPTION_COLUMNS.map(([key, col]) => sql`s.${sql.identifier(col.name)} AS ${sql.identifier(key)}`),
    sql`, `,
  );
  const locked = await rows<Record<string, unknown>>(
    tx,
    sql`SELECT ${columns} FROM unnest(${idsParam(ids)}) AS k(id)
        CROSS JOIN LATERAL (SELECT * FROM subscriptions WHERE workspace_id = ${workspaceId} AND id = k.id
          FOR UPDATE${opts.skipLocked ? sql` SKIP LOCKED` : sql``}) s`,
  );
  return locked
    .map((r) => Object.fromEntries(SUBSCRIPTION_COLUMNS.map(([key, col]) => [key, r[key] === null ? null : col.mapFromDriverValue(r[key])])) as unknown as Subscription)
    .filter((sub) => LIVE_STATUSES.includes(sub.status) && sub.currentPeriodEnd <= asOf)
    .sort((a, b) => a.currentPeriodEnd.getTime() - b.currentPeriodEnd.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Negotiated unit amounts of many subscriptions, by subscription id then price id. */
export async function overridesOf(db: Db, workspaceId: string, ids: readonly string[]): Promise<Map<string, Record<string, number>>> {
  const out = new Map<string, Record<string, number>>();
  const list = await rows<{ subscription_id: string; price_id: string; unit_amount: string | number }>(
    db,
    sql`SELECT subscription_id, price_id, unit_amount FROM subscription_price_overrides WHERE workspace_id = ${workspaceId} AND subscription_id = ANY(${idsParam(ids)})`,
  );
  for (const r of list) out.set(r.subscription_id, { ...out.get(r.subscription_id), [r.price_id]: Number(r.unit_amount) });
  return out;
}

export interface ScheduleRow {
  id: string;
  subscriptionId: string;
  effectiveAt: Date;
  change: Record<string, unknown>;
}

/** Pending scheduled changes of many subscriptions, each list in application order. */
export async function pendingSchedulesOf(db: Db, workspaceId: string, ids: readonly string[]): Promise<Map<string, ScheduleRow[]>> {
  const out = new Map<string, ScheduleRow[]>();
  const list = await db
    .select({ id: subscriptionSchedules.id, subscriptionId: subscriptionSchedules.subscriptionId, effectiveAt: subscriptionSchedules.effectiveAt, change: subscriptionSchedules.change })
    .from(subscriptionSchedules)
    .where(and(eq(subscriptionSchedules.workspaceId, workspaceId), eq(subscriptionSchedules.status, 'pending'), sql`${subscriptionSchedules.subscriptionId} = ANY(${idsParam(ids)})`))
    .orderBy(asc(subscriptionSchedules.subscriptionId), asc(subscriptionSchedules.effectiveAt), asc(subscriptionSchedules.id));
  for (const r of list) out.set(r.subscriptionId, [...(out.get(r.subscriptionId) ?? []), r]);
  return out;
}

export async function markSchedulesApplied(tx: Db, workspaceId: string, applied: ReadonlyArray<{ id: string; at: Date }>): Promise<void> {
  await updateMany(tx, 'subscription_schedules', workspaceId, ['id'], { id: ['text', (a) => a.id], applied_at: ['timestamptz', (a) => a.at] }, applied, {
    set: sql`status = 'applied', applied_at = d.applied_at`,
  });
}

/** Writes each subscription's renewed state (the whole row as computed: what changes at renewal). */
export async function updateRenewed(tx: Db, workspaceId: string, list: readonly Subscription[]): Promise<void> {
  const cols: Columns<Subscription> = {
    id: ['text', (s) => s.id],
    status: ['text', (s) => s.status],
    plan_id: ['text', (s) => s.planId],
    plan_version_id: ['text', (s) => s.planVersionId],
    interval: ['text', (s) => s.interval],
    quantity: ['integer', (s) => s.quantity],
    collection_method: ['text', (s) => s.collectionMethod],
    days_until_due: ['integer', (s) => s.daysUntilDue],
    payment_method_id: ['text', (s) => s.paymentMethodId],
    current_period_start: ['timestamptz', (s) => s.currentPeriodStart],
    current_period_end: ['timestamptz', (s) => s.currentPeriodEnd],
    usage_since: ['timestamptz', (s) => s.usageSince],
    canceled_at: ['timestamptz', (s) => s.canceledAt],
    ended_at: ['timestamptz', (s) => s.endedAt],
    updated_at: ['timestamptz', (s) => s.updatedAt],
  };
  await updateMany(tx, 'subscriptions', workspaceId, ['id'], cols, list);
}

/** Replaces the overrides of each listed subscription (an empty record clears them). */
export async function replaceOverridesOf(tx: Db, workspaceId: string, list: ReadonlyArray<{ subscriptionId: string; overrides: Record<string, number> }>): Promise<void> {
  if (!list.length) return;
  await tx.execute(sql`DELETE FROM subscription_price_overrides WHERE workspace_id = ${workspaceId} AND subscription_id = ANY(${idsParam(list.map((l) => l.subscriptionId))})`);
  const entries = list.flatMap((l) => Object.entries(l.overrides).map(([priceId, unitAmount]) => ({ subscriptionId: l.subscriptionId, priceId, unitAmount })));
  await insertMany(tx, 'subscription_price_overrides', { subscription_id: ['text', (e) => e.subscriptionId], workspace_id: ['text', () => workspaceId], price_id: ['text', (e) => e.priceId], unit_amount: ['bigint', (e) => e.unitAmount] }, entries);
}

export interface HistoryRow {
  subscriptionId: string;
  type: string;
  at: Date;
  before: unknown;
  after: unknown;
}

export async function insertHistory(tx: Db, workspaceId: string, list: readonly HistoryRow[]): Promise<void> {
  await insertMany(
    tx,
    'subscription_events',
    {
      id: ['text', () => newId('sev')],
      workspace_id: ['text', () => workspaceId],
      subscription_id: ['text', (h) => h.subscriptionId],
      type: ['text', (h) => h.type],
      effective_at: ['timestamptz', (h) => h.at],
      before: ['jsonb', (h) => h.before],
      after: ['jsonb', (h) => h.after],
      created_at: ['timestamptz', (h) => h.at],
    },
    list,
  );
}

/**
 * Inserts invoice lines, skipping any whose (subscription, charge, period start) was billed
 * before (the unique index decides, under concurrency too). Returns the ids actually inserted.
 */
export async function insertLinesOnce(tx: Db, workspaceId: string, lines: readonly InvoiceLine[]): Promise<Set<string>> {
  const inserted = await insertMany(
    tx,
    'invoice_lines',
    {
      id: ['text', (l) => l.id],
      workspace_id: ['text', () => workspaceId],
      invoice_id: ['text', (l) => l.invoiceId],
      subscription_id: ['text', (l) => l.subscriptionId],
      kind: ['text', (l) => l.kind],
      charge_key: ['text', (l) => l.chargeKey],
      price_id: ['text', (l) => l.priceId],
      description: ['text', (l) => l.description],
      period_start: ['timestamptz', (l) => l.periodStart],
      period_end: ['timestamptz', (l) => l.periodEnd],
      quantity: ['numeric', (l) => l.quantity],
      unit_amount_decimal: ['numeric', (l) => l.unitAmountDecimal],
      amount: ['bigint', (l) => l.amount],
      currency: ['text', (l) => l.currency],
      position: ['integer', (l) => l.position],
    },
    lines,
    sql`ON CONFLICT DO NOTHING RETURNING id`,
  );
  return new Set(inserted.map((r) => String(r.id)));
}

const INVOICE_COLUMNS: Columns<Invoice> = {
  id: ['text', (i) => i.id],
  workspace_id: ['text', (i) => i.workspaceId],
  account_id: ['text', (i) => i.accountId],
  subscription_id: ['text', (i) => i.subscriptionId],
  number: ['text', (i) => i.number],
  status: ['text', (i) => i.status],
  billing_reason: ['text', (i) => i.billingReason],
  currency: ['text', (i) => i.currency],
  collection_method: ['text', (i) => i.collectionMethod],
  days_until_due: ['integer', (i) => i.daysUntilDue],
  period_start: ['timestamptz', (i) => i.periodStart],
  period_end: ['timestamptz', (i) => i.periodEnd],
  subtotal: ['bigint', (i) => i.subtotal],
  balance_applied: ['bigint', (i) => i.balanceApplied],
  total: ['bigint', (i) => i.total],
  amount_due: ['bigint', (i) => i.amountDue],
  amount_paid: ['bigint', (i) => i.amountPaid],
  amount_credited: ['bigint', (i) => i.amountCredited],
  due_at: ['timestamptz', (i) => i.dueAt],
  attempt_count: ['integer', (i) => i.attemptCount],
  next_payment_attempt: ['timestamptz', (i) => i.nextPaymentAttempt],
  overdue_at: ['timestamptz', (i) => i.overdueAt],
  finalized_at: ['timestamptz', (i) => i.finalizedAt],
  paid_at: ['timestamptz', (i) => i.paidAt],
  voided_at: ['timestamptz', (i) => i.voidedAt],
  marked_uncollectible_at: ['timestamptz', (i) => i.markedUncollectibleAt],
  memo: ['text', (i) => i.memo],
  created_at: ['timestamptz', (i) => i.createdAt],
};

export async function insertInvoices(tx: Db, list: readonly Invoice[]): Promise<void> {
  await insertMany(tx, 'invoices', INVOICE_COLUMNS, list);
}

export async function lockInvoices(tx: Db, workspaceId: string, ids: readonly string[]): Promise<Map<string, Invoice>> {
  const list = (await tx
    .select()
    .from(invoices)
    .where(and(eq(invoices.workspaceId, workspaceId), sql`${invoices.id} = ANY(${idsParam(ids)})`))
    .orderBy(asc(invoices.id))
    .for('update')) as Invoice[];
  return new Map(list.map((i) => [i.id, i]));
}

/** What finalization sets: number, status, amounts after credit, instants. */
export async function updateFinalized(tx: Db, workspaceId: string, list: readonly Invoice[]): Promise<void> {
  const cols: Columns<Invoice> = {
    id: INVOICE_COLUMNS.id,
    number: INVOICE_COLUMNS.number,
    status: INVOICE_COLUMNS.status,
    balance_applied: INVOICE_COLUMNS.balance_applied,
    total: INVOICE_COLUMNS.total,
    amount_due: INVOICE_COLUMNS.amount_due,
    finalized_at: INVOICE_COLUMNS.finalized_at,
    paid_at: INVOICE_COLUMNS.paid_at,
    due_at: INVOICE_COLUMNS.due_at,
  };
  await updateMany(tx, 'invoices', workspaceId, ['id'], cols, list);
}

export const balanceKey = (accountId: string, currency: string) => `${accountId} ${currency}`;

/** The positive credit balances of these accounts, locked until commit (consumed in order by this transaction). */
export async function lockCredit(tx: Db, workspaceId: string, accountIds: readonly string[]): Promise<Map<string, number>> {
  const list = await rows<{ account_id: string; currency: string; credit: string | number }>(
    tx,
    sql`SELECT account_id, currency, credit FROM account_balances
        WHERE workspace_id = ${workspaceId} AND account_id = ANY(${idsParam([...new Set(accountIds)])}) AND credit > 0
        ORDER BY account_id, currency FOR UPDATE`,
  );
  return new Map(list.map((r) => [balanceKey(r.account_id, r.currency), Number(r.credit)]));
}

/** Consumes credit; the CHECK (credit ≥ 0) refuses an overdraw, and a missing row is an error. */
export async function consumeCredit(tx: Db, workspaceId: string, list: ReadonlyArray<{ accountId: string; currency: string; amount: number }>): Promise<void> {
  if (!list.length) return;
  const cols: Columns<{ accountId: string; currency: string; amount: number }> = {
    account_id: ['text', (c) => c.accountId],
    currency: ['text', (c) => c.currency],
    amount: ['bigint', (c) => c.amount],
  };
  const updated = await updateMany(tx, 'account_balances', workspaceId, ['account_id', 'currency'], cols, list, {
    set: sql`credit = t.credit - d.amount`,
    returning: sql`RETURNING t.account_id`,
  });
  if (updated.length !== list.length) throw new Error(`credit balance to consume missing for ${list.length - updated.length} account(s)`);
}

export interface AuditRow {
  action: string;
  entityType: string;
  entityId: string;
  before?: unknown;
  after?: unknown;
  at: Date;
}

/** Audit entries with the columns `recordAudit` writes (actor and request from `ctx`), many at once. */
export async function insertAudit(tx: Db, ctx: Ctx, list: readonly AuditRow[]): Promise<void> {
  await insertMany(
    tx,
    'audit_log',
    {
      id: ['text', () => newId('aud')],
      workspace_id: ['text', () => ctx.workspaceId],
      actor_type: ['text', () => ctx.actor.type],
      actor_id: ['text', () => ctx.actor.id ?? null],
      action: ['text', (a) => a.action],
      entity_type: ['text', (a) => a.entityType],
      entity_id: ['text', (a) => a.entityId],
      before: ['jsonb', (a) => a.before ?? null],
      after: ['jsonb', (a) => a.after ?? null],
      request_id: ['text', () => ctx.requestId ?? null],
      created_at: ['timestamptz', (a) => a.at],
    },
    list,
  );
}

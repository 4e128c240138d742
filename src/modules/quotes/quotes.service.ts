import type { Ctx, Db } from '../../context.ts';
import { enqueue } from '../../jobs/queue.ts';
import { publish } from '../../jobs/outbox.ts';
import { addDays } from '../../kernel/dates.ts';
import { AppError, notFound } from '../../kernel/errors.ts';
import { newId } from '../../kernel/ids.ts';
import { resolveAccountId } from '../accounts/index.ts';
import { findPlanByKey, getCurrentPlanVersion, getPlan, getPlanVersion, type Plan, type PlanVersion } from '../catalog/index.ts';
import { recordAudit } from '../workspaces/index.ts';
import { intervalPrices, pricingOf } from './preview.service.ts';
import * as repo from './quotes.repo.ts';
import { EDITABLE_QUOTE_STATUSES, type LineTerms, type PaymentTerms, type Quote, type QuoteInput, type QuoteLine, type QuoteUpdate } from './quotes.ts';
import { inTransaction } from './transaction-ctx.ts';
import { quoteSnapshot } from './views.ts';

/** Quotes: create, read, update, delete, and customer quote requests (from the portal). */

export async function resolvePlanRef(db: Db, workspaceId: string, ref: string): Promise<Plan> {
  const plan = ref.startsWith('plan_') ? await getPlan(db, workspaceId, ref).catch(() => undefined) : await findPlanByKey(db, workspaceId, ref);
  if (!plan) throw notFound('plan', ref, 'plan');
  return plan;
}

async function resolveVersion(db: Db, workspaceId: string, plan: Plan, versionId: string | undefined): Promise<PlanVersion> {
  if (!versionId) return getCurrentPlanVersion(db, workspaceId, plan.id);
  const v = await getPlanVersion(db, workspaceId, versionId).catch(() => undefined);
  if (!v || v.planId !== plan.id) throw new AppError({ code: 'parameter_invalid', message: `${versionId} is not a version of plan '${plan.key}'.`, param: 'plan_version' });
  return v;
}

function collectionOf(t: PaymentTerms): { collectionMethod: string; daysUntilDue: number | null } {
  if (t.method === 'card') return { collectionMethod: 'charge_automatically', daysUntilDue: null };
  if (!Number.isInteger(t.netDays) || t.netDays < 1 || t.netDays > 365) {
    throw new AppError({ code: 'parameter_invalid', message: `Net terms are 1 to 365 days (Net 30, 45, 60); got ${t.netDays}.`, param: 'payment_terms.net_days' });
  }
  return { collectionMethod: 'send_invoice', daysUntilDue: t.netDays };
}

function lineRows(ctx: Ctx, quoteId: string, version: PlanVersion, interval: string, terms: readonly LineTerms[]): QuoteLine[] {
  return intervalPrices(version, interval).map((p, i) => {
    const t = terms.find((x) => x.priceId === p.id);
    return {
      id: newId('ql'),
      workspaceId: ctx.workspaceId,
      quoteId,
      priceId: p.id,
      position: i,
      unitAmount: t?.unitAmount ?? null,
      discountPercent: t?.discountPercent ?? null,
      discountAmount: t?.discountAmount ?? null,
    };
  });
}

/** The plan, version and terms of a quote, checked (throws the 400 naming the field). */
async function settle(ctx: Ctx, base: { plan: Plan; version: PlanVersion }, q: Quote, terms: LineTerms[]) {
  if (base.plan.status !== 'active') throw new AppError({ code: 'state_conflict', message: `Plan '${base.plan.key}' is archived.`, param: 'plan' });
  const prices = intervalPrices(base.version, q.interval);
  if (!prices.some((p) => p.type !== 'usage')) {
    throw new AppError({ code: 'parameter_invalid', message: `Plan '${base.plan.key}' has no recurring ${q.interval}ly price to quote.`, param: 'interval' });
  }
  if (!Number.isInteger(q.quantity) || q.quantity < 1) throw new AppError({ code: 'parameter_invalid', message: 'quantity is a whole number of seats, at least 1.', param: 'quantity' });
  if (q.startDate && q.startDate < ctx.asOf) throw new AppError({ code: 'parameter_invalid', message: `start_date ${q.startDate.toISOString()} is in the past.`, param: 'start_date' });
  if (q.expiresAt <= ctx.asOf) throw new AppError({ code: 'parameter_invalid', message: `expires_at ${q.expiresAt.toISOString()} is not in the future.`, param: 'expires_at' });
  const terms2 = terms.map((t, i) => {
    if (!prices.some((p) => p.id === t.priceId)) throw new AppError({ code: 'parameter_invalid', message: `Price ${t.priceId} is not a ${q.interval}ly price of plan '${base.plan.key}'.`, param: `lines.${i}.price` });
    return t;
  });
  await pricingOf(ctx, q, terms2); // validates discounts, free months, term
  return terms2;
}

async function scheduleExpiry(tx: Db, ctx: Ctx, q: Quote) {
  await enqueue(tx, { workspaceId: ctx.workspaceId, kind: 'quotes.expire', runAt: q.expiresAt, payload: { quote_id: q.id }, dedupeKey: `quote-expire:${q.id}:${q.expiresAt.toISOString()}`, asOf: ctx.asOf });
}

export async function createQuote(ctx: Ctx, input: QuoteInput, opts: { requestedByCustomer?: boolean; sourceSubscriptionId?: string | null } = {}): Promise<Quote> {
  const db = ctx.deps.database.db;
  return db.transaction(async (tx) => {
    const b = inTransaction(ctx, tx);
    const settings = await repo.ensureSettings(tx, ctx.workspaceId, ctx.asOf);
    const accountId = await resolveAccountId(tx, ctx.workspaceId, input.account);
    if (!accountId) throw notFound('account', input.account, 'account');
    const plan = await resolvePlanRef(tx, ctx.workspaceId, input.plan);
    const version = await resolveVersion(tx, ctx.workspaceId, plan, input.planVersionId);
    const id = newId('quo');
    const discount = input.discount ?? null;
    const q: Quote = {
      id,
      workspaceId: ctx.workspaceId,
      number: '',
      status: 'draft',
      accountId,
      planId: plan.id,
      planVersionId: version.id,
      currency: plan.currency,
      interval: input.interval,
      quantity: input.quantity,
      termMonths: input.termMonths,
      startDate: input.startDate ?? null,
      ...collectionOf(input.paymentTerms),
      expiresAt: input.expiresAt ?? addDays(ctx.asOf, settings.defaultExpiryDays),
      discountType: discount?.type ?? null,
      discountPercent: discount?.type === 'percent' ? discount.percent : null,
      discountAmount: discount?.type === 'amount' ? discount.amount : null,
      freeMonths: input.freeMonths ?? 0,
      requestedByCustomer: opts.requestedByCustomer ?? false,
      sourceSubscriptionId: opts.sourceSubscriptionId ?? null,
      memo: input.memo ?? null,
      approvalReasons: [],
      approval: null,
      acceptance: null,
      declineReason: null,
      acceptedPreview: null,
      conversionType: null,
      subscriptionId: null,
      contractStart: null,
      createdBy: { type: ctx.actor.type, id: ctx.actor.id ?? null },
      submittedAt: null,
      approvedAt: null,
      sentAt: null,
      acceptedAt: null,
      declinedAt: null,
      expiredAt: null,
      convertedAt: null,
      createdAt: ctx.asOf,
      updatedAt: ctx.asOf,
    };
    const terms = await settle(b, { plan, version }, q, input.lines ?? []);
    q.number = await repo.nextQuoteNumber(tx, ctx.workspaceId);
    await repo.insertQuote(tx, q);
    await repo.replaceLines(tx, ctx.workspaceId, id, lineRows(ctx, id, version, q.interval, terms));
    await scheduleExpiry(tx, ctx, q);
    await recordAudit(tx, ctx, { action: 'quote.created', entityType: 'quote', entityId: id, after: quoteSnapshot(q) });
    await publish(tx, ctx, 'quote.created', { quote: quoteSnapshot(q) });
    if (q.requestedByCustomer) {
      await publish(tx, ctx, 'quote.requested', { quote: quoteSnapshot(q), account: q.accountId, plan: plan.id, plan_key: plan.key, subscription: q.sourceSubscriptionId });
    }
    return q;
  });
}

export async function updateQuote(ctx: Ctx, id: string, input: QuoteUpdate): Promise<Quote> {
  return ctx.deps.database.db.transaction(async (tx) => {
    const b = inTransaction(ctx, tx);
    const before = await repo.findQuote(tx, ctx.workspaceId, id, { forUpdate: true });
    if (!before) throw notFound('quote', id);
    if (!EDITABLE_QUOTE_STATUSES.includes(before.status as never)) {
      throw new AppError({ code: 'state_conflict', message: `Quote ${id} is ${before.status}; only draft, pending or approved quotes can be edited.` });
    }
    const plan = input.plan !== undefined ? await resolvePlanRef(tx, ctx.workspaceId, input.plan) : await getPlan(tx, ctx.workspaceId, before.planId);
    const version =
      input.plan !== undefined || input.planVersionId !== undefined ? await resolveVersion(tx, ctx.workspaceId, plan, input.planVersionId) : await getPlanVersion(tx, ctx.workspaceId, before.planVersionId);
    const discount = input.discount === undefined ? undefined : input.discount;
    const next: Quote = {
      ...before,
      planId: plan.id,
      planVersionId: version.id,
      currency: plan.currency,
      interval: input.interval ?? before.interval,
      quantity: input.quantity ?? before.quantity,
      termMonths: input.termMonths ?? before.termMonths,
      startDate: input.startDate === undefined ? before.startDate : input.startDate,
      ...(input.paymentTerms ? collectionOf(input.paymentTerms) : {}),
      expiresAt: input.expiresAt ?? before.expiresAt,
      ...(discount === undefined
        ? {}
        : { discountType: discount?.type ?? null, discountPercent: discount?.type === 'percent' ? discount.percent : null, discountAmount: discount?.type === 'amount' ? discount.amount : null }),
      freeMonths: input.freeMonths ?? before.freeMonths,
      memo: input.memo === undefined ? before.memo : input.memo,
      // Any edit sends the quote back to draft: approval is for the terms as approved.
      status: 'draft',
      approvalReasons: [],
      approval: null,
      submittedAt: null,
      approvedAt: null,
      updatedAt: ctx.asOf,
    };
    const keptLines = version.id === before.planVersionId && next.interval === before.interval;
    const oldLines = keptLines ? await repo.linesOf(tx, ctx.workspaceId, id) : [];
    const terms = await settle(
      b,
      { plan, version },
      next,
      input.lines ?? oldLines.map((l) => ({ priceId: l.priceId, unitAmount: l.unitAmount, discountPercent: l.discountPercent, discountAmount: l.discountAmount })),
    );
    const after = await repo.updateQuote(tx, ctx.workspaceId, id, next);
    await repo.replaceLines(tx, ctx.workspaceId, id, lineRows(ctx, id, version, next.interval, terms));
    if (after.expiresAt.getTime() !== before.expiresAt.getTime()) await scheduleExpiry(tx, ctx, after);
    await recordAudit(tx, ctx, { action: 'quote.updated', entityType: 'quote', entityId: id, before: quoteSnapshot(before), after: quoteSnapshot(after) });
    await publish(tx, ctx, 'quote.updated', { quote: quoteSnapshot(after), previous_status: before.status });
    return after;
  });
}

/** Only a draft can be deleted; anything further along is history (decline or let it expire). */
export async function deleteQuote(ctx: Ctx, id: string): Promise<Quote> {
  return ctx.deps.database.db.transaction(async (tx) => {
    const q = await repo.findQuote(tx, ctx.workspaceId, id, { forUpdate: true });
    if (!q) throw notFound('quote', id);
    if (q.status !== 'draft') throw new AppError({ code: 'state_conflict', message: `Quote ${id} is ${q.status}; only drafts can be deleted.` });
    await repo.deleteQuote(tx, ctx.workspaceId, id);
    await recordAudit(tx, ctx, { action: 'quote.deleted', entityType: 'quote', entityId: id, before: quoteSnapshot(q) });
    await publish(tx, ctx, 'quote.deleted', { quote: quoteSnapshot(q) });
    return q;
  });
}

export async function getQuote(ctx: Ctx, id: string): Promise<{ quote: Quote; lines: QuoteLine[] }> {
  const db = ctx.deps.database.db;
  const quote = await repo.findQuote(db, ctx.workspaceId, id);
  if (!quote) throw notFound('quote', id);
  return { quote, lines: await repo.linesOf(db, ctx.workspaceId, id) };
}

export const listQuotes = (ctx: Ctx, q: { limit: number; startingAfter?: string; accountId?: string; status?: string }) => repo.listQuotes(ctx.deps.database.db, ctx.workspaceId, q);

/**
 * A customer asked (in the portal) for a plan that is sold by quote: a draft quote flagged
 * `requested_by_customer`, at list prices for the subscription's seats and interval, annual
 * term on Net 30 — sales edits and sends it. Asking again while one is open changes nothing.
 */
export async function requestQuote(ctx: Ctx, input: { accountId: string; plan: string; interval: 'month' | 'year'; quantity: number; sourceSubscriptionId: string | null }): Promise<{ quote: Quote; created: boolean }> {
  const plan = await resolvePlanRef(ctx.deps.database.db, ctx.workspaceId, input.plan);
  const open = await repo.findOpenRequest(ctx.deps.database.db, ctx.workspaceId, input.accountId, plan.id);
  if (open) return { quote: open, created: false };
  const version = await getCurrentPlanVersion(ctx.deps.database.db, ctx.workspaceId, plan.id);
  const interval = intervalPrices(version, input.interval).length ? input.interval : input.interval === 'month' ? 'year' : 'month';
  const quote = await createQuote(
    ctx,
    { account: input.accountId, plan: plan.id, interval, quantity: input.quantity, termMonths: 12, paymentTerms: { method: 'invoice', netDays: 30 }, memo: 'Requested by the customer in the billing portal.' },
    { requestedByCustomer: true, sourceSubscriptionId: input.sourceSubscriptionId },
  );
  return { quote, created: true };
}

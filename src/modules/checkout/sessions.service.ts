import type { Ctx, Deps } from '../../context.ts';
import { publish } from '../../jobs/outbox.ts';
import { AppError, isAppError, notFound } from '../../kernel/errors.ts';
import { newId } from '../../kernel/ids.ts';
import { advanceLines, collect, createSubscription, listInvoices, periodFrom, pricedPlan, totals, type ComputedLine, type Interval } from '../billing/index.ts';
import { getCurrentPlanVersion, getPlan, INTERVALS, type Plan, type PlanVersion } from '../catalog/index.ts';
import { createPaymentMethod, listPayments, type CardInput } from '../payments/index.ts';
import { inTransaction, macMatches, resolvePlanRef, signId } from '../quotes/index.ts';
import { getWorkspace, recordAudit, workspaceNow } from '../workspaces/index.ts';
import { resolveAccountId } from '../accounts/index.ts';
import { normalizeEmail, resolveBuyer } from './buyer.service.ts';
import * as repo from './checkout.repo.ts';
import { CHECKOUT_TOKEN_PURPOSE, CHECKOUT_TTL_MINUTES, sessionStatus, type CheckoutSession } from './checkout.ts';
import { raiseHandIn, type HandRaiseInput } from './hand-raise.service.ts';
import { checkoutSessionView } from './views.ts';

export interface CreateSessionInput {
  plan: string;
  intervals?: Interval[];
  interval?: Interval;
  quantity?: number;
  successUrl: string;
  cancelUrl: string;
  account?: string | null;
  customerEmail?: string | null;
  expiresInMinutes?: number;
  metadata?: Record<string, string>;
}

function checkUrl(u: string, param: string): string {
  let parsed: URL;
  try {
    parsed = new URL(u);
  } catch {
    throw new AppError({ code: 'parameter_invalid', message: `${param} must be an absolute http(s) URL.`, param });
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new AppError({ code: 'parameter_invalid', message: `${param} must be an http(s) URL.`, param });
  return u;
}

/** The intervals a plan version has recurring prices for. */
export function planIntervals(version: PlanVersion): Interval[] {
  return INTERVALS.filter((i) => version.prices.some((p) => p.interval === i));
}

/**
 * A hosted checkout for one plan. Public plans are bought by card; contact-sales and
 * quote-only plans get the same link, whose page shows a "Contact sales" form instead.
 */
export async function createCheckoutSession(ctx: Ctx, input: CreateSessionInput): Promise<{ session: CheckoutSession; token: string }> {
  const db = ctx.deps.database.db;
  const plan = await resolvePlanRef(db, ctx.workspaceId, input.plan);
  if (plan.status !== 'active') throw new AppError({ code: 'state_conflict', message: `Plan '${plan.key}' is archived.`, param: 'plan' });
  const version = await getCurrentPlanVersion(db, ctx.workspaceId, plan.id);
  const mode = plan.visibility === 'public' ? 'subscription' : 'contact_sales';
  const available = planIntervals(version);
  const intervals = input.intervals?.length ? [...new Set(input.intervals)] : available;
  for (const i of intervals) if (!available.includes(i)) throw new AppError({ code: 'parameter_invalid', message: `Plan '${plan.key}' has no ${i}ly price.`, param: 'intervals' });
  if (mode === 'subscription' && intervals.length === 0) throw new AppError({ code: 'parameter_invalid', message: `Plan '${plan.key}' has no prices to buy.`, param: 'plan' });
  const defaultInterval = input.interval ?? (intervals.includes('month') ? 'month' : (intervals[0] ?? 'month'));
  if (intervals.length && !intervals.includes(defaultInterval)) throw new AppError({ code: 'parameter_invalid', message: `interval must be one of ${intervals.join(', ')}.`, param: 'interval' });
  const quantity = input.quantity ?? 1;
  if (!Number.isInteger(quantity) || quantity < 1) throw new AppError({ code: 'parameter_invalid', message: 'quantity is a whole number of seats, at least 1.', param: 'quantity' });
  const ttl = input.expiresInMinutes ?? CHECKOUT_TTL_MINUTES;
  if (!Number.isInteger(ttl) || ttl < 5 || ttl > 7 * 24 * 60) throw new AppError({ code: 'parameter_invalid', message: 'expires_in_minutes is 5 to 10,080 (7 days).', param: 'expires_in_minutes' });
  return db.transaction(async (tx) => {
    let prefillAccountId: string | null = null;
    if (input.account) {
      prefillAccountId = await resolveAccountId(tx, ctx.workspaceId, input.account);
      if (!prefillAccountId) throw notFound('account', input.account, 'account');
    }
    const s: CheckoutSession = {
      id: newId('cs'),
      workspaceId: ctx.workspaceId,
      mode,
      planId: plan.id,
      intervals,
      defaultInterval,
      quantity,
      successUrl: checkUrl(input.successUrl, 'success_url'),
      cancelUrl: checkUrl(input.cancelUrl, 'cancel_url'),
      prefillAccountId,
      customerEmail: input.customerEmail ? normalizeEmail(input.customerEmail, 'customer_email').email : null,
      status: 'open',
      expiresAt: new Date(ctx.asOf.getTime() + ttl * 60_000),
      accountId: null,
      contactId: null,
      subscriptionId: null,
      invoiceId: null,
      paymentMethodId: null,
      handRaiseId: null,
      completedAt: null,
      failedAttempts: 0,
      lastErrorCode: null,
      lastErrorMessage: null,
      metadata: input.metadata ?? {},
      createdAt: ctx.asOf,
    };
    await repo.insertSession(tx, s);
    const secret = await repo.ensureSecret(tx, ctx.workspaceId, ctx.asOf);
    await recordAudit(tx, ctx, { action: 'checkout_session.created', entityType: 'checkout_session', entityId: s.id, after: checkoutSessionView(s, ctx.asOf, null) });
    return { session: s, token: signId(secret, CHECKOUT_TOKEN_PURPOSE, s.id) };
  });
}

export async function getCheckoutSession(ctx: Ctx, id: string): Promise<{ session: CheckoutSession; token: string }> {
  const session = await repo.findSession(ctx.deps.database.db, ctx.workspaceId, id);
  if (!session) throw notFound('checkout session', id);
  const secret = (await repo.findSecret(ctx.deps.database.db, ctx.workspaceId))!;
  return { session, token: signId(secret, CHECKOUT_TOKEN_PURPOSE, id) };
}

export const listCheckoutSessions = (ctx: Ctx, q: { limit: number; startingAfter?: string }) => repo.listSessions(ctx.deps.database.db, ctx.workspaceId, q);

/** The session a hosted-page request names, if its token is right; with a context on the workspace's clock. */
export async function openCheckout(deps: Deps, id: string, token: string): Promise<{ session: CheckoutSession; ctx: Ctx } | null> {
  if (!/^cs_[0-9A-Za-z]+$/.test(id) || !token) return null;
  const session = await repo.findSessionAnyWorkspace(deps.database.db, id);
  if (!session) return null;
  const secret = await repo.findSecret(deps.database.db, session.workspaceId);
  if (!secret || !macMatches(secret, CHECKOUT_TOKEN_PURPOSE, id, token)) return null;
  const ws = await getWorkspace(deps, session.workspaceId);
  return { session, ctx: { deps, workspaceId: ws.id, asOf: workspaceNow(ws, deps.clock.now()), actor: { type: 'system', id: 'checkout_page' } } };
}

export interface Offer {
  interval: Interval;
  lines: ComputedLine[];
  /** What the first invoice charges today (fees in advance; usage is billed later in arrears). */
  dueToday: number;
  hasUsage: boolean;
}

/** What the buyer would pay per interval: billing's own first-period computation. */
export async function checkoutOffer(ctx: Ctx, s: CheckoutSession): Promise<{ plan: Plan; offers: Offer[] }> {
  const db = ctx.deps.database.db;
  const plan = await getPlan(db, ctx.workspaceId, s.planId);
  const version = await getCurrentPlanVersion(db, ctx.workspaceId, plan.id);
  const offers: Offer[] = [];
  for (const interval of s.intervals as Interval[]) {
    const priced = await pricedPlan(db, ctx.workspaceId, { planVersionId: version.id, interval, quantity: s.quantity, overrides: {} });
    const lines = advanceLines(priced.items, periodFrom(ctx.asOf, interval, ctx.asOf.getUTCDate()), priced.planName);
    offers.push({ interval, lines, dueToday: plan.trialDays > 0 ? 0 : totals(lines).amountDue, hasUsage: priced.items.some((i) => i.price.type === 'usage') });
  }
  return { plan, offers };
}

function assertOpen(s: CheckoutSession, ctx: Ctx) {
  const status = sessionStatus(s, ctx.asOf);
  if (status === 'complete') throw new AppError({ code: 'state_conflict', message: 'This checkout is already complete.' });
  if (status === 'expired') throw new AppError({ code: 'checkout_session_expired' });
}

export interface CompleteInput {
  email: string;
  name?: string | null;
  company?: string | null;
  interval: Interval;
  card: CardInput;
}

const MAX_FAILED_ATTEMPTS = 10;
const BUYER_ERRORS = new Set(['card_declined', 'card_processing_error', 'card_expired', 'card_number_invalid']);

/**
 * Completes a card checkout as ONE unit. Inside one transaction (other modules' commands run in
 * savepoints of it): the account and contact are found or created, the card saved (a card the
 * issuer refuses is declined here), the subscription created with its first invoice, and that
 * invoice charged at once through billing's own collection (`collect`, attempt 1). A declined
 * charge throws, and the rollback takes everything with it: no account, contact, card,
 * subscription, invoice or payment remains — only the attempt count and the decline message on
 * the session, for the buyer and for support. Once committed, billing's queued collection job
 * finds the invoice paid and does nothing.
 */
export async function completeCheckout(ctx: Ctx, id: string, input: CompleteInput): Promise<CheckoutSession> {
  const db = ctx.deps.database.db;
  const s = await repo.findSession(db, ctx.workspaceId, id);
  if (!s) throw notFound('checkout session', id);
  assertOpen(s, ctx);
  if (s.mode !== 'subscription') throw new AppError({ code: 'contact_sales_required' });
  // A link is not a card-testing oracle: after this many declines it takes no more cards.
  if (s.failedAttempts >= MAX_FAILED_ATTEMPTS) throw new AppError({ code: 'rate_limited', message: 'Too many declined attempts on this checkout; start a new one.' });
  if (!s.intervals.includes(input.interval)) throw new AppError({ code: 'parameter_invalid', message: `Pick ${s.intervals.join(' or ')} billing.`, param: 'interval' });
  try {
    return await db.transaction(async (tx) => {
      const b = inTransaction(ctx, tx);
      const locked = (await repo.findSession(tx, ctx.workspaceId, id, { forUpdate: true }))!;
      assertOpen(locked, ctx);
      const plan = await getPlan(tx, ctx.workspaceId, s.planId);
      const buyer = await resolveBuyer(b, { email: input.email, name: input.name, company: input.company, accountId: s.prefillAccountId, lifecycleStage: 'customer' });
      const pm = await createPaymentMethod(b, { account: buyer.accountId, type: 'card', card: input.card, default: true });
      const sub = await createSubscription(b, {
        accountId: buyer.accountId,
        plan: plan.id,
        interval: input.interval,
        quantity: s.quantity,
        collectionMethod: 'charge_automatically',
        paymentMethodId: pm.id,
        trialDays: plan.trialDays > 0 ? plan.trialDays : null,
        metadata: { checkout_session: s.id },
      });
      const [invoice] = await listInvoices(b, { limit: 1, subscriptionId: sub.id });
      if (invoice?.status === 'open') {
        const outcome = await collect(b, invoice.id, 1);
        if (outcome !== 'paid') {
          const [payment] = await listPayments(tx, ctx.workspaceId, { invoiceId: invoice.id, limit: 1 });
          const code = payment?.failureCode === 'processing_error' ? 'card_processing_error' : 'card_declined';
          throw new AppError({ code, message: payment?.failureMessage ?? 'Your card was declined.', param: 'card', details: { decline_code: payment?.failureCode ?? null } });
        }
      }
      const done = await repo.updateSession(tx, ctx.workspaceId, id, {
        status: 'complete',
        completedAt: ctx.asOf,
        accountId: buyer.accountId,
        contactId: buyer.contactId,
        subscriptionId: sub.id,
        invoiceId: invoice?.id ?? null,
        paymentMethodId: pm.id,
        lastErrorCode: null,
        lastErrorMessage: null,
      });
      const view = checkoutSessionView(done, ctx.asOf, null);
      await recordAudit(tx, ctx, { action: 'checkout_session.completed', entityType: 'checkout_session', entityId: id, before: { status: 'open' }, after: view });
      await publish(tx, ctx, 'checkout.completed', {
        checkout_session: view,
        account: buyer.accountId,
        contact: buyer.contactId,
        account_created: buyer.accountCreated,
        subscription: sub.id,
        invoice: invoice?.id ?? null,
        plan: plan.id,
        plan_key: plan.key,
        interval: input.interval,
      });
      return done;
    });
  } catch (e) {
    if (isAppError(e) && (BUYER_ERRORS.has(e.code) || e.param?.startsWith('card'))) {
      await db.transaction(async (tx) => {
        const cur = (await repo.findSession(tx, ctx.workspaceId, id, { forUpdate: true }))!;
        await repo.updateSession(tx, ctx.workspaceId, id, { failedAttempts: cur.failedAttempts + 1, lastErrorCode: e.code, lastErrorMessage: e.message });
        await recordAudit(tx, ctx, { action: 'checkout_session.payment_failed', entityType: 'checkout_session', entityId: id, after: { code: e.code, message: e.message } });
      });
    }
    throw e;
  }
}

/** The "Contact sales" form of a contact-sales or quote-only plan's checkout page. */
export async function contactSalesFromCheckout(ctx: Ctx, id: string, input: Omit<HandRaiseInput, 'plan' | 'source' | 'sourceId' | 'accountId'>): Promise<CheckoutSession> {
  const db = ctx.deps.database.db;
  const s = await repo.findSession(db, ctx.workspaceId, id);
  if (!s) throw notFound('checkout session', id);
  assertOpen(s, ctx);
  return db.transaction(async (tx) => {
    const locked = (await repo.findSession(tx, ctx.workspaceId, id, { forUpdate: true }))!;
    assertOpen(locked, ctx);
    const plan = await getPlan(tx, ctx.workspaceId, s.planId);
    const h = await raiseHandIn(tx, inTransaction(ctx, tx), { ...input, accountId: s.prefillAccountId, plan, source: 'checkout', sourceId: s.id });
    const done = await repo.updateSession(tx, ctx.workspaceId, id, { status: 'complete', completedAt: ctx.asOf, accountId: h.accountId, contactId: h.contactId, handRaiseId: h.id });
    await recordAudit(tx, ctx, { action: 'checkout_session.completed', entityType: 'checkout_session', entityId: id, before: { status: 'open' }, after: checkoutSessionView(done, ctx.asOf, null) });
    return done;
  });
}

import type { Ctx, Db } from '../../context.ts';
import { publish } from '../../jobs/outbox.ts';
import { AppError, notFound } from '../../kernel/errors.ts';
import { getAccount } from '../accounts/index.ts';
import { cancelSubscription, changeSubscription, collect, getInvoice, invoiceDocument, listInvoices, upcomingInvoice, type ChangeInput, type Subscription } from '../billing/index.ts';
import { getCurrentPlanVersion, getPlan, getPlanVersion, type Plan } from '../catalog/index.ts';
import { createPaymentMethod, getDefaultPaymentMethod, listPayments, type CardInput } from '../payments/index.ts';
import { inTransaction, requestQuote, resolvePlanRef } from '../quotes/index.ts';
import { getWorkspace } from '../workspaces/index.ts';
import type { PortalSession, UpgradePolicy } from './checkout.ts';
import { raiseHand } from './hand-raise.service.ts';
import { getUpgradePolicy, paymentOptions } from './policy.service.ts';
import { commitmentOverrides, currentSubscription, recurringOf } from './portal.service.ts';
import { recordProductEvent } from './signals.ts';

/**
 * What a customer can do alone in the portal, under the workspace's upgrade policy:
 * - upgrades apply now (prorated) and are charged at once; a declined card changes nothing;
 *   an upgrade adding at least the policy's ARR threshold also raises a `Large Upgrade` signal
 *   (product event + `upgrade.large`) for sales;
 * - downgrades apply at the period end;
 * - a quote-only plan is refused with `quote_required` and becomes a quote request for sales;
 * - a contact-sales plan takes the "Contact sales" form (a hand-raise);
 * - seats, card ↔ invoice on Net terms (as the plan's motion allows), monthly → annual with
 *   the commitment discount, cancel at period end and resume.
 */
export interface Portal {
  session: PortalSession;
  ctx: Ctx;
}

async function liveSubscription(p: Portal): Promise<Subscription> {
  const sub = await currentSubscription(p.ctx, p.session.accountId);
  if (!sub) throw new AppError({ code: 'state_conflict', message: 'There is no subscription to change.' });
  if (sub.status === 'scheduled') throw new AppError({ code: 'state_conflict', message: `Your subscription starts on ${sub.currentPeriodStart.toISOString().slice(0, 10)}; it can be changed from then.` });
  return sub;
}

async function currentArr(ctx: Ctx, sub: Subscription): Promise<number> {
  // The renewal's own view of the terms (overrides included); with changes scheduled, the terms after them.
  const { plan } = await upcomingInvoice(ctx, sub.id);
  return (await recurringOf(ctx, { planVersionId: sub.planVersionId, interval: sub.interval, quantity: sub.quantity, overrides: plan.overrides })).arr;
}

/** A change applied now, its invoice charged at once: a decline rolls the change back. */
async function changeAndCharge(ctx: Ctx, subId: string, change: ChangeInput, after?: (tx: Db, b: Ctx) => Promise<void>): Promise<Subscription> {
  return ctx.deps.database.db.transaction(async (tx) => {
    const b = inTransaction(ctx, tx);
    const before = new Set((await listInvoices(b, { limit: 10, subscriptionId: subId })).map((i) => i.id));
    const changed = await changeSubscription(b, subId, change);
    const created = (await listInvoices(b, { limit: 10, subscriptionId: subId })).filter((i) => !before.has(i.id) && i.status === 'open' && i.collectionMethod === 'charge_automatically');
    for (const inv of created) {
      if ((await collect(b, inv.id, 1)) !== 'paid') {
        const [payment] = await listPayments(tx, ctx.workspaceId, { invoiceId: inv.id, limit: 1 });
        throw new AppError({ code: 'card_declined', message: `${payment?.failureMessage ?? 'Your card was declined.'} Nothing was changed.`, param: 'card' });
      }
    }
    if (after) await after(tx, b);
    return changed;
  });
}

async function largeUpgradeSignal(tx: Db, b: Ctx, p: Portal, input: { sub: Subscription; policy: UpgradePolicy; arrBefore: number; arrAfter: number; fromPlan: Plan; toPlan: Plan; kind: string }): Promise<boolean> {
  const increase = input.arrAfter - input.arrBefore;
  const t = input.policy.largeUpgradeArrThreshold;
  if (increase <= 0 || t.currency !== input.sub.currency || increase < t.amount) return false;
  const data = {
    account: input.sub.accountId,
    subscription: input.sub.id,
    change: input.kind,
    from_plan: input.fromPlan.id,
    to_plan: input.toPlan.id,
    to_plan_key: input.toPlan.key,
    arr_before: { amount: input.arrBefore, currency: input.sub.currency },
    arr_after: { amount: input.arrAfter, currency: input.sub.currency },
    arr_increase: { amount: increase, currency: input.sub.currency },
    threshold: t,
    source: 'portal',
  };
  await recordProductEvent(tx, b, { accountId: input.sub.accountId, anonymousId: `portal-${p.session.id}`, event: 'Large Upgrade', messageId: `large_upgrade:${input.sub.id}:${b.asOf.toISOString()}`, properties: data });
  await publish(tx, b, 'upgrade.large', data);
  return true;
}

export interface PortalOutcome {
  subscription: Subscription;
  message: string;
  large?: boolean;
}

export async function portalChangePlan(p: Portal, input: { plan: string; interval?: 'month' | 'year' }): Promise<PortalOutcome> {
  const ctx = p.ctx;
  const db = ctx.deps.database.db;
  const sub = await liveSubscription(p);
  const target = await resolvePlanRef(db, ctx.workspaceId, input.plan);
  const from = await getPlan(db, ctx.workspaceId, sub.planId);
  if (target.status !== 'active') throw new AppError({ code: 'state_conflict', message: `${target.name} is no longer offered.`, param: 'plan' });
  if (target.currency !== sub.currency) throw new AppError({ code: 'currency_mismatch', message: `${target.name} is priced in ${target.currency.toUpperCase()}.`, param: 'plan' });
  if (target.visibility === 'quote_only') {
    const { quote, created } = await requestQuote(ctx, { accountId: sub.accountId, plan: target.id, interval: sub.interval, quantity: sub.quantity, sourceSubscriptionId: sub.id });
    throw new AppError({
      code: 'quote_required',
      message: `${target.name} requires a quote. ${created ? 'We have asked our sales team to prepare one' : 'Our sales team is already preparing one'} (quote ${quote.number}); your current plan stays as it is.`,
      param: 'plan',
    });
  }
  if (target.visibility === 'contact_sales') throw new AppError({ code: 'contact_sales_required', message: `${target.name} is sold through our sales team: use "Contact sales".`, param: 'plan' });
  if (target.id === sub.planId && (input.interval ?? sub.interval) === sub.interval) throw new AppError({ code: 'parameter_invalid', message: `You are already on ${target.name}.`, param: 'plan' });
  const policy = await getUpgradePolicy(ctx);
  const method = sub.collectionMethod === 'send_invoice' ? 'invoice' : 'card';
  if (!paymentOptions(policy, target.motion)[method]) {
    throw new AppError({ code: 'payment_method_not_allowed', message: `${target.name} cannot be paid by ${method}; change how you pay first.`, param: 'plan' });
  }
  const version = await getCurrentPlanVersion(db, ctx.workspaceId, target.id);
  const interval = input.interval ?? sub.interval;
  if (!version.prices.some((x) => x.interval === interval)) throw new AppError({ code: 'parameter_invalid', message: `${target.name} has no ${interval}ly price.`, param: 'interval' });
  const arrBefore = await currentArr(ctx, sub);
  const arrAfter = (await recurringOf(ctx, { planVersionId: version.id, interval, quantity: sub.quantity, overrides: {} })).arr;
  if (arrAfter <= arrBefore) {
    const s = await changeSubscription(ctx, sub.id, { plan: target.id, interval, effective: 'period_end' });
    return { subscription: s, message: `You will move to ${target.name} on ${sub.currentPeriodEnd.toISOString().slice(0, 10)}.` };
  }
  let large = false;
  const s = await changeAndCharge(ctx, sub.id, { plan: target.id, interval }, async (tx, b) => {
    large = await largeUpgradeSignal(tx, b, p, { sub, policy, arrBefore, arrAfter, fromPlan: from, toPlan: target, kind: 'plan' });
  });
  return { subscription: s, message: `You are now on ${target.name}.`, large };
}

export async function portalSeats(p: Portal, input: { quantity: number }): Promise<PortalOutcome> {
  const ctx = p.ctx;
  const sub = await liveSubscription(p);
  const version = await getPlanVersion(ctx.deps.database.db, ctx.workspaceId, sub.planVersionId);
  if (!version.prices.some((x) => x.type === 'per_seat' && x.interval === sub.interval)) throw new AppError({ code: 'parameter_invalid', message: 'Your plan is not priced per seat.', param: 'quantity' });
  if (!Number.isInteger(input.quantity) || input.quantity < 1 || input.quantity > 100_000) throw new AppError({ code: 'parameter_invalid', message: 'Seats are a whole number from 1.', param: 'quantity' });
  if (input.quantity === sub.quantity) throw new AppError({ code: 'parameter_invalid', message: `You already have ${sub.quantity} seats.`, param: 'quantity' });
  const plan = await getPlan(ctx.deps.database.db, ctx.workspaceId, sub.planId);
  const policy = await getUpgradePolicy(ctx);
  const { plan: renewal } = await upcomingInvoice(ctx, sub.id);
  const arrBefore = (await recurringOf(ctx, { planVersionId: sub.planVersionId, interval: sub.interval, quantity: sub.quantity, overrides: renewal.overrides })).arr;
  const arrAfter = (await recurringOf(ctx, { planVersionId: sub.planVersionId, interval: sub.interval, quantity: input.quantity, overrides: renewal.overrides })).arr;
  let large = false;
  const s = await changeAndCharge(ctx, sub.id, { quantity: input.quantity }, async (tx, b) => {
    large = await largeUpgradeSignal(tx, b, p, { sub, policy, arrBefore, arrAfter, fromPlan: plan, toPlan: plan, kind: 'seats' });
  });
  return { subscription: s, message: `You now have ${input.quantity} seats.`, large };
}

export async function portalPaymentMethod(p: Portal, input: { method: 'card' | 'invoice'; netDays?: number; card?: CardInput | null }): Promise<PortalOutcome> {
  const ctx = p.ctx;
  const sub = await liveSubscription(p);
  const plan = await getPlan(ctx.deps.database.db, ctx.workspaceId, sub.planId);
  const opts = paymentOptions(await getUpgradePolicy(ctx), plan.motion);
  if (input.method === 'invoice') {
    if (!opts.invoice) throw new AppError({ code: 'payment_method_not_allowed', message: `Invoice billing is not available on the ${plan.name} plan.`, param: 'method' });
    const days = input.netDays ?? opts.netTermsDays[0];
    if (!opts.netTermsDays.includes(days)) throw new AppError({ code: 'parameter_invalid', message: `Net terms offered: ${opts.netTermsDays.map((d) => `Net ${d}`).join(', ')}.`, param: 'net_days' });
    const s = await changeSubscription(ctx, sub.id, { collectionMethod: 'send_invoice', daysUntilDue: days });
    return { subscription: s, message: `You now pay by invoice, Net ${days}.` };
  }
  if (!opts.card) throw new AppError({ code: 'payment_method_not_allowed', message: `Card payment is not available on the ${plan.name} plan.`, param: 'method' });
  const s = await ctx.deps.database.db.transaction(async (tx) => {
    const b = inTransaction(ctx, tx);
    const pm = input.card ? await createPaymentMethod(b, { account: sub.accountId, type: 'card', card: input.card, default: true }) : await getDefaultPaymentMethod(tx, ctx.workspaceId, sub.accountId);
    if (!pm) throw new AppError({ code: 'parameter_missing', message: 'Enter a card.', param: 'card' });
    return changeSubscription(b, sub.id, { collectionMethod: 'charge_automatically', paymentMethodId: pm.id });
  });
  return { subscription: s, message: `You now pay by card ending ${input.card ? input.card.number.replace(/\D/g, '').slice(-4) : 'on file'}.` };
}

export async function portalSwitchToAnnual(p: Portal): Promise<PortalOutcome> {
  const ctx = p.ctx;
  const sub = await liveSubscription(p);
  if (sub.interval !== 'month') throw new AppError({ code: 'state_conflict', message: 'You are already billed annually.' });
  const version = await getPlanVersion(ctx.deps.database.db, ctx.workspaceId, sub.planVersionId);
  if (!version.prices.some((x) => x.interval === 'year')) throw new AppError({ code: 'parameter_invalid', message: 'Your plan has no annual price.', param: 'interval' });
  const policy = await getUpgradePolicy(ctx);
  const s = await changeAndCharge(ctx, sub.id, { interval: 'year', priceOverrides: commitmentOverrides(version, policy.annualCommitmentDiscountPercent) });
  return { subscription: s, message: `You are now billed annually, ${policy.annualCommitmentDiscountPercent}% off.` };
}

export async function portalCancel(p: Portal, input: { resume?: boolean }): Promise<PortalOutcome> {
  const sub = await liveSubscription(p);
  if (input.resume) {
    if (!sub.cancelAtPeriodEnd) throw new AppError({ code: 'state_conflict', message: 'Your subscription is not set to cancel.' });
    return { subscription: await changeSubscription(p.ctx, sub.id, { cancelAtPeriodEnd: false }), message: 'Your subscription continues.' };
  }
  const s = await cancelSubscription(p.ctx, sub.id, { atPeriodEnd: true });
  return { subscription: s, message: `Your subscription ends on ${sub.currentPeriodEnd.toISOString().slice(0, 10)}.` };
}

export async function portalContactSales(p: Portal, input: { plan: string; email: string; name?: string | null; message?: string | null }) {
  const plan = await resolvePlanRef(p.ctx.deps.database.db, p.ctx.workspaceId, input.plan);
  const account = await getAccount(p.ctx, p.session.accountId);
  return raiseHand(p.ctx, { email: input.email, name: input.name, company: account.name, message: input.message, accountId: account.id, plan, source: 'portal', sourceId: p.session.id });
}

/** An invoice PDF, only for the portal's own account. */
export async function portalInvoicePdf(p: Portal, invoiceId: string): Promise<{ pdf: Buffer; number: string }> {
  const { invoice } = await getInvoice(p.ctx, invoiceId).catch(() => ({ invoice: null }));
  if (!invoice || invoice.accountId !== p.session.accountId || invoice.status === 'draft') throw notFound('invoice', invoiceId);
  const ws = await getWorkspace(p.ctx.deps, p.ctx.workspaceId);
  const account = await getAccount(p.ctx, invoice.accountId);
  const pdf = (await invoiceDocument(p.ctx, invoice.id, 'pdf', { seller: { name: ws.name, id: ws.id }, customer: { name: account.name ?? account.id, id: account.id } })) as Buffer;
  return { pdf, number: invoice.number ?? invoice.id };
}

import type { Ctx, Db } from '../../context.ts';
import { enqueue } from '../../jobs/queue.ts';
import { publish } from '../../jobs/outbox.ts';
import { addDays } from '../../kernel/dates.ts';
import { AppError, notFound } from '../../kernel/errors.ts';
import { newId } from '../../kernel/ids.ts';
import { findPlanByKey, getCurrentPlanVersion, getPlan, getPlanVersion, type Plan } from '../catalog/index.ts';
import { recordAudit } from '../workspaces/index.ts';
import * as repo from './billing.repo.ts';
import { LIVE_STATUSES, OPEN_STATUSES, type CollectionMethod, type DunningFinalAction, type Subscription, type SubscriptionChange } from './billing.ts';
import { prorationLines, usageLines, advanceLines, type BillableItem, type ComputedLine } from './compute/invoice.ts';
import { periodFrom, type Interval, type Period } from './compute/periods.ts';
import { createDraft, finalize } from './invoices.finalize.ts';
import { issueCreditNote } from './invoices.service.ts';
import { planRenewal, pricedPlan, usageFor } from './plan.ts';
import { renewalJob } from './renewal.service.ts';
import { subscriptionView } from './views.ts';
import { requireAccount } from './accounts-port.ts';

export interface CreateSubscriptionInput {
  accountId: string;
  plan: string;
  planVersionId?: string;
  interval: Interval;
  quantity?: number;
  collectionMethod?: CollectionMethod;
  daysUntilDue?: number | null;
  paymentMethodId?: string | null;
  trialDays?: number | null;
  /** A future start (a quote's contract start date): the subscription waits, `scheduled`, until then. */
  startDate?: Date | null;
  priceOverrides?: Record<string, number>;
  dunningFinalAction?: DunningFinalAction;
  metadata?: Record<string, string>;
}

async function resolvePlan(tx: Db, ctx: Ctx, ref: string, versionId?: string) {
  // A plan by id (plan_…) or by key ("pro").
  const plan: Plan | undefined = ref.startsWith('plan_') ? await getPlan(tx, ctx.workspaceId, ref) : await findPlanByKey(tx, ctx.workspaceId, ref);
  if (!plan) throw notFound('plan', ref, 'plan');
  if (plan.status !== 'active') throw new AppError({ code: 'state_conflict', message: `Plan '${plan.key}' is archived.`, param: 'plan' });
  if (versionId === undefined) return { plan, version: await getCurrentPlanVersion(tx, ctx.workspaceId, plan.id) };
  const version = await getPlanVersion(tx, ctx.workspaceId, versionId);
  if (version.planId !== plan.id) throw new AppError({ code: 'parameter_invalid', message: `Version ${versionId} belongs to another plan.`, param: 'plan_version' });
  return { plan, version };
}

async function history(tx: Db, ctx: Ctx, sub: Subscription, type: string, before: unknown, after: unknown) {
  await repo.insertSubscriptionEvent(tx, { id: newId('sev'), workspaceId: ctx.workspaceId, subscriptionId: sub.id, type, effectiveAt: ctx.asOf, before, after, createdAt: ctx.asOf });
}

function checkTerms(method: CollectionMethod, days: number | null | undefined): number | null {
  if (method === 'charge_automatically') return null;
  const d = days ?? 30;
  if (!Number.isInteger(d) || d < 0 || d > 365) throw new AppError({ code: 'parameter_invalid', message: 'days_until_due is a whole number of days between 0 and 365 (Net 30: 30).', param: 'days_until_due' });
  return d;
}

/**
 * Starts a subscription now. With a trial, the first period is the trial and nothing is billed
 * until it ends; otherwise the first period's fees are invoiced at once (in advance) and, for a
 * card subscription, charged. The renewal is scheduled at the period's end.
 */
export async function createSubscription(ctx: Ctx, input: CreateSubscriptionInput): Promise<Subscription> {
  return ctx.deps.database.db.transaction(async (tx) => {
    const accountId = await requireAccount(tx, ctx.workspaceId, input.accountId);
    const { plan, version } = await resolvePlan(tx, ctx, input.plan, input.planVersionId);
    const collectionMethod = input.collectionMethod ?? 'charge_automatically';
    const quantity = input.quantity ?? 1;
    if (!Number.isInteger(quantity) || quantity < 1) throw new AppError({ code: 'parameter_invalid', message: 'quantity is a whole number of seats, at least 1.', param: 'quantity' });
    const priced = await pricedPlan(tx, ctx.workspaceId, { planVersionId: version.id, interval: input.interval, quantity, overrides: input.priceOverrides ?? {} });
    for (const priceId of Object.keys(input.priceOverrides ?? {})) {
      if (!priced.items.some((i) => i.price.id === priceId)) throw new AppError({ code: 'parameter_invalid', message: `Price ${priceId} is not a ${input.interval}ly price of plan '${plan.key}'.`, param: 'price_overrides' });
    }
    const trialDays = input.trialDays ?? null;
    if (trialDays !== null && (!Number.isInteger(trialDays) || trialDays < 0 || trialDays > 730)) throw new AppError({ code: 'parameter_invalid', message: 'trial_days is 0 to 730.', param: 'trial_days' });
    const startAt = input.startDate ?? ctx.asOf;
    if (startAt < ctx.asOf) throw new AppError({ code: 'parameter_invalid', message: `start_date ${startAt.toISOString()} is in the past (now ${ctx.asOf.toISOString()}).`, param: 'start_date' });
    const future = startAt > ctx.asOf;
    const trialEnd = trialDays ? addDays(startAt, trialDays) : null;
    const anchor = trialEnd ?? startAt;
    const period: Period = trialEnd ? { start: startAt, end: trialEnd } : periodFrom(startAt, input.interval, anchor.getUTCDate());
    const sub: Subscription = {
      id: newId('sub'),
      workspaceId: ctx.workspaceId,
      accountId,
      status: future ? 'scheduled' : trialEnd ? 'trialing' : 'active',
      planId: plan.id,
      planVersionId: version.id,
      interval: input.interval,
      currency: plan.currency,
      quantity,
      collectionMethod,
      daysUntilDue: checkTerms(collectionMethod, input.daysUntilDue),
      paymentMethodId: input.paymentMethodId ?? null,
      anchorDay: anchor.getUTCDate(),
      currentPeriodStart: period.start,
      currentPeriodEnd: period.end,
      usageSince: period.start,
      trialEnd,
      cancelAtPeriodEnd: false,
      canceledAt: null,
      endedAt: null,
      dunningFinalAction: input.dunningFinalAction ?? 'cancel',
      metadata: input.metadata ?? {},
      createdAt: ctx.asOf,
      updatedAt: ctx.asOf,
    };
    await repo.insertSubscription(tx, sub);
    if (input.priceOverrides) await repo.replaceOverrides(tx, ctx.workspaceId, sub.id, input.priceOverrides);
    await history(tx, ctx, sub, 'created', null, subscriptionView(sub));
    if (future) {
      await enqueue(tx, { workspaceId: ctx.workspaceId, kind: 'billing.start', runAt: startAt, payload: { subscription_id: sub.id }, dedupeKey: `start:${sub.id}`, asOf: ctx.asOf });
    } else {
      await beginFirstPeriod(tx, ctx, sub, priced.items, priced.planName);
    }
    await publish(tx, ctx, 'subscription.created', { subscription: subscriptionView(sub) });
    await recordAudit(tx, ctx, { action: 'subscription.created', entityType: 'subscription', entityId: sub.id, after: subscriptionView(sub) });
    return sub;
  });
}

/** Bills the first period in advance (unless it is a trial) and schedules the renewal. */
async function beginFirstPeriod(tx: Db, ctx: Ctx, sub: Subscription, items: BillableItem[], planName: string) {
  const period: Period = { start: sub.currentPeriodStart, end: sub.currentPeriodEnd };
  if (!sub.trialEnd) {
    const draft = await createDraft(tx, ctx, {
      accountId: sub.accountId,
      subscriptionId: sub.id,
      currency: sub.currency,
      collectionMethod: sub.collectionMethod,
      daysUntilDue: sub.daysUntilDue,
      billingReason: 'subscription_create',
      period,
      lines: advanceLines(items, period, planName),
    });
    if (draft) await finalize(tx, ctx, draft.invoice.id);
  }
  await enqueue(tx, renewalJob(sub, ctx.asOf));
}

/** The start of a scheduled subscription (job `billing.start` at its start date). */
export async function start(tx: Db, ctx: Ctx, subscriptionId: string): Promise<boolean> {
  const sub = await repo.findSubscription(tx, ctx.workspaceId, subscriptionId, { forUpdate: true });
  if (!sub || sub.status !== 'scheduled' || sub.currentPeriodStart > ctx.asOf) return false;
  const sctx: Ctx = { ...ctx, asOf: sub.currentPeriodStart };
  const overrides = await repo.getOverrides(tx, ctx.workspaceId, sub.id);
  const priced = await pricedPlan(tx, ctx.workspaceId, { planVersionId: sub.planVersionId, interval: sub.interval, quantity: sub.quantity, overrides });
  const after = await repo.updateSubscription(tx, ctx.workspaceId, sub.id, { status: sub.trialEnd ? 'trialing' : 'active', updatedAt: sctx.asOf });
  await beginFirstPeriod(tx, sctx, after, priced.items, priced.planName);
  await history(tx, sctx, sub, 'started', subscriptionView(sub), subscriptionView(after));
  await publish(tx, sctx, 'subscription.updated', { subscription: subscriptionView(after), previous: subscriptionView(sub), reason: 'started' });
  return true;
}

export async function getSubscription(ctx: Ctx, id: string): Promise<Subscription> {
  const sub = await repo.findSubscription(ctx.deps.database.db, ctx.workspaceId, id);
  if (!sub) throw notFound('subscription', id);
  return sub;
}

async function lockLive(tx: Db, ctx: Ctx, id: string): Promise<Subscription> {
  const sub = await repo.findSubscription(tx, ctx.workspaceId, id, { forUpdate: true });
  if (!sub) throw notFound('subscription', id);
  if (!OPEN_STATUSES.includes(sub.status)) throw new AppError({ code: 'state_conflict', message: `Subscription ${id} is ${sub.status}.` });
  return sub;
}

export interface ChangeInput extends SubscriptionChange {
  plan?: string;
  planVersionIdRef?: string;
  prorationBehavior?: 'create_prorations' | 'none';
  /** 'now' (default) or 'period_end' (a scheduled change, applied at renewal). */
  effective?: 'now' | 'period_end';
  cancelAtPeriodEnd?: boolean;
}

async function resolveChange(tx: Db, ctx: Ctx, sub: Subscription, input: ChangeInput): Promise<SubscriptionChange> {
  const change: SubscriptionChange = {};
  if (input.plan !== undefined || input.planVersionIdRef !== undefined) {
    const { plan, version } = await resolvePlan(tx, ctx, input.plan ?? sub.planId, input.planVersionIdRef);
    if (plan.currency !== sub.currency) throw new AppError({ code: 'currency_mismatch', message: `Plan '${plan.key}' is priced in ${plan.currency}; the subscription bills in ${sub.currency}.`, param: 'plan' });
    change.planId = plan.id;
    change.planVersionId = version.id;
  }
  if (input.interval !== undefined) change.interval = input.interval;
  if (input.quantity !== undefined) {
    if (!Number.isInteger(input.quantity) || input.quantity < 1) throw new AppError({ code: 'parameter_invalid', message: 'quantity is a whole number of seats, at least 1.', param: 'quantity' });
    change.quantity = input.quantity;
  }
  if (input.collectionMethod !== undefined) {
    change.collectionMethod = input.collectionMethod;
    change.daysUntilDue = checkTerms(input.collectionMethod, input.daysUntilDue);
  } else if (input.daysUntilDue !== undefined) {
    if (sub.collectionMethod !== 'send_invoice') throw new AppError({ code: 'parameter_invalid', message: 'days_until_due applies to send_invoice subscriptions.', param: 'days_until_due' });
    change.collectionMethod = 'send_invoice';
    change.daysUntilDue = checkTerms('send_invoice', input.daysUntilDue);
  }
  if (input.paymentMethodId !== undefined) change.paymentMethodId = input.paymentMethodId;
  if (input.priceOverrides !== undefined) change.priceOverrides = input.priceOverrides;
  // Validate that the target has prices for the interval (throws a 400 naming `interval`).
  await pricedPlan(tx, ctx.workspaceId, { planVersionId: change.planVersionId ?? sub.planVersionId, interval: change.interval ?? sub.interval, quantity: change.quantity ?? sub.quantity, overrides: change.priceOverrides ?? {} });
  return change;
}

/**
 * Upgrades, downgrades, seat changes, monthly ↔ annual, collection method — now or at renewal.
 * Now, in the same billing interval: unused time on the old items is credited and the rest of
 * the period on the new ones charged, to the second; a positive net is invoiced (and charged)
 * at once, a negative net becomes a credit note whose amount sits on the account's balance
 * until the next invoice. Switching interval restarts the billing cycle today.
 */
export async function changeSubscription(ctx: Ctx, id: string, input: ChangeInput): Promise<Subscription> {
  return ctx.deps.database.db.transaction(async (tx) => {
    const sub = await lockLive(tx, ctx, id);
    const change = await resolveChange(tx, ctx, sub, input);
    const wantsCancelFlag = input.cancelAtPeriodEnd !== undefined && input.cancelAtPeriodEnd !== sub.cancelAtPeriodEnd;
    if (!Object.keys(change).length && !wantsCancelFlag) throw new AppError({ code: 'parameter_missing', message: 'Nothing to change: give plan, interval, quantity, collection_method, days_until_due, payment_method or cancel_at_period_end.' });
    if (input.effective === 'period_end') {
      if (Object.keys(change).length) {
        await repo.insertSchedule(tx, { id: newId('ssch'), workspaceId: ctx.workspaceId, subscriptionId: sub.id, effectiveAt: sub.currentPeriodEnd, change: change as Record<string, unknown>, source: 'api', createdAt: ctx.asOf });
      }
      const after = wantsCancelFlag ? await repo.updateSubscription(tx, ctx.workspaceId, sub.id, { cancelAtPeriodEnd: input.cancelAtPeriodEnd!, updatedAt: ctx.asOf }) : sub;
      await history(tx, ctx, sub, 'change_scheduled', null, { effective_at: sub.currentPeriodEnd.toISOString(), change });
      await publish(tx, ctx, 'subscription.updated', { subscription: subscriptionView(after), scheduled_change: { effective_at: sub.currentPeriodEnd.toISOString(), ...change } });
      await recordAudit(tx, ctx, { action: 'subscription.change_scheduled', entityType: 'subscription', entityId: sub.id, before: subscriptionView(sub), after: { effective_at: sub.currentPeriodEnd.toISOString(), change } });
      return after;
    }
    return applyNow(tx, ctx, sub, change, input);
  });
}

async function applyNow(tx: Db, ctx: Ctx, sub: Subscription, change: SubscriptionChange, input: ChangeInput): Promise<Subscription> {
  const ws = ctx.workspaceId;
  const overrides = await repo.getOverrides(tx, ws, sub.id);
  const old = await pricedPlan(tx, ws, { planVersionId: sub.planVersionId, interval: sub.interval, quantity: sub.quantity, overrides });
  const newOverrides = change.priceOverrides ?? (change.planVersionId && change.planVersionId !== sub.planVersionId ? {} : overrides);
  const target = {
    planVersionId: change.planVersionId ?? sub.planVersionId,
    interval: change.interval ?? sub.interval,
    quantity: change.quantity ?? sub.quantity,
  };
  const neu = await pricedPlan(tx, ws, { ...target, overrides: newOverrides });
  const period: Period = { start: sub.currentPeriodStart, end: sub.currentPeriodEnd };
  const pricingChanged = target.planVersionId !== sub.planVersionId || target.interval !== sub.interval || target.quantity !== sub.quantity || change.priceOverrides !== undefined;
  // Nothing was billed during a trial or before a scheduled start: changes just change the terms.
  const trialing = sub.status === 'trialing' || sub.status === 'scheduled';
  const changeId = newId('chg');
  const usage: ComputedLine[] = [];
  const prorations: ComputedLine[] = [];
  let nextPeriod = period;
  let usageSince = sub.usageSince;
  let anchorDay = sub.anchorDay;
  if (pricingChanged && !trialing) {
    // Usage so far is billed at the prices it was used under.
    const sofar: Period = { start: sub.usageSince, end: ctx.asOf };
    usage.push(...usageLines(old.items, sofar, await usageFor(tx, ws, sub.accountId, old.items, sofar), old.planName).map((l) => ({ ...l, chargeKey: `${l.chargeKey}:${changeId}` })));
    usageSince = ctx.asOf;
    if (target.interval !== sub.interval) {
      // New cycle from today: credit the unused old period, charge a full new one.
      nextPeriod = periodFrom(ctx.asOf, target.interval, ctx.asOf.getUTCDate());
      anchorDay = ctx.asOf.getUTCDate();
      if (input.prorationBehavior !== 'none') prorations.push(...prorationLines({ changeId, period, at: ctx.asOf, oldItems: old.items, newItems: [], oldPlanName: old.planName, newPlanName: neu.planName }));
      prorations.push(...advanceLines(neu.items, nextPeriod, neu.planName));
    } else if (input.prorationBehavior !== 'none') {
      prorations.push(...prorationLines({ changeId, period, at: ctx.asOf, oldItems: old.items, newItems: neu.items, oldPlanName: old.planName, newPlanName: neu.planName }));
    }
  } else if (sub.status === 'scheduled' && target.interval !== sub.interval && !sub.trialEnd) {
    nextPeriod = periodFrom(sub.currentPeriodStart, target.interval, sub.anchorDay);
  }
  const collection = change.collectionMethod ?? sub.collectionMethod;
  const after = await repo.updateSubscription(tx, ws, sub.id, {
    planId: change.planId ?? sub.planId,
    planVersionId: target.planVersionId,
    interval: target.interval,
    quantity: target.quantity,
    collectionMethod: collection,
    daysUntilDue: change.collectionMethod !== undefined || change.daysUntilDue !== undefined ? (change.daysUntilDue ?? null) : sub.daysUntilDue,
    paymentMethodId: change.paymentMethodId !== undefined ? change.paymentMethodId : sub.paymentMethodId,
    currentPeriodStart: nextPeriod.start,
    currentPeriodEnd: nextPeriod.end,
    usageSince,
    anchorDay,
    cancelAtPeriodEnd: input.cancelAtPeriodEnd ?? sub.cancelAtPeriodEnd,
    updatedAt: ctx.asOf,
  });
  if (change.priceOverrides !== undefined || change.planVersionId) await repo.replaceOverrides(tx, ws, sub.id, newOverrides);
  const net = prorations.reduce((s, l) => s + l.amount, 0);
  const invoiceLines = net >= 0 ? [...usage, ...prorations] : usage;
  const draft = await createDraft(tx, ctx, {
    accountId: sub.accountId,
    subscriptionId: sub.id,
    currency: sub.currency,
    collectionMethod: collection,
    daysUntilDue: after.daysUntilDue,
    billingReason: 'subscription_update',
    period: { start: ctx.asOf, end: nextPeriod.end },
    lines: invoiceLines.filter((l) => l.amount !== 0 || l.kind === 'usage'),
  });
  if (draft) await finalize(tx, ctx, draft.invoice.id);
  if (net < 0) {
    await issueCreditNote(tx, ctx, {
      invoiceId: null,
      accountId: sub.accountId,
      subscriptionId: sub.id,
      currency: sub.currency,
      amount: -net,
      reason: 'proration',
      memo: prorations.map((l) => `${l.description}: ${l.amount}`).join('\n'),
      sourceKey: `proration:${changeId}`,
    });
  }
  if (nextPeriod !== period && sub.status !== 'scheduled') await enqueue(tx, renewalJob(after, ctx.asOf));
  await history(tx, ctx, sub, 'changed', subscriptionView(sub), subscriptionView(after));
  await publish(tx, ctx, 'subscription.updated', { subscription: subscriptionView(after), previous: subscriptionView(sub) });
  if (collection !== sub.collectionMethod || after.paymentMethodId !== sub.paymentMethodId) {
    await publish(tx, ctx, 'subscription.payment_method_changed', { subscription: subscriptionView(after), previous_collection_method: sub.collectionMethod });
  }
  await recordAudit(tx, ctx, { action: 'subscription.changed', entityType: 'subscription', entityId: sub.id, before: subscriptionView(sub), after: subscriptionView(after) });
  return after;
}

/**
 * Cancel at period end (the default, like Stripe's portal), or now. Cancelling now bills the
 * usage so far; with `prorate`, the unused part of the prepaid period is credited to the
 * account's balance by a credit note.
 */
export async function cancelSubscription(ctx: Ctx, id: string, input: { atPeriodEnd?: boolean; prorate?: boolean }): Promise<Subscription> {
  return ctx.deps.database.db.transaction(async (tx) => {
    const sub = await lockLive(tx, ctx, id);
    if (input.atPeriodEnd ?? true) {
      const after = await repo.updateSubscription(tx, ctx.workspaceId, sub.id, { cancelAtPeriodEnd: true, canceledAt: ctx.asOf, updatedAt: ctx.asOf });
      await history(tx, ctx, sub, 'cancel_scheduled', subscriptionView(sub), subscriptionView(after));
      await publish(tx, ctx, 'subscription.updated', { subscription: subscriptionView(after), previous: subscriptionView(sub) });
      await recordAudit(tx, ctx, { action: 'subscription.cancel_scheduled', entityType: 'subscription', entityId: sub.id, before: subscriptionView(sub), after: subscriptionView(after) });
      return after;
    }
    const overrides = await repo.getOverrides(tx, ctx.workspaceId, sub.id);
    const priced = await pricedPlan(tx, ctx.workspaceId, { planVersionId: sub.planVersionId, interval: sub.interval, quantity: sub.quantity, overrides });
    const sofar: Period = { start: sub.usageSince, end: ctx.asOf };
    const lines = sub.status === 'trialing' || sub.status === 'scheduled' ? [] : usageLines(priced.items, sofar, await usageFor(tx, ctx.workspaceId, sub.accountId, priced.items, sofar), priced.planName);
    const after = await repo.updateSubscription(tx, ctx.workspaceId, sub.id, { status: 'canceled', canceledAt: ctx.asOf, endedAt: ctx.asOf, usageSince: ctx.asOf, updatedAt: ctx.asOf });
    const draft = await createDraft(tx, ctx, {
      accountId: sub.accountId,
      subscriptionId: sub.id,
      currency: sub.currency,
      collectionMethod: sub.collectionMethod,
      daysUntilDue: sub.daysUntilDue,
      billingReason: 'subscription_cancel',
      period: sofar,
      lines: lines.map((l) => ({ ...l, chargeKey: `${l.chargeKey}:cancel` })),
    });
    if (draft) await finalize(tx, ctx, draft.invoice.id);
    if (input.prorate && sub.status !== 'trialing' && sub.status !== 'scheduled') {
      const credit = -prorationLines({ changeId: `cancel_${sub.id}`, period: { start: sub.currentPeriodStart, end: sub.currentPeriodEnd }, at: ctx.asOf, oldItems: priced.items, newItems: [], oldPlanName: priced.planName, newPlanName: priced.planName }).reduce((s, l) => s + l.amount, 0);
      if (credit > 0) {
        await issueCreditNote(tx, ctx, { invoiceId: null, accountId: sub.accountId, subscriptionId: sub.id, currency: sub.currency, amount: credit, reason: 'proration', memo: 'Unused time after cancellation', sourceKey: `cancel:${sub.id}` });
      }
    }
    await history(tx, ctx, sub, 'canceled', subscriptionView(sub), subscriptionView(after));
    await publish(tx, ctx, 'subscription.canceled', { subscription: subscriptionView(after) });
    await recordAudit(tx, ctx, { action: 'subscription.canceled', entityType: 'subscription', entityId: sub.id, before: subscriptionView(sub), after: subscriptionView(after) });
    return after;
  });
}

/** The invoice the next renewal will produce, computed by the renewal's own code, writing nothing. */
export async function upcomingInvoice(ctx: Ctx, id: string) {
  const db = ctx.deps.database.db;
  const sub = await repo.findSubscription(db, ctx.workspaceId, id);
  if (!sub) throw notFound('subscription', id, 'subscription');
  if (!LIVE_STATUSES.includes(sub.status)) throw new AppError({ code: 'state_conflict', message: `Subscription ${id} is ${sub.status}; it has no upcoming invoice.`, param: 'subscription' });
  const plan = await planRenewal(db, sub);
  const credit = await repo.creditBalance(db, ctx.workspaceId, sub.accountId, sub.currency);
  return { sub, plan, credit };
}


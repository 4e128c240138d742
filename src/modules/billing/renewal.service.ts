import type { Ctx, Db } from '../../context.ts';
import { publishMany, type EventInput } from '../../jobs/outbox.ts';
import { enqueueMany } from '../../jobs/queue.ts';
import * as batch from './batch.repo.ts';
import type { Subscription } from './billing.ts';
import { issueInvoices, type DraftInput } from './invoices.finalize.ts';
import { computeRenewal, loadRenewalInputs, type CatalogCache, type RenewalPlan } from './plan.ts';
import { subscriptionView } from './views.ts';

export interface Renewed {
  subscriptionId: string;
  invoiceId: string | null;
}

/** The job that renews a subscription at its period end (also what a renewal schedules next). */
export function renewalJob(sub: Subscription, asOf: Date) {
  return {
    workspaceId: sub.workspaceId,
    kind: 'billing.renew',
    runAt: sub.currentPeriodEnd,
    payload: { subscription_id: sub.id },
    dedupeKey: `renew:${sub.id}:${sub.currentPeriodEnd.toISOString()}`,
    asOf,
  };
}

/** The subscription's row after the renewal `plan` (what `batch.updateRenewed` writes). */
function renewedState(sub: Subscription, plan: RenewalPlan): Subscription {
  const at = sub.currentPeriodEnd;
  if (plan.cancel) return { ...sub, status: 'canceled', canceledAt: sub.canceledAt ?? at, endedAt: at, updatedAt: at };
  const next = plan.next!;
  return {
    ...sub,
    planId: plan.after.planId,
    planVersionId: plan.after.planVersionId,
    interval: plan.after.interval,
    quantity: plan.after.quantity,
    collectionMethod: plan.after.collectionMethod,
    daysUntilDue: plan.after.daysUntilDue,
    paymentMethodId: plan.after.paymentMethodId,
    status: sub.status === 'trialing' ? 'active' : sub.status,
    currentPeriodStart: next.start,
    currentPeriodEnd: next.end,
    usageSince: next.start,
    updatedAt: at,
  };
}

/**
 * The renewal at the end of a period, for a batch of subscriptions in the caller's transaction
 * (a bill run's batch, or a renewal job's one subscription): bill each ended period's usage in
 * arrears, apply the changes scheduled for that instant, then either end the subscription or
 * start its next period and bill its fees in advance. Each subscription renews at its own
 * `current_period_end` (its `at`: the instant of its invoice, events and history).
 *
 * The number of statements is constant per batch, not per subscription: lock, overrides,
 * schedules, one catalog read per distinct plan version, one usage statement per metric, then
 * multi-row writes. Re-running it for the same period finds nothing due — a subscription that
 * moved on is not locked — and the invoice lines' unique keys refuse a second bill for any
 * (charge, period) even so. With `skipLocked`, subscriptions another transaction is renewing are
 * left to it.
 */
export interface RenewOptions {
  /** Leave subscriptions another transaction holds to it (a bill run) instead of waiting. */
  skipLocked?: boolean;
  /** Catalog reads shared by the batches of one bill run. */
  cache?: CatalogCache;
}

export async function renewMany(tx: Db, ctx: Ctx, subscriptionIds: readonly string[], opts: RenewOptions = {}): Promise<Renewed[]> {
  const ws = ctx.workspaceId;
  const subs = await batch.lockDue(tx, ws, subscriptionIds, ctx.asOf, opts);
  if (!subs.length) return [];
  const inputs = await loadRenewalInputs(tx, ws, subs, opts.cache);
  const renewals = subs.map((sub) => {
    const plan = computeRenewal(sub, inputs);
    const after = renewedState(sub, plan);
    return { sub, plan, after, at: sub.currentPeriodEnd, view: { before: subscriptionView(sub), after: subscriptionView(after) } };
  });

  await batch.markSchedulesApplied(tx, ws, renewals.flatMap((r) => r.plan.scheduleIds.map((id) => ({ id, at: r.at }))));
  await batch.updateRenewed(tx, ws, renewals.map((r) => r.after));
  await batch.replaceOverridesOf(
    tx,
    ws,
    renewals.filter((r) => !r.plan.cancel && r.plan.scheduleIds.length).map((r) => ({ subscriptionId: r.sub.id, overrides: r.plan.overrides })),
  );
  await enqueueMany(tx, renewals.filter((r) => !r.plan.cancel).map((r) => renewalJob(r.after, r.at)));
  await batch.insertHistory(
    tx,
    ws,
    renewals.map(({ sub, plan, at, view }) => ({ subscriptionId: sub.id, type: plan.cancel ? 'ended' : 'renewed', at, before: view.before, after: view.after })),
  );
  // Invoices last: their numbers lock the workspace's sequence until commit.
  const invoices = await issueInvoices(
    tx,
    ctx,
    renewals.map(({ sub, plan, after, at }): DraftInput => ({
      accountId: sub.accountId,
      subscriptionId: sub.id,
      currency: sub.currency,
      // Invoices follow the collection method in force from this instant (a switch at renewal applies here).
      collectionMethod: after.collectionMethod,
      daysUntilDue: after.daysUntilDue,
      billingReason: plan.cancel ? 'subscription_cancel' : 'subscription_cycle',
      period: plan.next ?? plan.ended,
      lines: plan.lines,
      at,
    })),
  );
  const events: EventInput[] = [];
  for (const { sub, plan, after, at, view } of renewals) {
    if (plan.cancel) events.push({ type: 'subscription.canceled', data: { subscription: view.after }, at });
    else if (plan.scheduleIds.length || sub.status !== after.status) events.push({ type: 'subscription.updated', data: { subscription: view.after, previous: view.before }, at });
    if (plan.after.collectionMethod !== sub.collectionMethod) {
      events.push({ type: 'subscription.payment_method_changed', data: { subscription: view.after, previous_collection_method: sub.collectionMethod }, at });
    }
  }
  await publishMany(tx, ctx, events);
  return renewals.map((r, i) => ({ subscriptionId: r.sub.id, invoiceId: invoices[i]?.id ?? null }));
}

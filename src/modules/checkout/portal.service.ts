import type { Ctx, Deps } from '../../context.ts';
import { dec, roundToInteger } from '../../kernel/decimal.ts';
import { AppError, notFound } from '../../kernel/errors.ts';
import { newId } from '../../kernel/ids.ts';
import { getAccount, resolveAccountId, type Account } from '../accounts/index.ts';
import {
  listInvoices,
  listSubscriptions,
  OPEN_STATUSES,
  pendingChanges,
  pricedPlan,
  recurringAmount,
  upcomingInvoice,
  totals,
  type ComputedLine,
  type Invoice,
  type Subscription,
} from '../billing/index.ts';
import { findMetrics, getEntitlements, getPlan, getPlanVersion, listPlans, type Plan, type PlanVersion } from '../catalog/index.ts';
import { usageForPeriod } from '../metering/index.ts';
import { getDefaultPaymentMethod, type PaymentMethod } from '../payments/index.ts';
import { linkToken, macMatches, parseLinkToken } from '../quotes/index.ts';
import { getWorkspace, recordAudit, workspaceNow } from '../workspaces/index.ts';
import * as repo from './checkout.repo.ts';
import { PORTAL_TOKEN_PURPOSE, PORTAL_TTL_MINUTES, type PortalSession, type UpgradePolicy } from './checkout.ts';
import { getUpgradePolicy, paymentOptions } from './policy.service.ts';
import { portalSessionView } from './views.ts';

/** The customer portal: its sessions (signed links) and what its page shows. */
export async function createPortalSession(ctx: Ctx, input: { account: string; returnUrl: string }): Promise<{ session: PortalSession; token: string }> {
  try {
    const u = new URL(input.returnUrl);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error('scheme');
  } catch {
    throw new AppError({ code: 'parameter_invalid', message: 'return_url must be an absolute http(s) URL.', param: 'return_url' });
  }
  return ctx.deps.database.db.transaction(async (tx) => {
    const accountId = await resolveAccountId(tx, ctx.workspaceId, input.account);
    if (!accountId) throw notFound('account', input.account, 'account');
    const s: PortalSession = { id: newId('bps'), workspaceId: ctx.workspaceId, accountId, returnUrl: input.returnUrl, expiresAt: new Date(ctx.asOf.getTime() + PORTAL_TTL_MINUTES * 60_000), createdAt: ctx.asOf };
    await repo.insertPortalSession(tx, s);
    const secret = await repo.ensureSecret(tx, ctx.workspaceId, ctx.asOf);
    await recordAudit(tx, ctx, { action: 'portal_session.created', entityType: 'portal_session', entityId: s.id, after: portalSessionView(s, null) });
    return { session: s, token: linkToken(secret, PORTAL_TOKEN_PURPOSE, s.id) };
  });
}

/** The portal session a link opens (null: not a valid link → 404), on the workspace's clock. */
export async function openPortal(deps: Deps, token: string): Promise<{ session: PortalSession; ctx: Ctx; expired: boolean } | null> {
  const parsed = parseLinkToken(token);
  if (!parsed || !parsed.id.startsWith('bps_')) return null;
  const session = await repo.findPortalSessionAnyWorkspace(deps.database.db, parsed.id);
  if (!session) return null;
  const secret = await repo.findSecret(deps.database.db, session.workspaceId);
  if (!secret || !macMatches(secret, PORTAL_TOKEN_PURPOSE, session.id, parsed.mac)) return null;
  const ws = await getWorkspace(deps, session.workspaceId);
  const asOf = workspaceNow(ws, deps.clock.now());
  return { session, ctx: { deps, workspaceId: ws.id, asOf, actor: { type: 'system', id: `portal:${session.id}` } }, expired: asOf >= session.expiresAt };
}

/** The account's current subscription: the newest one that is not over. */
export async function currentSubscription(ctx: Ctx, accountId: string): Promise<Subscription | null> {
  const subs = await listSubscriptions(ctx, { limit: 20, accountId });
  return subs.find((s) => OPEN_STATUSES.includes(s.status)) ?? null;
}

/** Recurring amount per period and per year (ARR) of a plan version at a quantity, with overrides. */
export async function recurringOf(ctx: Ctx, input: { planVersionId: string; interval: 'month' | 'year'; quantity: number; overrides: Record<string, number> }) {
  const priced = await pricedPlan(ctx.deps.database.db, ctx.workspaceId, input);
  const perPeriod = priced.items.filter((i) => i.price.type !== 'usage').reduce((s, i) => s + recurringAmount(i).amount, 0);
  return { perPeriod, arr: perPeriod * (input.interval === 'month' ? 12 : 1), items: priced.items };
}

/** Annual prices less the commitment discount, rounded once per price (half_up): the overrides of a monthly → annual switch. */
export function commitmentOverrides(version: PlanVersion, percent: string): Record<string, number> {
  const factor = dec(100).minus(dec(percent)).dividedBy(100);
  const out: Record<string, number> = {};
  for (const p of version.prices) if (p.interval === 'year' && p.type !== 'usage') out[p.id] = roundToInteger(dec(p.unitAmount ?? 0).times(factor), 'half_up');
  return out;
}

export interface PlanOption {
  plan: Plan;
  action: 'switch' | 'contact_sales' | 'request_quote';
  current: boolean;
  perMonth: number | null;
  perYear: number | null;
}

export interface UsageRow {
  feature: string;
  limit: number | null;
  used: string;
  percent: number | null;
}

export interface PortalState {
  account: Account;
  subscription: Subscription | null;
  plan: Plan | null;
  version: PlanVersion | null;
  pending: Array<{ effectiveAt: Date; change: Record<string, unknown> }>;
  upcoming: { date: Date; lines: ComputedLine[]; total: number; amountDue: number } | null;
  usage: UsageRow[];
  invoices: Invoice[];
  card: PaymentMethod | null;
  payment: { card: boolean; invoice: boolean; netTermsDays: number[] };
  options: PlanOption[];
  annualOffer: { perYear: number; listPerYear: number; percent: string } | null;
  policy: UpgradePolicy;
}

async function usageAgainstLimits(ctx: Ctx, sub: Subscription): Promise<UsageRow[]> {
  const db = ctx.deps.database.db;
  const limits = (await getEntitlements(db, ctx.workspaceId, sub.planVersionId)).filter((e) => e.featureType === 'limit' && e.billableMetricId);
  const metrics = await findMetrics(db, ctx.workspaceId, limits.map((e) => e.billableMetricId!));
  const rows: UsageRow[] = [];
  for (const e of limits) {
    const metric = metrics.find((m) => m.id === e.billableMetricId);
    if (!metric) continue;
    const used = await usageForPeriod(db, { workspaceId: ctx.workspaceId, accountId: sub.accountId, metric, start: sub.currentPeriodStart, end: ctx.asOf });
    // Percent for the meter bar only (an integer 0–100+), computed exactly then floored.
    const percent = e.limit ? roundToInteger(dec(used).times(100).dividedBy(e.limit), 'floor') : null;
    rows.push({ feature: e.featureKey, limit: e.limit, used, percent });
  }
  return rows;
}

export async function portalState(ctx: Ctx, accountId: string): Promise<PortalState> {
  const db = ctx.deps.database.db;
  const account = await getAccount(ctx, accountId);
  const policy = await getUpgradePolicy(ctx);
  const sub = await currentSubscription(ctx, account.id);
  const invoices = (await listInvoices(ctx, { limit: 24, accountId: account.id })).filter((i) => i.status !== 'draft').slice(0, 24);
  const card = (await getDefaultPaymentMethod(db, ctx.workspaceId, account.id)) ?? null;
  const base = { account, invoices, card, policy, usage: [] as UsageRow[], pending: [] as PortalState['pending'], options: [] as PlanOption[] };
  if (!sub) return { ...base, subscription: null, plan: null, version: null, upcoming: null, payment: { card: true, invoice: false, netTermsDays: [] }, annualOffer: null };
  const plan = await getPlan(db, ctx.workspaceId, sub.planId);
  const version = await getPlanVersion(db, ctx.workspaceId, sub.planVersionId);
  const pending = (await pendingChanges(ctx, sub.id)).map((p) => ({ effectiveAt: p.effectiveAt, change: p.change }));
  let upcoming: PortalState['upcoming'] = null;
  if (sub.status !== 'scheduled') {
    const u = await upcomingInvoice(ctx, sub.id);
    const t = totals(u.plan.lines, u.credit);
    upcoming = { date: sub.currentPeriodEnd, lines: u.plan.lines, total: t.total, amountDue: t.amountDue };
  }
  const options: PlanOption[] = [];
  for (const d of await listPlans(ctx, { limit: 100, status: 'active' })) {
    if (d.plan.currency !== sub.currency) continue;
    const price = async (interval: 'month' | 'year') =>
      d.version.prices.some((p) => p.interval === interval) ? (await recurringOf(ctx, { planVersionId: d.version.id, interval, quantity: sub.quantity, overrides: {} })).perPeriod : null;
    const action = d.plan.visibility === 'public' ? 'switch' : d.plan.visibility === 'quote_only' ? 'request_quote' : 'contact_sales';
    options.push({ plan: d.plan, action, current: d.plan.id === sub.planId, perMonth: await price('month'), perYear: await price('year') });
  }
  const yearly = (o: PlanOption) => (o.perMonth !== null ? o.perMonth * 12 : (o.perYear ?? 0));
  options.sort((a, b) => yearly(a) - yearly(b));
  let annualOffer: PortalState['annualOffer'] = null;
  if (sub.interval === 'month' && version.prices.some((p) => p.interval === 'year')) {
    const overrides = commitmentOverrides(version, policy.annualCommitmentDiscountPercent);
    const list = await recurringOf(ctx, { planVersionId: version.id, interval: 'year', quantity: sub.quantity, overrides: {} });
    const offered = await recurringOf(ctx, { planVersionId: version.id, interval: 'year', quantity: sub.quantity, overrides });
    annualOffer = { perYear: offered.perPeriod, listPerYear: list.perPeriod, percent: policy.annualCommitmentDiscountPercent };
  }
  return { ...base, subscription: sub, plan, version, pending, upcoming, usage: await usageAgainstLimits(ctx, sub), payment: paymentOptions(policy, plan.motion), options, annualOffer };
}

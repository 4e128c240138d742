import type { Ctx } from '../../context.ts';
import { addDays } from '../../kernel/dates.ts';
import {
  accountCreditBalance,
  advanceLines,
  listSubscriptions,
  LIVE_STATUSES,
  periodFrom,
  pricedPlan,
  totals,
  type ComputedLine,
  type Subscription,
} from '../billing/index.ts';
import { getPlan, getPlanVersion, type Plan, type PlanVersion } from '../catalog/index.ts';
import { priceQuote, type QuotePricing } from './compute/pricing.ts';
import type { LineTerms, Quote, QuoteDiscount, QuoteLine } from './quotes.ts';

/**
 * "Setup → compute" for a quote, writing nothing: its pricing (compute/pricing.ts), the
 * contract it would make (a new subscription, or an amendment of the account's running one at
 * its period end), and the FIRST INVOICE — computed by billing's own `pricedPlan` +
 * `advanceLines` + `totals` with the quote's price overrides, exactly as billing's renewal
 * (amendment) or first period (new subscription) will compute it.
 */
export interface Contract {
  type: 'new_subscription' | 'amendment';
  subscription: Subscription | null;
  start: Date;
  anchorDay: number;
  /** The quote names a start date other than the running subscription's renewal. */
  startMismatch: boolean;
}

export interface FirstInvoice {
  periodStart: Date;
  periodEnd: Date;
  lines: ComputedLine[];
  subtotal: number;
  /** Free-month credit plus any credit already on the account, applied as billing applies a balance. */
  balanceApplied: number;
  total: number;
  amountDue: number;
  collectionMethod: string;
  dueDate: Date;
  planName: string;
}

export interface QuotePreview {
  plan: Plan;
  version: PlanVersion;
  pricing: QuotePricing;
  contract: Contract;
  firstInvoice: FirstInvoice;
}

export function discountOf(q: Pick<Quote, 'discountType' | 'discountPercent' | 'discountAmount'>): QuoteDiscount | null {
  if (q.discountType === 'percent') return { type: 'percent', percent: q.discountPercent! };
  if (q.discountType === 'amount') return { type: 'amount', amount: q.discountAmount! };
  return null;
}

export function termsOf(lines: readonly QuoteLine[]): LineTerms[] {
  return lines.map((l) => ({ priceId: l.priceId, unitAmount: l.unitAmount, discountPercent: l.discountPercent, discountAmount: l.discountAmount }));
}

/** The recurring prices of a version for an interval, in the catalog's order. */
export function intervalPrices(version: PlanVersion, interval: string) {
  return version.prices.filter((p) => p.interval === interval).sort((a, b) => a.position - b.position);
}

export async function pricingOf(ctx: Ctx, q: Pick<Quote, 'planVersionId' | 'interval' | 'quantity' | 'termMonths' | 'freeMonths' | 'discountType' | 'discountPercent' | 'discountAmount'>, terms: LineTerms[]) {
  const db = ctx.deps.database.db;
  const version = await getPlanVersion(db, ctx.workspaceId, q.planVersionId);
  const plan = await getPlan(db, ctx.workspaceId, version.planId);
  const pricing = priceQuote({
    prices: intervalPrices(version, q.interval).map((p) => ({ priceId: p.id, type: p.type, listUnitAmount: p.type === 'usage' ? null : (p.unitAmount ?? 0) })),
    quantity: q.quantity,
    interval: q.interval as 'month' | 'year',
    termMonths: q.termMonths,
    freeMonths: q.freeMonths,
    terms,
    discount: discountOf(q),
  });
  return { plan, version, pricing };
}

/** The account's running (trialing, active or past-due) subscription in this currency, newest first. */
export async function runningSubscription(ctx: Ctx, accountId: string, currency: string): Promise<Subscription | null> {
  const subs = await listSubscriptions(ctx, { limit: 50, accountId });
  return subs.find((s) => LIVE_STATUSES.includes(s.status) && s.currency === currency) ?? null;
}

/**
 * The contract acceptance would make now: with a running subscription, an amendment at its
 * current period end ("convert on renewal": nothing changes before that date); otherwise a new
 * subscription at the quote's start date (or at acceptance when that is past or unset).
 */
export async function contractFor(ctx: Ctx, q: Pick<Quote, 'accountId' | 'currency' | 'startDate'>): Promise<Contract> {
  const running = await runningSubscription(ctx, q.accountId, q.currency);
  if (running) {
    const start = running.currentPeriodEnd;
    return { type: 'amendment', subscription: running, start, anchorDay: running.anchorDay, startMismatch: q.startDate !== null && q.startDate.getTime() !== start.getTime() };
  }
  const start = q.startDate && q.startDate > ctx.asOf ? q.startDate : ctx.asOf;
  return { type: 'new_subscription', subscription: null, start, anchorDay: start.getUTCDate(), startMismatch: false };
}

export async function previewQuote(ctx: Ctx, q: Quote, lines: readonly QuoteLine[]): Promise<QuotePreview> {
  const { plan, version, pricing } = await pricingOf(ctx, q, termsOf(lines));
  const contract = await contractFor(ctx, q);
  const priced = await pricedPlan(ctx.deps.database.db, ctx.workspaceId, { planVersionId: q.planVersionId, interval: q.interval as 'month' | 'year', quantity: q.quantity, overrides: pricing.overrides });
  const period = periodFrom(contract.start, q.interval as 'month' | 'year', contract.anchorDay);
  const invoiceLines = advanceLines(priced.items, period, priced.planName);
  const balance = await accountCreditBalance(ctx, q.accountId, q.currency);
  const t = totals(invoiceLines, pricing.freeMonthsCredit + balance);
  return {
    plan,
    version,
    pricing,
    contract,
    firstInvoice: {
      periodStart: period.start,
      periodEnd: period.end,
      lines: invoiceLines,
      subtotal: t.subtotal,
      balanceApplied: t.balanceApplied,
      total: t.total,
      amountDue: t.amountDue,
      collectionMethod: q.collectionMethod,
      dueDate: q.collectionMethod === 'send_invoice' ? addDays(period.start, q.daysUntilDue ?? 30) : period.start,
      planName: priced.planName,
    },
  };
}

import type { Ctx, Db } from '../../context.ts';
import { enqueue } from '../../jobs/queue.ts';
import { publish } from '../../jobs/outbox.ts';
import { AppError, notFound } from '../../kernel/errors.ts';
import { changeSubscription, createSubscription, getSubscription, issueCreditNote, OPEN_STATUSES } from '../billing/index.ts';
import { createPaymentMethod, getDefaultPaymentMethod, type CardInput } from '../payments/index.ts';
import { recordAudit } from '../workspaces/index.ts';
import { previewQuote } from './preview.service.ts';
import * as repo from './quotes.repo.ts';
import { assertQuoteTransition, type Quote } from './quotes.ts';
import { inTransaction } from './transaction-ctx.ts';
import { expireNow } from './transitions.service.ts';
import { previewView, quoteSnapshot } from './views.ts';

export interface AcceptanceInput {
  name: string;
  title: string;
  ip: string | null;
  userAgent?: string | null;
  /** 'page' (the buyer on the share page) or 'api' (sales recording a signed order form). */
  via: 'page' | 'api';
  /** For card terms when the account has no card on file. */
  card?: CardInput | null;
}

const FREE_MONTHS_JOB = 'quotes.free_months';

function signature(v: string, param: string): string {
  const s = v.trim();
  if (s.length < 2 || s.length > 200) throw new AppError({ code: 'parameter_invalid', message: `Type your ${param} (2 to 200 characters) to accept.`, param });
  return s;
}

/**
 * sent → accepted → converted, in ONE transaction: the acceptance (name, title, time, IP) and
 * the first invoice as quoted are recorded, then the quote becomes billing:
 * - the account has a running subscription → an amendment scheduled at its current period end
 *   (billing's `effective: 'period_end'` change: plan, interval, seats, negotiated prices as
 *   price overrides, collection method and Net terms). Nothing changes before that instant; the
 *   renewal applies it and bills the first period on the quoted terms.
 * - otherwise → a new subscription starting at the contract start (billing's `startDate`: it
 *   waits `scheduled` and bills nothing before then), or now.
 * Free months become a credit note to the account's balance just before the contract starts
 * (now, for a subscription that starts now), which the first invoice consumes.
 */
export async function acceptQuote(ctx: Ctx, id: string, input: AcceptanceInput): Promise<Quote> {
  const name = signature(input.name, 'name');
  const title = signature(input.title, 'title');
  const db = ctx.deps.database.db;
  const found = await repo.findQuote(db, ctx.workspaceId, id);
  if (!found) throw notFound('quote', id);
  if (found.status === 'sent' && ctx.asOf >= found.expiresAt) {
    await expireNow(ctx, id);
    throw new AppError({ code: 'quote_expired', message: `Quote ${found.number} expired at ${found.expiresAt.toISOString()}.` });
  }
  return db.transaction(async (tx) => {
    const b = inTransaction(ctx, tx);
    const q = (await repo.findQuote(tx, ctx.workspaceId, id, { forUpdate: true }))!;
    assertQuoteTransition(q, 'accepted', 'accepted');
    const preview = await previewQuote(b, q, await repo.linesOf(tx, ctx.workspaceId, id));
    const { contract, pricing } = preview;
    if (contract.startMismatch) {
      throw new AppError({ code: 'quote_start_mismatch', message: `The running subscription renews on ${contract.start.toISOString()}; this quote starts on ${q.startDate?.toISOString()}. Ask for an updated quote.`, param: 'start_date' });
    }
    const acceptance = { name, title, ip: input.ip, user_agent: input.userAgent ?? null, accepted_at: ctx.asOf.toISOString(), via: input.via, actor_type: ctx.actor.type, actor_id: ctx.actor.id ?? null };
    const accepted = await repo.updateQuote(tx, ctx.workspaceId, id, { status: 'accepted', acceptedAt: ctx.asOf, acceptance, acceptedPreview: previewView(preview), updatedAt: ctx.asOf });
    await recordAudit(tx, ctx, { action: 'quote.accepted', entityType: 'quote', entityId: id, before: quoteSnapshot(q), after: { ...quoteSnapshot(accepted), acceptance } });
    await publish(tx, ctx, 'quote.accepted', { quote: quoteSnapshot(accepted), acceptance });

    const credit = pricing.freeMonthsCredit;
    const creditJob = (subscriptionId: string) =>
      // One millisecond before the contract starts: due before billing's renewal/start at that instant.
      enqueue(tx, { workspaceId: ctx.workspaceId, kind: FREE_MONTHS_JOB, runAt: new Date(contract.start.getTime() - 1), payload: { quote_id: id, subscription_id: subscriptionId, amount: credit }, dedupeKey: `quote-free-months:${id}`, asOf: ctx.asOf });
    let subscriptionId: string;
    if (contract.type === 'amendment') {
      const sub = contract.subscription!;
      await changeSubscription(b, sub.id, {
        plan: q.planId,
        planVersionIdRef: q.planVersionId,
        interval: q.interval as 'month' | 'year',
        quantity: q.quantity,
        collectionMethod: q.collectionMethod as 'charge_automatically' | 'send_invoice',
        daysUntilDue: q.daysUntilDue,
        priceOverrides: pricing.overrides,
        effective: 'period_end',
        ...(sub.cancelAtPeriodEnd ? { cancelAtPeriodEnd: false } : {}),
      });
      if (credit > 0) await creditJob(sub.id);
      subscriptionId = sub.id;
    } else {
      const immediate = contract.start <= ctx.asOf;
      let paymentMethodId: string | null = null;
      if (q.collectionMethod === 'charge_automatically') {
        const onFile = await getDefaultPaymentMethod(tx, ctx.workspaceId, q.accountId);
        if (onFile) paymentMethodId = onFile.id;
        else if (input.card) paymentMethodId = (await createPaymentMethod(b, { account: q.accountId, type: 'card', card: input.card, default: true })).id;
        else throw new AppError({ code: 'parameter_missing', message: 'This quote is paid by card and the account has no card on file: enter a card to accept.', param: 'card' });
      }
      if (credit > 0 && immediate) await grantFreeMonths(tx, b, q, null, credit);
      const sub = await createSubscription(b, {
        accountId: q.accountId,
        plan: q.planId,
        planVersionId: q.planVersionId,
        interval: q.interval as 'month' | 'year',
        quantity: q.quantity,
        collectionMethod: q.collectionMethod as 'charge_automatically' | 'send_invoice',
        daysUntilDue: q.daysUntilDue,
        paymentMethodId,
        startDate: immediate ? null : contract.start,
        priceOverrides: pricing.overrides,
        metadata: { quote: q.id, quote_number: q.number },
      });
      if (credit > 0 && !immediate) await creditJob(sub.id);
      subscriptionId = sub.id;
    }
    const converted = await repo.updateQuote(tx, ctx.workspaceId, id, {
      status: 'converted',
      convertedAt: ctx.asOf,
      subscriptionId,
      conversionType: contract.type,
      contractStart: contract.start,
      updatedAt: ctx.asOf,
    });
    const conversion = { type: contract.type, subscription: subscriptionId, contract_start: contract.start.toISOString(), price_overrides: pricing.overrides, free_months_credit: credit };
    await recordAudit(tx, ctx, { action: 'quote.converted', entityType: 'quote', entityId: id, before: quoteSnapshot(accepted), after: { ...quoteSnapshot(converted), conversion } });
    await publish(tx, ctx, 'quote.converted', { quote: quoteSnapshot(converted), conversion });
    return converted;
  });
}

async function grantFreeMonths(tx: Db, ctx: Ctx, q: Quote, subscriptionId: string | null, amount: number) {
  await issueCreditNote(tx, ctx, {
    invoiceId: null,
    accountId: q.accountId,
    subscriptionId,
    currency: q.currency,
    amount,
    reason: 'other',
    memo: `${q.freeMonths} free month${q.freeMonths === 1 ? '' : 's'} (quote ${q.number})`,
    sourceKey: `quote:${q.id}:free_months`,
  });
}

/** Job `quotes.free_months`, due just before the contract start: the free months' credit note. */
export async function applyFreeMonths(tx: Db, ctx: Ctx, payload: Record<string, unknown>): Promise<boolean> {
  const q = await repo.findQuote(tx, ctx.workspaceId, String(payload.quote_id));
  if (!q || q.status !== 'converted') return false;
  const sub = await getSubscription(inTransaction(ctx, tx), String(payload.subscription_id)).catch(() => null);
  if (!sub || !OPEN_STATUSES.includes(sub.status)) return false;
  await grantFreeMonths(tx, ctx, q, sub.id, Number(payload.amount));
  return true;
}

export const FREE_MONTHS_JOB_KIND = FREE_MONTHS_JOB;

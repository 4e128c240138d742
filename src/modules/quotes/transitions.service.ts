import type { Ctx, Db } from '../../context.ts';
import { publish } from '../../jobs/outbox.ts';
import { AppError, notFound } from '../../kernel/errors.ts';
import { recordAudit } from '../workspaces/index.ts';
import { approvalReasons } from './compute/pricing.ts';
import { contractFor, pricingOf, termsOf } from './preview.service.ts';
import * as repo from './quotes.repo.ts';
import { assertQuoteTransition, OPEN_QUOTE_STATUSES, type Quote, type QuoteStatus } from './quotes.ts';
import { rulesOf } from './settings.service.ts';
import { inTransaction } from './transaction-ctx.ts';
import { quoteSnapshot } from './views.ts';

/**
 * The quote state machine's moves (submit, approve, send, decline, expire). Each locks the
 * quote, checks the move is allowed from its current state (409 `state_conflict` otherwise),
 * writes, audits and publishes `quote.<status>` in one transaction.
 */
async function move(
  ctx: Ctx,
  id: string,
  run: (tx: Db, b: Ctx, q: Quote) => Promise<{ patch: Partial<Quote>; event: string; data?: Record<string, unknown> }>,
): Promise<Quote> {
  return ctx.deps.database.db.transaction(async (tx) => {
    const q = await repo.findQuote(tx, ctx.workspaceId, id, { forUpdate: true });
    if (!q) throw notFound('quote', id);
    const { patch, event, data } = await run(tx, inTransaction(ctx, tx), q);
    const after = await repo.updateQuote(tx, ctx.workspaceId, id, { ...patch, updatedAt: ctx.asOf });
    await recordAudit(tx, ctx, { action: event, entityType: 'quote', entityId: id, before: quoteSnapshot(q), after: { ...quoteSnapshot(after), ...(data ?? {}) } });
    await publish(tx, ctx, event, { quote: quoteSnapshot(after), ...(data ?? {}) });
    return after;
  });
}

function notExpired(q: Quote, ctx: Ctx) {
  if (ctx.asOf >= q.expiresAt) throw new AppError({ code: 'quote_expired', message: `Quote ${q.number} expired at ${q.expiresAt.toISOString()}.` });
}

/** draft → approved when no approval rule fires, else → pending_approval (reasons recorded). */
export function submitQuote(ctx: Ctx, id: string): Promise<Quote> {
  return move(ctx, id, async (tx, b, q) => {
    notExpired(q, ctx);
    const settings = await repo.ensureSettings(tx, ctx.workspaceId, ctx.asOf);
    const { pricing } = await pricingOf(b, q, termsOf(await repo.linesOf(tx, ctx.workspaceId, id)));
    const reasons = approvalReasons(pricing, q.currency, rulesOf(settings));
    const to: QuoteStatus = reasons.length ? 'pending_approval' : 'approved';
    assertQuoteTransition(q, to, 'submitted');
    const evidence = { effective_discount_percent: pricing.effectiveDiscountPercent, total_contract_value: pricing.totalContractValue, rules: rulesOf(settings) };
    if (to === 'approved') {
      return {
        patch: { status: to, approvalReasons: [], submittedAt: ctx.asOf, approvedAt: ctx.asOf, approval: { automatic: true, approved_at: ctx.asOf.toISOString(), ...evidence } },
        event: 'quote.approved',
        data: { automatic: true },
      };
    }
    return { patch: { status: to, approvalReasons: reasons, submittedAt: ctx.asOf }, event: 'quote.submitted', data: { approval_reasons: reasons, approver_role: settings.approverRole, ...evidence } };
  });
}

/**
 * pending_approval → approved, by someone holding the approver role the rules name. Who: the
 * API key (actor) that called, the role and name it states; all recorded on the quote.
 */
export function approveQuote(ctx: Ctx, id: string, input: { role: string; name?: string | null; note?: string | null }): Promise<Quote> {
  return move(ctx, id, async (tx, _b, q) => {
    // draft → approved is submission without a rule firing; approving is for pending quotes only.
    if (q.status !== 'pending_approval') throw new AppError({ code: 'state_conflict', message: `Quote ${q.id} is ${q.status}; only a quote pending approval can be approved.` });
    notExpired(q, ctx);
    const settings = await repo.ensureSettings(tx, ctx.workspaceId, ctx.asOf);
    if (input.role !== settings.approverRole) {
      throw new AppError({ code: 'approval_role_required', message: `Quote ${q.number} needs approval by role '${settings.approverRole}'; '${input.role}' cannot approve it.`, param: 'role' });
    }
    const approval = { automatic: false, actor_type: ctx.actor.type, actor_id: ctx.actor.id ?? null, role: input.role, name: input.name ?? null, note: input.note ?? null, approved_at: ctx.asOf.toISOString(), reasons: q.approvalReasons };
    return { patch: { status: 'approved', approvedAt: ctx.asOf, approval }, event: 'quote.approved', data: { approval } };
  });
}

/** approved → sent: the share link works from now until the quote expires. */
export function sendQuote(ctx: Ctx, id: string): Promise<Quote> {
  return move(ctx, id, async (_tx, b, q) => {
    assertQuoteTransition(q, 'sent', 'sent');
    notExpired(q, ctx);
    const contract = await contractFor(b, q);
    if (contract.startMismatch) {
      throw new AppError({
        code: 'quote_start_mismatch',
        message: `Account ${q.accountId} has a running subscription that renews on ${contract.start.toISOString()}: a quote for it starts then (convert on renewal). Clear start_date or set it to that instant.`,
        param: 'start_date',
      });
    }
    return { patch: { status: 'sent', sentAt: ctx.asOf }, event: 'quote.sent' };
  });
}

/** sent → declined (by the buyer on the page, or recorded by sales). */
export function declineQuote(ctx: Ctx, id: string, input: { reason?: string | null }): Promise<Quote> {
  return move(ctx, id, async (_tx, _b, q) => {
    assertQuoteTransition(q, 'declined', 'declined');
    return { patch: { status: 'declined', declinedAt: ctx.asOf, declineReason: input.reason ?? null }, event: 'quote.declined', data: { reason: input.reason ?? null } };
  });
}

/** The `quotes.expire` job at `expires_at` (workspace clock): an open quote past its expiry is expired. */
export async function expireQuote(tx: Db, ctx: Ctx, id: string): Promise<boolean> {
  const q = await repo.findQuote(tx, ctx.workspaceId, id, { forUpdate: true });
  if (!q || !OPEN_QUOTE_STATUSES.includes(q.status as QuoteStatus) || q.expiresAt > ctx.asOf) return false;
  const after = await repo.updateQuote(tx, ctx.workspaceId, id, { status: 'expired', expiredAt: ctx.asOf, updatedAt: ctx.asOf });
  await recordAudit(tx, ctx, { action: 'quote.expired', entityType: 'quote', entityId: id, before: quoteSnapshot(q), after: quoteSnapshot(after) });
  await publish(tx, ctx, 'quote.expired', { quote: quoteSnapshot(after), previous_status: q.status });
  return true;
}

/** Expires a quote found past its expiry before its job ran (acceptance arrives first); commits on its own. */
export async function expireNow(ctx: Ctx, id: string): Promise<boolean> {
  return ctx.deps.database.db.transaction((tx) => expireQuote(tx, ctx, id));
}

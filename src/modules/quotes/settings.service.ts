import type { Ctx, Deps } from '../../context.ts';
import { isCurrency } from '../../kernel/currency.ts';
import { dec, isDecimalString } from '../../kernel/decimal.ts';
import { AppError } from '../../kernel/errors.ts';
import { getWorkspace, recordAudit, workspaceNow } from '../workspaces/index.ts';
import * as repo from './quotes.repo.ts';
import type { Quote, QuoteSettings } from './quotes.ts';
import { linkToken, macMatches, parseLinkToken } from './tokens.ts';

/** Approval rules per workspace, and the signed share links of quotes. */
export interface ApprovalRules {
  maxDiscountPercent: string;
  tcvThreshold: number;
  currency: string;
  approverRole: string;
  defaultExpiryDays: number;
}

export function rulesOf(s: QuoteSettings): ApprovalRules {
  return { maxDiscountPercent: s.maxDiscountPercent, tcvThreshold: s.tcvThreshold, currency: s.currency, approverRole: s.approverRole, defaultExpiryDays: s.defaultExpiryDays };
}

export async function getApprovalRules(ctx: Ctx): Promise<ApprovalRules> {
  const found = await repo.findSettings(ctx.deps.database.db, ctx.workspaceId);
  if (found) return rulesOf(found);
  return ctx.deps.database.db.transaction(async (tx) => rulesOf(await repo.ensureSettings(tx, ctx.workspaceId, ctx.asOf)));
}

export async function updateApprovalRules(ctx: Ctx, patch: Partial<ApprovalRules>): Promise<ApprovalRules> {
  if (patch.maxDiscountPercent !== undefined && (!isDecimalString(patch.maxDiscountPercent) || dec(patch.maxDiscountPercent).lt(0) || dec(patch.maxDiscountPercent).gt(100))) {
    throw new AppError({ code: 'parameter_invalid', message: 'max_discount_percent is a decimal string from "0" to "100".', param: 'max_discount_percent' });
  }
  if (patch.currency !== undefined && !isCurrency(patch.currency.toLowerCase())) throw new AppError({ code: 'currency_unknown', param: 'total_contract_value_threshold.currency' });
  if (patch.approverRole !== undefined && !/^[a-z][a-z0-9_]{0,63}$/.test(patch.approverRole)) {
    throw new AppError({ code: 'parameter_invalid', message: 'approver_role is a snake_case role name such as sales_manager.', param: 'approver_role' });
  }
  return ctx.deps.database.db.transaction(async (tx) => {
    const before = await repo.ensureSettings(tx, ctx.workspaceId, ctx.asOf);
    const after = await repo.updateSettings(tx, ctx.workspaceId, {
      ...(patch.maxDiscountPercent !== undefined ? { maxDiscountPercent: patch.maxDiscountPercent } : {}),
      ...(patch.tcvThreshold !== undefined ? { tcvThreshold: patch.tcvThreshold } : {}),
      ...(patch.currency !== undefined ? { currency: patch.currency.toLowerCase() } : {}),
      ...(patch.approverRole !== undefined ? { approverRole: patch.approverRole } : {}),
      ...(patch.defaultExpiryDays !== undefined ? { defaultExpiryDays: patch.defaultExpiryDays } : {}),
      updatedAt: ctx.asOf,
    });
    await recordAudit(tx, ctx, { action: 'quote_approval_rules.updated', entityType: 'quote_approval_rules', entityId: ctx.workspaceId, before: rulesOf(before), after: rulesOf(after) });
    return rulesOf(after);
  });
}

/** The token of a quote's share page `/quotes/view/<token>`. */
export async function quoteShareToken(ctx: Ctx, quoteId: string): Promise<string> {
  const s = (await repo.findSettings(ctx.deps.database.db, ctx.workspaceId)) ?? (await ctx.deps.database.db.transaction((tx) => repo.ensureSettings(tx, ctx.workspaceId, ctx.asOf)));
  return linkToken(s.tokenSecret, 'quote', quoteId);
}

/**
 * The quote a share token opens, with a context on its workspace's clock; null for anything
 * that is not a valid token (the page answers 404, never telling which part was wrong).
 */
export async function openSharedQuote(deps: Deps, token: string): Promise<{ quote: Quote; ctx: Ctx } | null> {
  const parsed = parseLinkToken(token);
  if (!parsed || !parsed.id.startsWith('quo_')) return null;
  const quote = await repo.findQuoteAnyWorkspace(deps.database.db, parsed.id);
  if (!quote) return null;
  const settings = await repo.findSettings(deps.database.db, quote.workspaceId);
  if (!settings || !macMatches(settings.tokenSecret, 'quote', quote.id, parsed.mac)) return null;
  const ws = await getWorkspace(deps, quote.workspaceId);
  const ctx: Ctx = { deps, workspaceId: ws.id, asOf: workspaceNow(ws, deps.clock.now()), actor: { type: 'system', id: 'quote_page' } };
  return { quote, ctx };
}

import type { Ctx } from '../../context.ts';
import { isCurrency } from '../../kernel/currency.ts';
import { dec, isDecimalString } from '../../kernel/decimal.ts';
import { AppError } from '../../kernel/errors.ts';
import { MOTIONS, type Motion } from '../catalog/index.ts';
import { recordAudit } from '../workspaces/index.ts';
import * as repo from './checkout.repo.ts';
import { DEFAULT_UPGRADE_POLICY, type UpgradePolicy } from './checkout.ts';

/** The workspace's upgrade policy (GET/POST /v1/upgrade_policy); the defaults until one is saved. */
function fromRow(r: repo.PolicyRow): UpgradePolicy {
  return {
    largeUpgradeArrThreshold: { amount: r.largeUpgradeArrThreshold, currency: r.currency },
    annualCommitmentDiscountPercent: r.annualCommitmentDiscountPercent,
    netTermsAllowedMotions: r.netTermsAllowedMotions as Motion[],
    cardAllowedMotions: r.cardAllowedMotions as Motion[],
    netTermsDays: r.netTermsDays,
  };
}

export async function getUpgradePolicy(ctx: Ctx): Promise<UpgradePolicy> {
  const row = await repo.findPolicy(ctx.deps.database.db, ctx.workspaceId);
  return row ? fromRow(row) : DEFAULT_UPGRADE_POLICY;
}

function motions(list: string[], param: string): Motion[] {
  for (const m of list) if (!MOTIONS.includes(m as Motion)) throw new AppError({ code: 'parameter_invalid', message: `'${m}' is not a motion (${MOTIONS.join(', ')}).`, param });
  return [...new Set(list)] as Motion[];
}

export async function updateUpgradePolicy(ctx: Ctx, patch: Partial<UpgradePolicy>): Promise<UpgradePolicy> {
  const current = await getUpgradePolicy(ctx);
  const next: UpgradePolicy = { ...current, ...Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) };
  const t = next.largeUpgradeArrThreshold;
  if (!Number.isSafeInteger(t.amount) || t.amount < 0) throw new AppError({ code: 'amount_invalid', message: 'large_upgrade_arr_threshold.amount is an integer of minor units, 0 or more.', param: 'large_upgrade_arr_threshold.amount' });
  if (!isCurrency(t.currency.toLowerCase())) throw new AppError({ code: 'currency_unknown', param: 'large_upgrade_arr_threshold.currency' });
  const d = next.annualCommitmentDiscountPercent;
  if (!isDecimalString(d) || dec(d).lt(0) || dec(d).gte(100) || dec(d).decimalPlaces() > 4) {
    throw new AppError({ code: 'parameter_invalid', message: 'annual_commitment_discount_percent is a decimal string from "0" to below "100" (e.g. "15").', param: 'annual_commitment_discount_percent' });
  }
  const netTermsAllowedMotions = motions(next.netTermsAllowedMotions, 'net_terms_allowed_motions');
  const cardAllowedMotions = motions(next.cardAllowedMotions, 'card_allowed_motions');
  for (const m of MOTIONS) {
    if (!netTermsAllowedMotions.includes(m) && !cardAllowedMotions.includes(m)) {
      throw new AppError({ code: 'parameter_invalid', message: `Customers on ${m} plans would have no way to pay: allow card or Net terms for it.`, param: 'card_allowed_motions' });
    }
  }
  if (!next.netTermsDays.length || next.netTermsDays.some((n) => !Number.isInteger(n) || n < 1 || n > 365)) {
    throw new AppError({ code: 'parameter_invalid', message: 'net_terms_days lists Net terms in days, 1 to 365 (e.g. [30, 45, 60]).', param: 'net_terms_days' });
  }
  return ctx.deps.database.db.transaction(async (tx) => {
    const saved = await repo.upsertPolicy(tx, {
      workspaceId: ctx.workspaceId,
      largeUpgradeArrThreshold: t.amount,
      currency: t.currency.toLowerCase(),
      annualCommitmentDiscountPercent: dec(d).toString(),
      netTermsAllowedMotions,
      cardAllowedMotions,
      netTermsDays: [...new Set(next.netTermsDays)].sort((a, b) => a - b),
      updatedAt: ctx.asOf,
    });
    const after = fromRow(saved);
    await recordAudit(tx, ctx, { action: 'upgrade_policy.updated', entityType: 'upgrade_policy', entityId: ctx.workspaceId, before: policyView(current), after: policyView(after) });
    return after;
  });
}

export function policyView(p: UpgradePolicy) {
  return {
    object: 'upgrade_policy' as const,
    large_upgrade_arr_threshold: p.largeUpgradeArrThreshold,
    annual_commitment_discount_percent: p.annualCommitmentDiscountPercent,
    net_terms_allowed_motions: p.netTermsAllowedMotions,
    card_allowed_motions: p.cardAllowedMotions,
    net_terms_days: p.netTermsDays,
  };
}

/** How a plan of this motion may be paid under the policy. */
export function paymentOptions(p: UpgradePolicy, motion: Motion): { card: boolean; invoice: boolean; netTermsDays: number[] } {
  return { card: p.cardAllowedMotions.includes(motion), invoice: p.netTermsAllowedMotions.includes(motion), netTermsDays: p.netTermsDays };
}

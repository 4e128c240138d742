import { dec, Decimal, roundToInteger } from '../../../kernel/decimal.ts';
import { format, money } from '../../../kernel/money.ts';

/**
 * The pricing ladder: plans ordered by what they typically cost per month, with the "dead
 * zones" flagged — adjacent paid plans whose typical price jumps by more than `factor`.
 * A self-serve ladder that tops out at $50/month next to a $5,000/month sales plan loses every
 * customer who would pay $500 (PRODUCT.md, "a pricing ladder without dead zones").
 *
 * Default factor 5 (the billing issue's default; configurable per request with `factor`): a jump
 * of more than 5x between adjacent paid plans is flagged — $50 → $5,000 (100x) with the fix "add
 * a plan around $500", and Pro $199 → Business $1,500 (7.5x) too, while Pro $199 → Business $900
 * (4.5x) is clean.
 */
export const DEFAULT_DEAD_ZONE_FACTOR = '5';

export interface LadderRung {
  planId: string;
  key: string;
  name: string;
  /** Typical monthly amount in minor units; null for custom-priced plans (no prices, no estimate). */
  amount: number | null;
}

export interface DeadZone {
  fromPlan: string;
  toPlan: string;
  /** to / from, two decimals, half_up: "100.00". */
  ratio: string;
  /** Geometric mean of the two amounts, to 2 significant digits: where a missing plan would sit. */
  suggestedAmount: number;
  message: string;
}

/** Cheapest first; equal amounts by key; custom-priced plans (null) last. */
export function orderLadder<T extends LadderRung>(rungs: readonly T[]): T[] {
  return [...rungs].sort((a, b) => {
    if (a.amount === null || b.amount === null) return a.amount === b.amount ? a.key.localeCompare(b.key) : a.amount === null ? 1 : -1;
    return a.amount - b.amount || a.key.localeCompare(b.key);
  });
}

/** "100.00" from 100; "7.54" from 7.5376…: the ratio rounded once to 2 decimals, printed without floats. */
export function ratioString(to: number, from: number): string {
  const hundredths = roundToInteger(dec(to).times(100).dividedBy(from), 'half_up');
  const whole = Math.floor(hundredths / 100);
  return `${whole}.${String(hundredths % 100).padStart(2, '0')}`;
}

/** "$5,000" for whole major units, "$49.50" otherwise. */
function short(amount: number, currency: string): string {
  return format(money(amount, currency)).replace(/\.0+(?!\d)/, '');
}

/**
 * Adjacent priced rungs (already ordered) whose ratio exceeds `factor`. A free plan (0) is not
 * compared: any paid plan is an infinite multiple of free, and free → paid is the normal first
 * step. Example, $50 → $5,000 with factor 10: ratio "100.00" > 10, suggested
 * √(5,000 × 500,000) = 50,000 minor units → "add a plan around $500/month".
 */
export function findDeadZones(ordered: readonly LadderRung[], opts: { factor: string; currency: string }): DeadZone[] {
  const factor = dec(opts.factor);
  const priced = ordered.filter((r): r is LadderRung & { amount: number } => r.amount !== null && r.amount > 0);
  const zones: DeadZone[] = [];
  for (let i = 1; i < priced.length; i++) {
    const from = priced[i - 1];
    const to = priced[i];
    const exact = dec(to.amount).dividedBy(from.amount);
    if (!exact.greaterThan(factor)) continue;
    const ratio = ratioString(to.amount, from.amount);
    const mean = dec(from.amount).times(to.amount).sqrt().toSignificantDigits(2, Decimal.ROUND_HALF_UP);
    const suggestedAmount = roundToInteger(mean, 'half_up');
    const shown = ratio.replace(/\.00$/, '');
    zones.push({
      fromPlan: from.planId,
      toPlan: to.planId,
      ratio,
      suggestedAmount,
      message:
        `${to.name} follows ${from.name}: ${short(from.amount, opts.currency)}/month → ${short(to.amount, opts.currency)}/month is a ${shown}x jump; ` +
        `add a plan around ${short(suggestedAmount, opts.currency)}/month`,
    });
  }
  return zones;
}

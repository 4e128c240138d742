import { dec, roundToInteger, type Decimal } from '../../../kernel/decimal.ts';
import type { Period } from './periods.ts';

/**
 * Proration by the second, like Stripe: the share of a period that remains from `at` to its
 * end, as an exact fraction, applied to an integer amount and rounded once (half_up).
 *
 * Worked example: Pro at $199.00 (19,900¢) monthly, period [2026-03-01, 2026-04-01) = 31 days.
 * An upgrade on 2026-03-17T00:00Z leaves 15 of 31 days:
 *   credit for unused Pro = −19,900 × 15/31 = −9,629.03… → −9,629¢
 *   charge for Business  =  150,000 × 15/31 = 72,580.64… → 72,581¢
 * net = 62,952¢ ($629.52), and each line is exactly what the customer sees.
 */
export const PRORATION_ROUNDING = 'half_up' as const;

export function remainingFraction(period: Period, at: Date): Decimal {
  const total = period.end.getTime() - period.start.getTime();
  if (total <= 0) throw new Error('empty period');
  const left = Math.min(Math.max(period.end.getTime() - at.getTime(), 0), total);
  return dec(left).dividedBy(total);
}

/** `amountMinor` × the remaining fraction of `period` at `at`, rounded once. */
export function prorate(amountMinor: number, period: Period, at: Date): number {
  return roundToInteger(dec(amountMinor).times(remainingFraction(period, at)), PRORATION_ROUNDING);
}

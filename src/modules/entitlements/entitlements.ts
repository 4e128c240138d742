import { addMonths } from '../../kernel/dates.ts';

/** The answer to "may account A use feature F, and how much is left?". */
export interface EntitlementCheck {
  account: string;
  feature: string;
  allowed: boolean;
  type: 'boolean' | 'limit' | null;
  /** Allowance for the period; null = unlimited (or not a limit feature). */
  limit: number | null;
  /** Usage counted against the limit in the period (decimal string); null when nothing meters it. */
  used: string | null;
  remaining: string | null;
  /** Percent of the limit used (2 decimals, string), null without a finite limit and a meter. */
  percent_used: string | null;
  period: { start: string; end: string } | null;
  subscription: string | null;
  plan: string | null;
  /** Why not allowed (or a note): no_active_subscription, not_in_plan, feature_disabled, limit_reached, no_meter. */
  reason: string | null;
}

/**
 * The window a limit counts over, for a subscription anchored on `anchorDay`:
 * - 'month': the monthly window containing `asOf` (an annual subscription anchored on Jan 15 counts
 *   Mar 15 – Apr 15 in late March);
 * - 'year': the subscription's period when annual, else the 12 months ending at the period end;
 * - 'none': since the subscription started.
 */
export function limitWindow(
  period: 'month' | 'year' | 'none' | null,
  sub: { interval: 'month' | 'year'; anchorDay: number; currentPeriodStart: Date; currentPeriodEnd: Date; createdAt: Date },
  asOf: Date,
): { start: Date; end: Date } {
  if (period === 'none') return { start: sub.createdAt, end: new Date(Math.max(asOf.getTime() + 1, sub.currentPeriodEnd.getTime())) };
  if (period === 'year') {
    if (sub.interval === 'year') return { start: sub.currentPeriodStart, end: sub.currentPeriodEnd };
    return { start: addMonths(sub.currentPeriodEnd, -12, sub.anchorDay), end: sub.currentPeriodEnd };
  }
  if (sub.interval === 'month') return { start: sub.currentPeriodStart, end: sub.currentPeriodEnd };
  let start = sub.currentPeriodStart;
  for (let k = 1; k <= 12; k++) {
    const next = addMonths(sub.currentPeriodStart, k, sub.anchorDay);
    if (next > asOf) return { start, end: next };
    start = next;
  }
  return { start, end: sub.currentPeriodEnd };
}

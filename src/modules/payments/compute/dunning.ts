import { addDays } from '../../../kernel/dates.ts';
import type { AppErrorData } from '../../../kernel/errors.ts';
import { err, ok, type Result } from '../../../kernel/result.ts';

/**
 * Dunning: when to retry a failed automatic charge, and what to do when the retries run out.
 *
 * `retry_days` are calendar days on the workspace clock counted from the FIRST failure (as
 * Stripe's retry schedule and Lago count them), not from the previous retry, so a late or
 * replayed job never stretches the schedule. Retries keep the first failure's time of day.
 *
 * Worked example, default policy [1, 3, 5], the first charge (attempt 1) fails 2026-01-31T09:00Z:
 *   attempt 2 at 2026-02-01T09:00Z, attempt 3 at 2026-02-03T09:00Z, attempt 4 at 2026-02-05T09:00Z;
 *   when attempt 4 fails too → `final` (the policy's final action, e.g. past_due).
 */
export type DunningFinalAction = 'past_due' | 'cancel' | 'mark_unpaid';

export interface DunningPolicy<A extends string = DunningFinalAction> {
  retry_days: readonly number[];
  final_action: A;
}

export const DEFAULT_DUNNING_POLICY: DunningPolicy = { retry_days: [1, 3, 5], final_action: 'past_due' };

export const MAX_RETRIES = 12;
export const MAX_RETRY_DAY = 90;

export type DunningStep<A extends string = DunningFinalAction> =
  | { kind: 'retry'; attempt: number; at: Date }
  | { kind: 'final'; action: A; attempts: number };

/**
 * What follows the failure of attempt number `failedAttempt` (1 = the first charge).
 * After attempt n fails, attempt n + 1 runs at firstFailureAt + retry_days[n − 1] days, while
 * there are retry days left; otherwise the schedule is over.
 */
export function nextDunningStep<A extends string>(
  policy: DunningPolicy<A>,
  input: { failedAttempt: number; firstFailureAt: Date },
): DunningStep<A> {
  const n = input.failedAttempt;
  if (!Number.isInteger(n) || n < 1) throw new Error(`nextDunningStep(): failedAttempt must be an integer ≥ 1, got ${n}`);
  const days = policy.retry_days[n - 1];
  if (days === undefined) return { kind: 'final', action: policy.final_action, attempts: n };
  return { kind: 'retry', attempt: n + 1, at: addDays(input.firstFailureAt, days) };
}

/** The whole retry schedule after a first failure (for previews and invoice "next attempt" fields). */
export function dunningSchedule<A extends string>(policy: DunningPolicy<A>, firstFailureAt: Date): Array<{ attempt: number; at: Date }> {
  return policy.retry_days.map((days, i) => ({ attempt: i + 2, at: addDays(firstFailureAt, days) }));
}

/** Checks a policy from configuration: whole days, strictly increasing, 1…90, at most 12 retries. */
export function validateDunningPolicy<A extends string>(
  input: { retry_days?: readonly number[]; final_action: A },
  allowedActions: readonly A[],
): Result<DunningPolicy<A>, AppErrorData> {
  const retryDays = input.retry_days ?? DEFAULT_DUNNING_POLICY.retry_days;
  if (retryDays.length > MAX_RETRIES) {
    return err({ code: 'parameter_invalid', param: 'retry_days', message: `At most ${MAX_RETRIES} retries; got ${retryDays.length}.` });
  }
  for (let i = 0; i < retryDays.length; i++) {
    const d = retryDays[i];
    if (!Number.isInteger(d) || d < 1 || d > MAX_RETRY_DAY) {
      return err({ code: 'parameter_invalid', param: 'retry_days', message: `Retry days are whole days from 1 to ${MAX_RETRY_DAY}; got ${d}.` });
    }
    if (i > 0 && d <= retryDays[i - 1]) {
      return err({ code: 'parameter_invalid', param: 'retry_days', message: 'Retry days count from the first failure, so they must increase: e.g. [1, 3, 5].' });
    }
  }
  if (!allowedActions.includes(input.final_action)) {
    return err({ code: 'parameter_invalid', param: 'final_action', message: `final_action must be one of ${allowedActions.join(', ')}.` });
  }
  return ok({ retry_days: [...retryDays], final_action: input.final_action });
}

import { addMonths } from '../../../kernel/dates.ts';

export type Interval = 'month' | 'year';

/** A half-open billing period [start, end). */
export interface Period {
  start: Date;
  end: Date;
}

/**
 * The period that starts at `start` for a subscription anchored on `anchorDay`.
 * Monthly, anchored on the 31st: [Jan 31, Feb 29) in 2024, then [Feb 29, Mar 31), [Mar 31, Apr 30)…
 * Annual, anchored on Feb 29 2024: [2024-02-29, 2025-02-28), then [2025-02-28, 2026-02-28)… the
 * anchor day is kept (29) and clamped each year, so a leap year returns to Feb 29.
 */
export function periodFrom(start: Date, interval: Interval, anchorDay: number): Period {
  return { start, end: addMonths(start, interval === 'year' ? 12 : 1, anchorDay) };
}

export function periodMs(p: Period): number {
  return p.end.getTime() - p.start.getTime();
}

export function contains(p: Period, t: Date): boolean {
  return t.getTime() >= p.start.getTime() && t.getTime() < p.end.getTime();
}

export function periodLabel(p: Period): string {
  const f = (d: Date) => d.toISOString().slice(0, 10);
  // The end is exclusive; show the last day covered, as invoices do.
  return `${f(p.start)} – ${f(new Date(p.end.getTime() - 1))}`;
}

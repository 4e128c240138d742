import { priceForQuantity, type Price } from '../../catalog/index.ts';
import { periodLabel, type Period } from './periods.ts';
import { prorate } from './proration.ts';

/**
 * Pure invoice computation: the same function builds the real invoice, the upcoming-invoice
 * preview and (later) a quote's first invoice, so a preview always equals what is billed.
 *
 * Fees for a period are billed in advance (flat and per-seat prices, for the period that is
 * starting); usage in arrears (usage prices, for the period that ended). Every line carries a
 * `chargeKey`; the database refuses a second line with the same (subscription, chargeKey,
 * period start), which is what makes a period impossible to bill twice.
 */
export type LineKind = 'recurring' | 'usage' | 'proration' | 'minimum' | 'adjustment';

export interface ComputedLine {
  kind: LineKind;
  chargeKey: string;
  priceId: string | null;
  description: string;
  periodStart: Date;
  periodEnd: Date;
  /** Decimal string (usage can be fractional). */
  quantity: string;
  /** Minor units per unit, decimal string; null when the line is not unit-priced. */
  unitAmountDecimal: string | null;
  /** Integer minor units, rounded once. May be negative for credits. */
  amount: number;
}

export type ItemPrice = Pick<
  Price,
  'id' | 'type' | 'interval' | 'currency' | 'chargeModel' | 'unitAmount' | 'unitAmountDecimal' | 'tiers' | 'packageSize' | 'packageAmount' | 'minimumAmount' | 'billableMetricId' | 'nickname'
>;

export interface BillableItem {
  price: ItemPrice;
  /** Seats for per-seat prices; 1 for flat; ignored for usage. */
  quantity: number;
  /** A negotiated unit amount (quotes) replacing the price's for flat and per-seat prices. */
  unitAmountOverride?: number | null;
}

/** The recurring (in-advance) amount of an item for one full period. */
export function recurringAmount(item: BillableItem): { amount: number; quantity: number; unit: number } {
  const unit = item.unitAmountOverride ?? item.price.unitAmount ?? 0;
  const quantity = item.price.type === 'per_seat' ? item.quantity : 1;
  return { amount: unit * quantity, quantity, unit };
}

function describe(item: BillableItem, planName: string): string {
  const name = item.price.nickname ?? planName;
  if (item.price.type === 'per_seat') return `${name} — ${item.quantity} seat${item.quantity === 1 ? '' : 's'}`;
  if (item.price.type === 'usage') return `${name} — usage`;
  return name;
}

/** In-advance lines for flat and per-seat items over `period`. */
export function advanceLines(items: readonly BillableItem[], period: Period, planName: string): ComputedLine[] {
  const lines: ComputedLine[] = [];
  for (const item of items) {
    if (item.price.type === 'usage') continue;
    const r = recurringAmount(item);
    lines.push({
      kind: 'recurring',
      chargeKey: `price:${item.price.id}`,
      priceId: item.price.id,
      description: `${describe(item, planName)} (${periodLabel(period)})`,
      periodStart: period.start,
      periodEnd: period.end,
      quantity: String(r.quantity),
      unitAmountDecimal: String(r.unit),
      amount: r.amount,
    });
  }
  return lines;
}

/**
 * In-arrears lines for usage items over `period`, from the metered quantities by metric id.
 * A graduated price produces one invoice line with the tiered total; the tier breakdown is kept
 * in the description so the customer can check it.
 */
export function usageLines(items: readonly BillableItem[], period: Period, usageByMetric: ReadonlyMap<string, string>, planName: string): ComputedLine[] {
  const lines: ComputedLine[] = [];
  for (const item of items) {
    if (item.price.type !== 'usage') continue;
    const quantity = usageByMetric.get(item.price.billableMetricId ?? '') ?? '0';
    const computed = priceForQuantity(item.price, quantity);
    const breakdown = computed.lines.length > 1 ? ` [${computed.lines.map((l) => `${l.description}: ${l.amount}`).join('; ')}]` : '';
    lines.push({
      kind: 'usage',
      chargeKey: `usage:${item.price.id}`,
      priceId: item.price.id,
      description: `${describe(item, planName)} ${quantity} units (${periodLabel(period)})${breakdown}`,
      periodStart: period.start,
      periodEnd: period.end,
      quantity,
      unitAmountDecimal: item.price.chargeModel === 'per_unit' ? (item.price.unitAmountDecimal ?? String(item.price.unitAmount ?? 0)) : null,
      amount: computed.amount,
    });
  }
  return lines;
}

/**
 * Proration lines for a change at `at` inside `period`: a credit for the unused part of each
 * old recurring item and a charge for the rest of the period on each new one. `changeId`
 * keys the lines so the same change can never be prorated twice.
 */
export function prorationLines(input: {
  changeId: string;
  period: Period;
  at: Date;
  oldItems: readonly BillableItem[];
  newItems: readonly BillableItem[];
  oldPlanName: string;
  newPlanName: string;
}): ComputedLine[] {
  const { period, at } = input;
  const rest: Period = { start: at, end: period.end };
  const lines: ComputedLine[] = [];
  for (const item of input.oldItems) {
    if (item.price.type === 'usage') continue;
    const full = recurringAmount(item);
    const amount = -prorate(full.amount, period, at);
    if (amount === 0) continue;
    lines.push({
      kind: 'proration',
      chargeKey: `proration:${input.changeId}:credit:${item.price.id}`,
      priceId: item.price.id,
      description: `Unused time on ${describe(item, input.oldPlanName)} (${periodLabel(rest)})`,
      periodStart: rest.start,
      periodEnd: rest.end,
      quantity: String(full.quantity),
      unitAmountDecimal: null,
      amount,
    });
  }
  for (const item of input.newItems) {
    if (item.price.type === 'usage') continue;
    const full = recurringAmount(item);
    const amount = prorate(full.amount, period, at);
    if (amount === 0) continue;
    lines.push({
      kind: 'proration',
      chargeKey: `proration:${input.changeId}:charge:${item.price.id}`,
      priceId: item.price.id,
      description: `Remaining time on ${describe(item, input.newPlanName)} (${periodLabel(rest)})`,
      periodStart: rest.start,
      periodEnd: rest.end,
      quantity: String(full.quantity),
      unitAmountDecimal: null,
      amount,
    });
  }
  return lines;
}

export interface Totals {
  subtotal: number;
  /** Credit from the account's balance applied to this invoice (≥ 0). */
  balanceApplied: number;
  total: number;
  amountDue: number;
}

/** Totals are sums of rounded lines; an account credit balance reduces what is due, never below zero. */
export function totals(lines: readonly Pick<ComputedLine, 'amount'>[], creditBalance = 0): Totals {
  const subtotal = lines.reduce((s, l) => s + l.amount, 0);
  const balanceApplied = subtotal > 0 ? Math.min(creditBalance, subtotal) : 0;
  return { subtotal, balanceApplied, total: subtotal, amountDue: subtotal - balanceApplied };
}

import { dec, Decimal, isDecimalString, roundToInteger, type RoundingMode } from '../../../kernel/decimal.ts';
import { AppError } from '../../../kernel/errors.ts';
import type { Price, Tier } from '../catalog.ts';

/**
 * Pure pricing: what a price charges for a quantity in one period, as lines that an invoice can
 * show. Every line is rounded ONCE with `PRICE_ROUNDING` (half_up, away from zero on .5); the
 * total is the sum of the rounded lines, so an invoice that prints the lines always adds up.
 *
 * Rates are decimal strings in MINOR units (Stripe's `unit_amount_decimal`): "0.04" is four
 * hundredths of a cent. 12,345 API calls at "0.04" = 493.8 cents → half_up → 494 cents ($4.94).
 *
 * Zero usage: a graduated or volume price charges nothing at quantity 0 — no tier flat fee
 * either. A fee that applies whatever the usage is a flat price or a `minimum_amount`; the
 * minimum is a commitment and applies even at zero usage (otherwise it could be dodged by not
 * using the product).
 */
export const PRICE_ROUNDING: RoundingMode = 'half_up';

/** The fields of a price that determine its amount. */
export type PriceTerms = Pick<
  Price,
  'type' | 'currency' | 'chargeModel' | 'unitAmount' | 'unitAmountDecimal' | 'tiers' | 'packageSize' | 'packageAmount' | 'minimumAmount'
>;

export interface PriceLine {
  kind: 'flat' | 'unit' | 'tier' | 'package' | 'minimum';
  description: string;
  /** 1-based tier number for tier lines. */
  tier: number | null;
  /** Units this line charges for (decimal string); packages for `package` lines. */
  quantity: string;
  /** Minor units per unit (decimal string); null for flat, package and minimum lines. */
  unitAmountDecimal: string | null;
  /** A tier's flat fee included in `amount` (0 otherwise). */
  flatAmount: number;
  /** Integer minor units, rounded once. */
  amount: number;
}

export interface PriceComputation {
  /** Integer minor units: the sum of the lines' amounts. */
  amount: number;
  currency: string;
  quantity: string;
  lines: PriceLine[];
}

/** A quantity: a non-negative decimal string ("1234.5", a sum of a numeric property) or a safe integer. */
export function parseQuantity(quantity: string | number): Decimal {
  if (typeof quantity === 'string' && !isDecimalString(quantity)) {
    throw new AppError({ code: 'parameter_invalid', message: `Quantity '${quantity}' is not a decimal number.`, param: 'quantity' });
  }
  const q = dec(quantity); // numbers must be safe integers: decimals travel as strings
  if (q.isNegative()) throw new AppError({ code: 'parameter_invalid', message: `Quantity ${q.toString()} is negative.`, param: 'quantity' });
  return q;
}

const round = (v: Decimal): number => roundToInteger(v, PRICE_ROUNDING);
const str = (d: Decimal): string => d.toString();

/** The per-unit rate of a per_unit price: the decimal rate, else the integer unit amount. */
function perUnitRate(price: PriceTerms): Decimal {
  if (price.unitAmountDecimal !== null) return dec(price.unitAmountDecimal);
  if (price.unitAmount !== null) return dec(price.unitAmount);
  throw new Error('per_unit price without a unit amount');
}

/**
 * The amount of `price` for `quantity` units (seats for per_seat, the metric's aggregate for
 * usage). A flat price does not depend on the quantity: it charges its `unit_amount` once.
 */
export function priceForQuantity(price: PriceTerms, quantity: string | number): PriceComputation {
  const q = parseQuantity(quantity);
  if (price.type === 'per_seat' && !q.isInteger()) {
    throw new AppError({ code: 'parameter_invalid', message: `A seat quantity is a whole number; got ${q.toString()}.`, param: 'quantity' });
  }
  let lines: PriceLine[];
  if (price.type === 'flat') {
    lines = [{ kind: 'flat', description: 'Flat fee', tier: null, quantity: '1', unitAmountDecimal: null, flatAmount: 0, amount: price.unitAmount ?? 0 }];
  } else {
    switch (price.chargeModel) {
      case 'per_unit':
        lines = perUnit(perUnitRate(price), q);
        break;
      case 'graduated':
        lines = graduated(price.tiers, q);
        break;
      case 'volume':
        lines = volume(price.tiers, q);
        break;
      case 'package':
        lines = packaged(price.packageSize, price.packageAmount, q);
        break;
      default:
        throw new Error(`price without a charge model: ${String(price.chargeModel)}`);
    }
  }
  const subtotal = lines.reduce((s, l) => s + l.amount, 0);
  if (price.minimumAmount !== null && subtotal < price.minimumAmount) {
    // Top-up line: computed 300, minimum 1,000 → a 700 "minimum" line, total 1,000.
    const topUp = price.minimumAmount - subtotal;
    lines.push({ kind: 'minimum', description: 'Minimum charge adjustment', tier: null, quantity: '1', unitAmountDecimal: null, flatAmount: 0, amount: topUp });
  }
  const amount = lines.reduce((s, l) => s + l.amount, 0);
  if (!Number.isSafeInteger(amount)) throw new Error(`amount ${amount} exceeds the safe integer range`);
  return { amount, currency: price.currency, quantity: str(q), lines };
}

/** quantity × rate, rounded once: 12,345 × "0.04" = 493.8 → 494. Quantity 0 → no line. */
function perUnit(rate: Decimal, q: Decimal): PriceLine[] {
  if (q.isZero()) return [];
  return [{ kind: 'unit', description: `${str(q)} × ${str(rate)}`, tier: null, quantity: str(q), unitAmountDecimal: str(rate), flatAmount: 0, amount: round(q.times(rate)) }];
}

/**
 * Graduated: each tier prices its own slice of the quantity, plus its flat fee when the quantity
 * reaches into it. `up_to` is inclusive. Example, tiers [1–1,000 at 0; 1,001–10,000 at "0.5";
 * 10,001+ at "0.4"] and 12,345 units:
 *   tier 1: 1,000 × 0   = 0
 *   tier 2: 9,000 × 0.5 = 4,500
 *   tier 3: 2,345 × 0.4 = 938
 *   total 5,438 minor units ($54.38).
 * Exactly 1,000 units stay in tier 1 (0); 1,001 reach tier 2 (1 × 0.5 = 0.5 → 1 cent, plus its flat fee).
 */
function graduated(tiers: readonly Tier[], q: Decimal): PriceLine[] {
  const lines: PriceLine[] = [];
  let floor = dec(0);
  for (let i = 0; i < tiers.length; i++) {
    if (q.lte(floor)) break; // the quantity does not reach into this tier
    const t = tiers[i];
    const top = t.upTo === null || q.lt(t.upTo) ? q : dec(t.upTo);
    const slice = top.minus(floor);
    const rate = dec(t.unitAmountDecimal);
    lines.push({
      kind: 'tier',
      description: `Tier ${i + 1} (${str(floor.plus(1))}–${t.upTo === null ? '∞' : t.upTo})`,
      tier: i + 1,
      quantity: str(slice),
      unitAmountDecimal: str(rate),
      flatAmount: t.flatAmount,
      amount: round(slice.times(rate)) + t.flatAmount,
    });
    if (t.upTo === null) break;
    floor = dec(t.upTo);
  }
  return lines;
}

/**
 * Volume: the whole quantity is priced at the one tier it falls in, plus that tier's flat fee.
 * Example, tiers [up to 100 at 10, up to 1,000 at 8, above at 5]: 100 units → 100 × 10 = 1,000;
 * 101 units → 101 × 8 = 808 (the whole quantity drops to the cheaper rate); 1,001 → 5,005.
 */
function volume(tiers: readonly Tier[], q: Decimal): PriceLine[] {
  if (q.isZero()) return [];
  const i = tiers.findIndex((t) => t.upTo === null || q.lte(t.upTo));
  if (i < 0) throw new Error('volume tiers without an unbounded last tier');
  const t = tiers[i];
  const rate = dec(t.unitAmountDecimal);
  return [
    {
      kind: 'tier',
      description: `Tier ${i + 1}: ${str(q)} × ${str(rate)}`,
      tier: i + 1,
      quantity: str(q),
      unitAmountDecimal: str(rate),
      flatAmount: t.flatAmount,
      amount: round(q.times(rate)) + t.flatAmount,
    },
  ];
}

/**
 * Package: `package_amount` per started package of `package_size` units, partial packages
 * rounded UP. Example, 1,000 emails for 500 minor units: 1 email → 1 package (500);
 * 1,000 → 1 (500); 1,001 → 2 (1,000); 2,500.5 → 3 (1,500).
 */
function packaged(size: number | null, amount: number | null, q: Decimal): PriceLine[] {
  if (size === null || amount === null || size <= 0) throw new Error('package price without package_size/package_amount');
  if (q.isZero()) return [];
  const packages = q.dividedBy(size).toDecimalPlaces(0, Decimal.ROUND_CEIL);
  return [
    {
      kind: 'package',
      description: `${str(packages)} × package of ${size}`,
      tier: null,
      quantity: str(packages),
      unitAmountDecimal: null,
      flatAmount: 0,
      amount: round(packages.times(amount)),
    },
  ];
}

/** A price as the pricing ladder sees it: its terms plus interval and metric. */
export type LadderPrice = PriceTerms & Pick<Price, 'interval' | 'billableMetricId'>;

export interface TypicalMonthlyOptions {
  currency: string;
  /** Seat count for per-seat prices. Default 1: the entry price of the plan (what one seat costs). */
  seats?: number;
  /** Typical usage per billing period by billable metric id; metrics not listed count as 0. */
  usageByMetricId?: Readonly<Record<string, string | number>>;
}

export interface TypicalMonthly {
  /** Integer minor units per month. */
  amount: number;
  currency: string;
  /** Which prices it came from: the monthly ones, the annual ones divided by 12, or none. */
  basis: 'month' | 'year' | 'none';
}

/**
 * What a plan version typically costs per month, for the pricing ladder. When the version has
 * monthly prices, they are used (annual prices are an alternative way to pay, usually
 * discounted); otherwise the annual prices are summed and divided by 12, rounded once
 * (half_up): $490/year → 49,000 / 12 = 4,083.33 → 4,083 ($40.83/month).
 * Per-seat prices count `seats` seats (default 1); usage prices count the typical usage given
 * for their metric (default 0, so a pure pay-as-you-go plan shows its minimums and fixed fees).
 */
export function typicalMonthlyAmount(version: { prices: readonly LadderPrice[] }, opts: TypicalMonthlyOptions): TypicalMonthly {
  const seats = opts.seats ?? 1;
  if (!Number.isSafeInteger(seats) || seats < 0) throw new AppError({ code: 'parameter_invalid', message: `Typical seats must be a whole number ≥ 0; got ${seats}.`, param: 'seats' });
  const inCurrency = version.prices.filter((p) => p.currency === opts.currency);
  const monthly = inCurrency.filter((p) => p.interval === 'month');
  const basis: TypicalMonthly['basis'] = monthly.length > 0 ? 'month' : inCurrency.length > 0 ? 'year' : 'none';
  const chosen = basis === 'month' ? monthly : inCurrency;
  let total = 0;
  for (const p of chosen) {
    const quantity = p.type === 'per_seat' ? seats : p.type === 'usage' ? (opts.usageByMetricId?.[p.billableMetricId ?? ''] ?? 0) : 1;
    total += priceForQuantity(p, quantity).amount;
  }
  const amount = basis === 'year' ? roundToInteger(dec(total).dividedBy(12), PRICE_ROUNDING) : total;
  return { amount, currency: opts.currency, basis };
}

import { currencyExponent, isCurrency } from './currency.ts';
import { dec, Decimal, roundToInteger, type RoundingMode } from './decimal.ts';
import { AppError } from './errors.ts';

/** An exact amount: integer minor units of an ISO 4217 currency (lower-case, as Stripe writes it). */
export interface Money {
  readonly amount: number;
  readonly currency: string;
}

export function money(amount: number, currency: string): Money {
  if (!Number.isSafeInteger(amount)) {
    throw new AppError({ code: 'amount_invalid', message: `Amount ${amount} is not an integer number of minor units.` });
  }
  const c = currency.toLowerCase();
  if (!isCurrency(c)) throw new AppError({ code: 'currency_unknown', message: `Unknown currency '${currency}'.`, param: 'currency' });
  return { amount: amount === 0 ? 0 : amount, currency: c };
}

export const zero = (currency: string): Money => money(0, currency);

function sameCurrency(a: Money, b: Money): void {
  if (a.currency !== b.currency) {
    throw new AppError({ code: 'currency_mismatch', message: `Cannot combine ${a.currency} and ${b.currency}.` });
  }
}

function safe(n: number): number {
  if (!Number.isSafeInteger(n)) throw new Error(`amount ${n} exceeds the safe integer range`);
  return n === 0 ? 0 : n;
}

export function add(a: Money, b: Money): Money {
  sameCurrency(a, b);
  return { amount: safe(a.amount + b.amount), currency: a.currency };
}

export function subtract(a: Money, b: Money): Money {
  sameCurrency(a, b);
  return { amount: safe(a.amount - b.amount), currency: a.currency };
}

export function negate(a: Money): Money {
  return { amount: safe(-a.amount), currency: a.currency };
}

export function sum(items: readonly Money[], currency: string): Money {
  let total = 0;
  for (const m of items) {
    if (m.currency !== currency) throw new AppError({ code: 'currency_mismatch', message: `Cannot add ${m.currency} to a ${currency} total.` });
    total = safe(total + m.amount);
  }
  return { amount: total, currency };
}

/** Multiply by an integer quantity (seats, units): exact, no rounding. */
export function times(a: Money, quantity: number): Money {
  if (!Number.isSafeInteger(quantity)) throw new Error(`times(): quantity ${quantity} must be an integer`);
  return { amount: safe(a.amount * quantity), currency: a.currency };
}

/**
 * Multiply by a decimal factor (a sub-cent unit price times a quantity, a proration ratio, a
 * percentage) and round once with a named mode.
 * Example: 1,234 calls at $0.0004 = 0.4936 USD = 49.36 cents → `half_up` → 49 cents.
 */
export function multiply(a: Money, factor: string | Decimal, mode: RoundingMode): Money {
  return { amount: roundToInteger(dec(a.amount).times(factor), mode), currency: a.currency };
}

/** A decimal price in major units ("0.0004" USD) times a decimal quantity, rounded once to minor units. */
export function fromDecimalPrice(unitPriceMajor: string | Decimal, quantity: string | number | Decimal, currency: string, mode: RoundingMode): Money {
  const exp = currencyExponent(currency);
  const minor = dec(unitPriceMajor).times(typeof quantity === 'number' ? dec(quantity) : quantity).times(new Decimal(10).pow(exp));
  return money(roundToInteger(minor, mode), currency);
}

/**
 * Split an amount by integer or decimal weights without losing a minor unit: each share is
 * floored, then the leftover units go one by one to the largest remainders (ties to the earlier
 * share). allocate($100.00, [1, 1, 1]) = [33.34, 33.33, 33.33].
 */
export function allocate(a: Money, weights: readonly (number | string)[]): Money[] {
  if (weights.length === 0) throw new Error('allocate(): no weights');
  const ws = weights.map((w) => dec(typeof w === 'number' ? w : w));
  if (ws.some((w) => w.isNegative())) throw new Error('allocate(): negative weight');
  const total = ws.reduce((s, w) => s.plus(w), dec(0));
  if (total.isZero()) throw new Error('allocate(): weights sum to zero');
  const sign = a.amount < 0 ? -1 : 1;
  const abs = Math.abs(a.amount);
  const exact = ws.map((w) => dec(abs).times(w).dividedBy(total));
  const shares = exact.map((x) => x.floor().toNumber());
  let left = abs - shares.reduce((s, x) => s + x, 0);
  const order = exact
    .map((x, i) => ({ i, rem: x.minus(x.floor()) }))
    .sort((p, q) => q.rem.comparedTo(p.rem) || p.i - q.i);
  for (let k = 0; left > 0; k = (k + 1) % order.length, left--) shares[order[k].i] += 1;
  return shares.map((s) => ({ amount: safe(sign * s), currency: a.currency }));
}

/** Major-unit decimal string for display and PDFs: 4900 usd → "49.00", 4900 jpy → "4900". */
export function toMajorString(a: Money): string {
  const exp = currencyExponent(a.currency);
  return dec(a.amount).dividedBy(new Decimal(10).pow(exp)).toFixed(exp);
}

/** Human format: "$49.00", "€1,200.50", "¥4,900", "4.900 KWD". */
export function format(a: Money): string {
  const exp = currencyExponent(a.currency);
  const major = toMajorString({ amount: Math.abs(a.amount), currency: a.currency });
  const [int, frac] = major.split('.');
  const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const body = exp > 0 ? `${grouped}.${frac}` : grouped;
  const sym: Record<string, string> = { usd: '$', eur: '€', gbp: '£', jpy: '¥', cad: 'CA$', aud: 'A$', inr: '₹' };
  const s = sym[a.currency] ? `${sym[a.currency]}${body}` : `${body} ${a.currency.toUpperCase()}`;
  return a.amount < 0 ? `-${s}` : s;
}

export function compare(a: Money, b: Money): number {
  sameCurrency(a, b);
  return Math.sign(a.amount - b.amount);
}

export function isZero(a: Money): boolean {
  return a.amount === 0;
}

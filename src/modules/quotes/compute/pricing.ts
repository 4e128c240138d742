import { dec, Decimal, isDecimalString, roundToInteger } from '../../../kernel/decimal.ts';
import { AppError } from '../../../kernel/errors.ts';
import type { LineTerms, QuoteDiscount } from '../quotes.ts';

/**
 * Pure quote pricing: how negotiated prices, discounts and free months become what billing
 * bills. Billing knows negotiated unit amounts per price (`priceOverrides`) and credit notes, so
 * a quote maps onto exactly those:
 *
 * 1. Each recurring line's NET UNIT AMOUNT is computed exactly and rounded ONCE, half_up:
 *      base   = negotiated unit amount, else the list unit amount
 *      line   = base × (1 − line% / 100)         or  base − line amount (per unit and period)
 *      net    = line × (1 − quote% / 100)         or  line − (quote amount × line / Σ line × qty)
 *    The net unit amounts are the subscription's price overrides, so every invoice (and the
 *    quote's first-invoice preview, computed by billing's own `advanceLines`) bills them.
 *    Example: list $50/seat, 25 seats, 15 % off the quote: 5000 × 0.85 = 4250 → $42.50/seat.
 *    Example: flat $1,000 + 10 seats at $45, $100 off per period: Σ = 100,000 + 45,000 = 145,000;
 *    flat share 10,000 × 100,000/145,000 = 6,896.55… → 100,000 − 6,896.55… = 93,103.45 → 93,103;
 *    per seat 10,000 × 4,500/145,000 = 310.34… → 4,189.66 → 4,190 (× 10 = 41,900).
 *    The period total is then 135,003: an amount discount is realised to within half a minor
 *    unit per unit, and the quote shows the realised figures, never the ideal ones.
 * 2. Free months are a credit worth that many months of the net recurring amount (monthly:
 *    exact; annual: net × months / 12, rounded once half_up), issued as a credit note to the
 *    account's balance just before the contract starts, so the first invoice consumes it.
 */
export interface PricedLineInput {
  priceId: string;
  type: 'flat' | 'per_seat' | 'usage';
  /** List unit amount (flat fee or per-seat price); null for usage prices. */
  listUnitAmount: number | null;
}

export interface PricedLine {
  priceId: string;
  type: 'flat' | 'per_seat' | 'usage';
  /** Units billed per period: seats for per-seat, 1 for flat, null for usage. */
  quantity: number | null;
  listUnitAmount: number | null;
  negotiatedUnitAmount: number | null;
  discountPercent: string | null;
  discountAmount: number | null;
  /** The unit amount billed (the override). */
  netUnitAmount: number | null;
  listAmount: number | null;
  netAmount: number | null;
}

export interface QuotePricing {
  lines: PricedLine[];
  /** price id → net unit amount: the subscription's price overrides. */
  overrides: Record<string, number>;
  perPeriod: { list: number; net: number; discount: number };
  periods: number;
  freeMonthsCredit: number;
  listContractValue: number;
  totalContractValue: number;
  /** (list − net contract value) / list, in percent, exact decimal string. */
  effectiveDiscountPercent: string;
}

const HUNDRED = dec(100);

export function checkPercent(p: string, param: string): Decimal {
  if (!isDecimalString(p)) throw new AppError({ code: 'parameter_invalid', message: `${param} is a decimal string such as "15" or "12.5"; got '${p}'.`, param });
  const d = dec(p);
  if (d.lte(0) || d.gt(100) || d.decimalPlaces() > 4) throw new AppError({ code: 'parameter_invalid', message: `${param} must be above 0 and at most 100, with at most 4 decimals; got ${p}.`, param });
  return d;
}

function checkAmount(a: number, param: string): number {
  if (!Number.isSafeInteger(a) || a <= 0) throw new AppError({ code: 'parameter_invalid', message: `${param} is a positive integer of minor units; got ${a}.`, param });
  return a;
}

/** Whole billing periods in the term: annual terms are whole years. */
export function periodsInTerm(interval: 'month' | 'year', termMonths: number): number {
  if (!Number.isInteger(termMonths) || termMonths < 1 || termMonths > 120) {
    throw new AppError({ code: 'parameter_invalid', message: `term_months is 1 to 120; got ${termMonths}.`, param: 'term_months' });
  }
  if (interval === 'year' && termMonths % 12 !== 0) {
    throw new AppError({ code: 'parameter_invalid', message: `An annual quote's term is whole years (12, 24, 36 months); got ${termMonths}.`, param: 'term_months' });
  }
  return interval === 'year' ? termMonths / 12 : termMonths;
}

/** Free months as money: monthly net × n, or annual net × n / 12 rounded once (half_up). */
export function freeMonthsCredit(netPerPeriod: number, interval: 'month' | 'year', freeMonths: number): number {
  if (freeMonths === 0) return 0;
  return interval === 'month' ? netPerPeriod * freeMonths : roundToInteger(dec(netPerPeriod).times(freeMonths).dividedBy(12), 'half_up');
}

export function priceQuote(input: {
  prices: readonly PricedLineInput[];
  quantity: number;
  interval: 'month' | 'year';
  termMonths: number;
  freeMonths: number;
  terms: readonly LineTerms[];
  discount: QuoteDiscount | null;
}): QuotePricing {
  const periods = periodsInTerm(input.interval, input.termMonths);
  if (!Number.isInteger(input.freeMonths) || input.freeMonths < 0 || input.freeMonths >= input.termMonths) {
    throw new AppError({ code: 'parameter_invalid', message: `free_months is 0 to ${input.termMonths - 1} (less than the term); got ${input.freeMonths}.`, param: 'free_months' });
  }
  const byPrice = new Map(input.prices.map((p) => [p.priceId, p]));
  input.terms.forEach((t, i) => {
    const p = byPrice.get(t.priceId);
    if (!p) throw new AppError({ code: 'parameter_invalid', message: `Price ${t.priceId} is not a recurring price of the quoted plan and interval.`, param: `lines.${i}.price` });
    const adjusted = t.unitAmount != null || t.discountPercent != null || t.discountAmount != null;
    if (p.type === 'usage' && adjusted) throw new AppError({ code: 'parameter_invalid', message: `Price ${t.priceId} is a usage price: it is billed at list rates in arrears and takes no negotiated amount or discount.`, param: `lines.${i}` });
    if (t.discountPercent != null && t.discountAmount != null) throw new AppError({ code: 'parameter_invalid', message: 'A line takes a discount percentage or an amount, not both.', param: `lines.${i}` });
    if (t.unitAmount != null && (!Number.isSafeInteger(t.unitAmount) || t.unitAmount < 0)) throw new AppError({ code: 'parameter_invalid', message: 'unit_amount is an integer of minor units, 0 or more.', param: `lines.${i}.unit_amount` });
  });
  const termsOf = (id: string) => input.terms.find((t) => t.priceId === id);

  // Step 1: each line after its own negotiated amount and discount (exact decimals).
  const afterLine = new Map<string, Decimal>();
  for (const p of input.prices) {
    if (p.type === 'usage') continue;
    const t = termsOf(p.priceId);
    const base = dec(t?.unitAmount ?? p.listUnitAmount ?? 0);
    let v = base;
    if (t?.discountPercent != null) v = base.times(HUNDRED.minus(checkPercent(t.discountPercent, 'discount_percent'))).dividedBy(HUNDRED);
    if (t?.discountAmount != null) v = base.minus(checkAmount(t.discountAmount, 'discount_amount'));
    if (v.isNegative()) throw new AppError({ code: 'parameter_invalid', message: `The discount on price ${p.priceId} is larger than its unit amount.`, param: 'lines' });
    afterLine.set(p.priceId, v);
  }
  const billedQty = (p: PricedLineInput) => (p.type === 'per_seat' ? input.quantity : 1);
  const weight = input.prices.reduce((s, p) => (p.type === 'usage' ? s : s.plus(afterLine.get(p.priceId)!.times(billedQty(p)))), dec(0));

  // Step 2: the whole-quote discount, then one rounding per line.
  const lines: PricedLine[] = [];
  const overrides: Record<string, number> = {};
  let list = 0;
  let net = 0;
  for (const p of input.prices) {
    const t = termsOf(p.priceId);
    if (p.type === 'usage') {
      lines.push({ priceId: p.priceId, type: p.type, quantity: null, listUnitAmount: null, negotiatedUnitAmount: null, discountPercent: null, discountAmount: null, netUnitAmount: null, listAmount: null, netAmount: null });
      continue;
    }
    let v = afterLine.get(p.priceId)!;
    if (input.discount?.type === 'percent') v = v.times(HUNDRED.minus(checkPercent(input.discount.percent, 'discount.percent'))).dividedBy(HUNDRED);
    if (input.discount?.type === 'amount') {
      const amount = checkAmount(input.discount.amount, 'discount.amount');
      if (weight.isZero() || dec(amount).gt(weight)) throw new AppError({ code: 'parameter_invalid', message: 'The quote discount is larger than the amount per period.', param: 'discount.amount' });
      v = v.minus(dec(amount).times(v).dividedBy(weight));
    }
    const netUnit = roundToInteger(v, 'half_up');
    const qty = billedQty(p);
    const listUnit = p.listUnitAmount ?? 0;
    overrides[p.priceId] = netUnit;
    list += listUnit * qty;
    net += netUnit * qty;
    lines.push({
      priceId: p.priceId,
      type: p.type,
      quantity: qty,
      listUnitAmount: listUnit,
      negotiatedUnitAmount: t?.unitAmount ?? null,
      discountPercent: t?.discountPercent ?? null,
      discountAmount: t?.discountAmount ?? null,
      netUnitAmount: netUnit,
      listAmount: listUnit * qty,
      netAmount: netUnit * qty,
    });
  }
  const credit = freeMonthsCredit(net, input.interval, input.freeMonths);
  const listContractValue = list * periods;
  const totalContractValue = net * periods - credit;
  const effective = listContractValue === 0 ? dec(0) : dec(listContractValue - totalContractValue).times(HUNDRED).dividedBy(listContractValue);
  return {
    lines,
    overrides,
    perPeriod: { list, net, discount: list - net },
    periods,
    freeMonthsCredit: credit,
    listContractValue,
    totalContractValue,
    effectiveDiscountPercent: effective.toDecimalPlaces(4, Decimal.ROUND_HALF_UP).toString(),
  };
}

/** Which approval rules fire (empty: the quote is approved on submission). */
export function approvalReasons(p: Pick<QuotePricing, 'effectiveDiscountPercent' | 'totalContractValue'>, currency: string, rules: { maxDiscountPercent: string; tcvThreshold: number; currency: string }): string[] {
  const reasons: string[] = [];
  if (dec(p.effectiveDiscountPercent).gt(dec(rules.maxDiscountPercent))) reasons.push('discount_above_limit');
  // A threshold in another currency cannot be compared without an exchange rate: such quotes always go to approval.
  if (rules.currency !== currency || p.totalContractValue > rules.tcvThreshold) reasons.push('contract_value_above_threshold');
  return reasons;
}

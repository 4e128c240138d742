/**
 * ISO 4217 minor-unit exponents. Amounts are integers in the minor unit: 4900 USD is $49.00,
 * 4900 JPY is ¥4,900, 4900 KWD is 4.900 KD.
 */
const EXPONENTS: Record<string, number> = {
  // exponent 0
  bif: 0, clp: 0, djf: 0, gnf: 0, isk: 0, jpy: 0, kmf: 0, krw: 0, pyg: 0, rwf: 0, ugx: 0, uyi: 0,
  vnd: 0, vuv: 0, xaf: 0, xof: 0, xpf: 0,
  // exponent 3
  bhd: 3, iqd: 3, jod: 3, kwd: 3, lyd: 3, omr: 3, tnd: 3,
  // exponent 4
  clf: 4, uyw: 4,
  // exponent 2 (the common case, listed so unknown codes are rejected rather than guessed)
  aed: 2, ars: 2, aud: 2, bgn: 2, brl: 2, cad: 2, chf: 2, cny: 2, cop: 2, czk: 2, dkk: 2, egp: 2,
  eur: 2, gbp: 2, hkd: 2, huf: 2, idr: 2, ils: 2, inr: 2, kes: 2, mad: 2, mxn: 2, myr: 2, ngn: 2,
  nok: 2, nzd: 2, pen: 2, php: 2, pkr: 2, pln: 2, ron: 2, rub: 2, sar: 2, sek: 2, sgd: 2, thb: 2,
  try: 2, twd: 2, uah: 2, usd: 2, zar: 2,
};

export function isCurrency(code: string): boolean {
  return Object.hasOwn(EXPONENTS, code.toLowerCase());
}

/** Number of decimal digits of the currency's minor unit. Throws for unknown codes (a bug: validate at the edge). */
export function currencyExponent(code: string): number {
  const e = EXPONENTS[code.toLowerCase()];
  if (e === undefined) throw new Error(`unknown currency '${code}'`);
  return e;
}

export const CURRENCY_CODES: readonly string[] = Object.keys(EXPONENTS).sort();

/** Pure card checks: number normalisation, the Luhn checksum, brand detection, expiry. */

export type CardBrand = 'visa' | 'mastercard' | 'amex' | 'discover' | 'jcb' | 'diners' | 'unionpay' | 'unknown';

/** Digits only: "4242 4242-4242 4242" → "4242424242424242"; null when anything else is in it. */
export function normalizeCardNumber(raw: string): string | null {
  const digits = raw.replace(/[\s-]/g, '');
  return /^\d{12,19}$/.test(digits) ? digits : null;
}

/**
 * The Luhn (mod 10) checksum every card number carries: from the right, double every second
 * digit (subtracting 9 when the result passes 9) and the total must end in 0.
 * 4242424242424242: doubled digits 4→8 (×8) + undoubled 2 (×8) = 64 + 16 = 80 → valid.
 */
export function luhnValid(digits: string): boolean {
  if (!/^\d+$/.test(digits)) return false;
  let total = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    total += d;
  }
  return total % 10 === 0;
}

/** Brand from the issuer prefix (IIN ranges as the card networks publish them). */
export function cardBrand(digits: string): CardBrand {
  if (/^4/.test(digits)) return 'visa';
  if (/^(5[1-5]|222[1-9]|22[3-9]\d|2[3-6]\d\d|27[01]\d|2720)/.test(digits)) return 'mastercard';
  if (/^3[47]/.test(digits)) return 'amex';
  if (/^(6011|65|64[4-9])/.test(digits)) return 'discover';
  if (/^35(2[89]|[3-8])/.test(digits)) return 'jcb';
  if (/^3(0[0-5]|[689])/.test(digits)) return 'diners';
  if (/^62/.test(digits)) return 'unionpay';
  return 'unknown';
}

/** "20" + two-digit years, as card forms write them: 30 → 2030. */
export function normalizeExpYear(year: number): number {
  return year >= 0 && year < 100 ? 2000 + year : year;
}

/**
 * A card is good through the last instant of its expiry month (UTC): 02/2026 is valid on
 * 2026-02-28T23:59:59Z and expired from 2026-03-01T00:00:00Z.
 */
export function cardExpired(expMonth: number, expYear: number, asOf: Date): boolean {
  const firstInstantAfter = Date.UTC(expYear, expMonth, 1); // month index expMonth = the month after (0-based)
  return asOf.getTime() >= firstInstantAfter;
}

import { Decimal as DecimalJs } from 'decimal.js';

/**
 * The one decimal library. Sub-minor-unit rates (e.g. $0.0004 per API call) are decimal
 * strings in the API and `numeric` in the database; they become integers only when a line is
 * rounded, once, with a named rounding mode.
 */
export const Decimal = DecimalJs.clone({ precision: 50, rounding: DecimalJs.ROUND_HALF_EVEN, toExpNeg: -30, toExpPos: 40 });
export type Decimal = InstanceType<typeof Decimal>;

export type RoundingMode = 'half_up' | 'half_even' | 'half_down' | 'up' | 'down' | 'ceil' | 'floor';

const MODES: Record<RoundingMode, DecimalJs.Rounding> = {
  half_up: DecimalJs.ROUND_HALF_UP, // away from zero on .5
  half_even: DecimalJs.ROUND_HALF_EVEN, // banker's rounding
  half_down: DecimalJs.ROUND_HALF_DOWN,
  up: DecimalJs.ROUND_UP, // away from zero
  down: DecimalJs.ROUND_DOWN, // towards zero
  ceil: DecimalJs.ROUND_CEIL,
  floor: DecimalJs.ROUND_FLOOR,
};

const DECIMAL_STRING = /^-?(0|[1-9]\d*)(\.\d+)?$/;

export function isDecimalString(s: string): boolean {
  return DECIMAL_STRING.test(s);
}

export function dec(v: string | number | Decimal): Decimal {
  if (typeof v === 'number' && !Number.isSafeInteger(v)) {
    throw new Error(`dec(): ${v} is not a safe integer; pass decimals as strings`);
  }
  return new Decimal(v);
}

/** Rounds a decimal to an integer with an explicit mode and checks it is a safe JS integer. */
export function roundToInteger(v: Decimal, mode: RoundingMode): number {
  const r = v.toDecimalPlaces(0, MODES[mode]);
  const n = r.toNumber();
  if (!Number.isSafeInteger(n)) throw new Error(`amount ${r.toString()} exceeds the safe integer range`);
  return n === 0 ? 0 : n; // no negative zero
}

import { randomBytes } from 'node:crypto';

/**
 * Prefixed, time-sortable ids: `acct_` + 10 base62 chars of milliseconds + 12 random base62
 * chars. Sorting ids sorts by creation, which cursor pagination relies on. Ids made in the same
 * millisecond by one process still sort in creation order (a monotonic counter bumps the time part).
 */
export const ID_PREFIXES = {
  workspace: 'ws',
  apiKey: 'key',
  auditEntry: 'aud',
  job: 'job',
  event: 'evt',
  request: 'req',
} as const;

export type IdPrefix = string;
export type Id<P extends string> = `${P}_${string}`;

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

function base62(n: bigint, width: number): string {
  let s = '';
  while (n > 0n) {
    s = ALPHABET[Number(n % 62n)] + s;
    n /= 62n;
  }
  return s.padStart(width, '0');
}

let lastMs = 0;

export function newId<P extends string>(prefix: P): Id<P> {
  let ms = Date.now(); // ids only need uniqueness and rough order, not domain time
  if (ms <= lastMs) ms = lastMs + 1;
  lastMs = ms;
  const rand = BigInt('0x' + randomBytes(9).toString('hex'));
  return `${prefix}_${base62(BigInt(ms), 8)}${base62(rand, 13).slice(-12)}` as Id<P>;
}

export function hasPrefix(id: string, prefix: string): boolean {
  return id.startsWith(prefix + '_') && id.length > prefix.length + 1;
}

/** A random secret for keys and tokens: prefix + 32 base62 chars (~190 bits). */
export function newSecret(prefix: string): string {
  const bytes = randomBytes(32);
  let s = '';
  for (const b of bytes) s += ALPHABET[b % 62];
  return `${prefix}_${s}`;
}

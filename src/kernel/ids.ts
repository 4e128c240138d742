import { randomBytes } from 'node:crypto';

/**
 * Prefixed, time-sortable ids: `acct_` + 8 base62 chars of milliseconds + 12 base62 chars that
 * are random in a new millisecond. Sorting ids sorts by creation, which cursor pagination and
 * scoring's sweep watermark rely on. Ids made in the same millisecond by one process still sort
 * in creation order: the second one is the first one's random part plus one (as ULID's
 * monotonic mode does), and the time part stays the clock's. Bumping the time part instead ran
 * it ahead of the clock by one millisecond per extra id (at 10,000 events/s, ~9 s per second of
 * load), so another process's ids, made on time, sorted before ones made earlier.
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

/** 62^12: the random part's range. A millisecond's first draw is below half of it, leaving 62^12 / 2 increments. */
const RAND_SPACE = 62n ** 12n;
let lastMs = 0;
let lastRand = 0n;

/**
 * Reserves `count` consecutive random parts in one millisecond, after every id made so far by
 * this process, the first a multiple of `align`. A new millisecond starts from a random draw; the
 * same one (or a clock that stepped back) continues from the last reservation. The time part
 * moves ahead of the clock only if a millisecond ran out of its 62^12 / 2 increments.
 */
function reserve(count: number, align: bigint): { ms: number; rand: bigint } {
  let ms = Date.now(); // ids only need uniqueness and rough order, not domain time
  let rand: bigint;
  if (ms > lastMs) {
    rand = BigInt('0x' + randomBytes(9).toString('hex')) % (RAND_SPACE / 2n);
  } else {
    ms = lastMs;
    rand = lastRand + 1n;
  }
  if (align > 1n) rand = ((rand + align - 1n) / align) * align;
  if (rand + BigInt(count) > RAND_SPACE) {
    ms += 1;
    rand = 0n;
  }
  lastMs = ms;
  lastRand = rand + BigInt(count) - 1n;
  return { ms, rand };
}

export function newId<P extends string>(prefix: P): Id<P> {
  const { ms, rand } = reserve(1, 1n);
  return `${prefix}_${base62(BigInt(ms), 8)}${base62(rand, 12)}` as Id<P>;
}

/** 62^3 ids per block: the last three characters of a block's ids count its rows. */
const BLOCK = 62 ** 3;
const BLOCK_BIG = BigInt(BLOCK);

/**
 * `n` ids in newId's format and order (row order, after every id made before), e.g. the rows of
 * an ingested batch: one reservation per 62^3 rows, aligned so each row's id is the block's head
 * plus a base62 row counter. One random draw and one bigint conversion per block rather than
 * per row: per-row newId was the largest single cost per event in ingestion after JSON.
 */
export function newIds(prefix: string, n: number): string[] {
  const out = new Array<string>(n);
  for (let i = 0; i < n; i += BLOCK) {
    const count = Math.min(BLOCK, n - i);
    const { ms, rand } = reserve(count, BLOCK_BIG);
    const head = `${prefix}_${base62(BigInt(ms), 8)}${base62(rand / BLOCK_BIG, 9)}`;
    for (let k = 0; k < count; k++) out[i + k] = head + ALPHABET[Math.floor(k / 3844)] + ALPHABET[Math.floor(k / 62) % 62] + ALPHABET[k % 62];
  }
  return out;
}

/** The millisecond an id was made in (its time part). */
export function idTimeMs(id: string): number {
  const part = id.slice(id.lastIndexOf('_') + 1, id.lastIndexOf('_') + 9);
  let n = 0;
  for (const c of part) n = n * 62 + ALPHABET.indexOf(c);
  return n;
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

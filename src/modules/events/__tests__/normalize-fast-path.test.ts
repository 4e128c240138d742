import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseInstant } from '../../../kernel/dates.ts';
import { canonicalInstant, jsonMayHoldUnstorable, normalizeMessage, serializedBytesBound, type NormalizeOptions } from '../compute/normalize.ts';
import { MAX_EVENT_BYTES } from '../events.ts';

/**
 * normalizeMessage skips serializing a message when it was parsed from a JSON text without NUL or
 * surrogate escapes and a walk bounds its size under 32 KB. These properties make the fast path
 * fail if it ever answers differently from the exact (serializing) path.
 */

/** Any UTF-16 code unit: NULs, control characters, lone and paired surrogates, ASCII, BMP. */
const codeUnit = fc.oneof(
  fc.integer({ min: 0x20, max: 0x7e }),
  fc.integer({ min: 0, max: 0x1f }),
  fc.integer({ min: 0xd800, max: 0xdfff }),
  fc.integer({ min: 0x80, max: 0xffff }),
  fc.constantFrom(0, 0x22, 0x5c, 0x2028, 0xfeff),
);
const anyString = (maxLength: number) => fc.array(codeUnit, { maxLength }).map((units) => String.fromCharCode(...units));
const asciiString = fc.string({ maxLength: 24 });
/** Mostly ordinary text; sometimes any code units (then often a NUL or a lone surrogate). */
const text = (maxLength: number) => fc.oneof({ arbitrary: asciiString, weight: 6 }, { arbitrary: fc.string({ unit: 'grapheme', maxLength }), weight: 3 }, { arbitrary: anyString(maxLength), weight: 1 });
/** A long string, so that messages reach and pass 32 KB (its bytes per character vary: 1, 2 with escapes, 3, 6). */
const longString = fc
  .tuple(fc.integer({ min: 3_000, max: 36_000 }), fc.constantFrom('x', 'é', '€', '"', '\n', '\u0001', '😀', '\\u0000'))
  .map(([n, c]) => c.repeat(Math.ceil(n / c.length)).slice(0, n));
const number = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(-0, 1e20, 1e21, 99999999999999999, 5e-324, -1.7976931348623157e308, 2.2250738585072014e-308, 0.000001, 1e-7),
);
const json: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    number,
    fc.boolean(),
    fc.constant(null),
    text(12),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(text(6), tie('value'), { maxKeys: 4 }),
  ),
})).value;

/** Nests `v` under `levels` objects. */
const nest = (v: unknown, levels: number): unknown => {
  let out = v;
  for (let i = 0; i < levels; i++) out = { d: out };
  return out;
};

/** A Segment message with random contents: mostly valid, sometimes huge, deep, or holding a NUL or a lone surrogate. */
const message = fc.record(
  {
    type: fc.constantFrom('track', 'identify', 'group', 'page', 'screen', 'alias', 'nope'),
    userId: fc.oneof(text(6), fc.integer()),
    anonymousId: asciiString,
    messageId: text(6),
    event: text(8),
    groupId: asciiString,
    previousId: asciiString,
    name: asciiString,
    timestamp: fc.oneof(
      fc.date({ min: new Date('1000-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }).map((d) => d.toISOString()),
      fc.constantFrom('2026-01-15T12:00:00Z', '2026-02-30T00:00:00.000Z', '2026-01-15T12:00:00.000+01:00', 'yesterday'),
    ),
    sentAt: fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString()),
    properties: fc.oneof(
      fc.dictionary(asciiString, json, { maxKeys: 6 }),
      fc.record({ blob: longString }),
      fc.tuple(fc.integer({ min: 55, max: 70 }), json).map(([levels, v]) => ({ deep: nest(v, levels) })),
      fc.array(fc.constantFrom(1e20, 1e300, -5e-324), { minLength: 600, maxLength: 1_700 }).map((xs) => ({ xs })),
    ),
    traits: fc.dictionary(text(5), json, { maxKeys: 3 }),
    context: fc.record({ groupId: fc.oneof(asciiString, fc.integer()), library: fc.record({ name: asciiString }) }, { requiredKeys: [] }),
  },
  { requiredKeys: [] },
);

/**
 * A JSON text of `v`, as different clients write it: JSON.stringify, or with characters inside
 * strings written as \u escapes (upper- or lower-case hex) or "/" as "\/", or with spaces after
 * separators (inside strings too: other values, still valid JSON).
 */
const textOf = fc
  .tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 0xffff }))
  .map(([style, seed]) => (v: unknown): string => {
    const s = JSON.stringify(v);
    if (style === 0) return s;
    if (style === 1) return s.replace(/[,:]/g, (c) => `${c} `);
    let k = seed;
    let out = '';
    let inString = false;
    for (let i = 0; i < s.length; i++) {
      const c = s[i];
      if (c === '"') inString = !inString;
      else if (inString && c === '\\') {
        const n = s[i + 1] === 'u' ? 6 : 2; // an escape the serializer wrote: kept as it is
        out += s.slice(i, i + n);
        i += n - 1;
        continue;
      } else if (inString) {
        k = (k * 1103515245 + 12345) & 0x7fffffff;
        if (k % 5 === 0) {
          const hex = c.charCodeAt(0).toString(16).padStart(4, '0');
          out += style === 3 && c === '/' ? '\\/' : `\\u${k % 2 ? hex : hex.toUpperCase()}`;
          continue;
        }
      }
      out += c;
    }
    return out;
  });

const receivedAt = new Date('2026-01-15T12:00:00.000Z');
const options = (o: Partial<NormalizeOptions> = {}): NormalizeOptions => ({
  index: 3,
  receivedAt,
  paramPrefix: 'batch[3].',
  newMessageId: () => 'generated',
  batchSentAt: new Date('2026-01-15T11:59:59.000Z'),
  ...o,
});

const holdsUnstorable = (v: unknown): boolean => {
  if (typeof v === 'string') return v.includes('\u0000') || !(v as string & { isWellFormed(): boolean }).isWellFormed();
  if (Array.isArray(v)) return v.some(holdsUnstorable);
  if (typeof v === 'object' && v !== null) return Object.entries(v).some(([k, x]) => holdsUnstorable(k) || holdsUnstorable(x));
  return false;
};

describe('normalizeMessage: the fast path answers exactly as the serializing path', () => {
  it('serializedBytesBound is never below the UTF-8 bytes of JSON.stringify', () => {
    fc.assert(
      fc.property(fc.oneof(json, message), (v) => {
        const parsed = JSON.parse(JSON.stringify(v)) as unknown;
        const exact = Buffer.byteLength(JSON.stringify(parsed), 'utf8');
        assert.ok(serializedBytesBound(parsed, Infinity) >= exact, `bound ${serializedBytesBound(parsed, Infinity)} < ${exact}`);
      }),
      { numRuns: 3_000 },
    );
    // The longest numbers: a negative one in [1e-6, 1e-5) written out in decimals (25 characters; a
    // random run found -0.0000010208010360097032 above a bound of 24), and in exponent form (24).
    for (const n of [1e20, 1e21, 99999999999999999, -5e-324, -1.7976931348623157e308, -2.2250738585072014e-308, -0.0000010208010360097032, -0.0000012345678901234567]) {
      assert.ok(serializedBytesBound(n, Infinity) >= JSON.stringify(n).length, `${n}`);
      assert.ok(serializedBytesBound([n], Infinity) >= JSON.stringify([n]).length && serializedBytesBound({ n }, Infinity) >= JSON.stringify({ n }).length, `${n}`);
    }
    assert.equal(JSON.stringify(-0.0000010208010360097032).length, 25);
    // The worst characters, alone: as a value, an array element, a key.
    const check = (v: unknown) => {
      const exact = Buffer.byteLength(JSON.stringify(v), 'utf8');
      assert.ok(serializedBytesBound(v, Infinity) >= exact, `${JSON.stringify(v).slice(0, 40)}: bound ${serializedBytesBound(v, Infinity)} < ${exact}`);
    };
    fc.assert(
      fc.property(anyString(40), (s) => {
        for (const v of [s, [s], [[s], s], { [s]: s }, { k: [s, { [s]: [s] }] }]) check(v);
      }),
      { numRuns: 2_000 },
    );
    for (const c of ['\u0001', '"', '\\', '\n', 'é', '€', '\ud800', '😀']) {
      for (const n of [1, 7, 100]) for (const v of [c.repeat(n), [c.repeat(n)], { [c.repeat(n)]: c.repeat(n) }, [[c.repeat(n)]]]) check(v);
    }
  });

  it('serializedBytesBound answers Infinity past 64 levels, as the depth check refuses', () => {
    assert.equal(serializedBytesBound(nest(1, 64), Infinity) < Infinity, true, '64 levels counting the root');
    assert.equal(serializedBytesBound(nest(1, 65), Infinity), Infinity);
    assert.equal(serializedBytesBound(nest([{}], 63), Infinity), Infinity);
  });

  it('a text jsonMayHoldUnstorable finds clean parses to values without NUL or unpaired surrogates', () => {
    let clean = 0;
    let dirty = 0;
    fc.assert(
      fc.property(json, textOf, (v, write) => {
        const text = write(v);
        const parsed = JSON.parse(text) as unknown;
        if (jsonMayHoldUnstorable(text)) dirty++;
        else {
          clean++;
          assert.equal(holdsUnstorable(parsed), false, text);
        }
      }),
      { numRuns: 5_000 },
    );
    assert.ok(clean > 200 && dirty > 200, `both kinds of text were tried (clean ${clean}, dirty ${dirty})`);
    // Spelled as escapes or raw: each is found.
    for (const text of ['"\\u0000"', '"\\ud800"', '"\\uDBFF"', '"\\udc00x"', '"\ud800"', '"a\udfff"']) assert.equal(jsonMayHoldUnstorable(text), true, text);
    for (const text of ['"\\u0001"', '"\\u00e9"', '"😀"', '"plain"', '{"a":[1,2,"\\n"]}']) assert.equal(jsonMayHoldUnstorable(text), false, text);
  });

  it('normalizes every message parsed from any text exactly as without the fast path (batch and single calls)', () => {
    const outcomes = new Map<string, number>();
    let fast = 0;
    fc.assert(
      fc.property(message, textOf, fc.boolean(), fc.boolean(), (m, write, single, typed) => {
        const text = write(m);
        const parsed = JSON.parse(text) as unknown;
        const clean = !jsonMayHoldUnstorable(text);
        const base: Partial<NormalizeOptions> = single
          ? { paramPrefix: '', index: 0, bytes: Buffer.byteLength(text, 'utf8'), ...(typed ? { type: 'track' as const } : {}) }
          : typed
            ? { batchContext: { ip: '10.0.0.1', library: { name: 'batch' } } }
            : {};
        const exact = normalizeMessage(parsed, options(base));
        const quick = normalizeMessage(parsed, options({ ...base, parsedFromCleanJson: clean }));
        assert.deepEqual(quick, exact);
        if (clean && serializedBytesBound(parsed, MAX_EVENT_BYTES) <= MAX_EVENT_BYTES) fast++;
        const key = exact.ok ? 'ok' : `${exact.error.code} ${exact.error.message.replace(/\d+/g, 'n')}`;
        outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
      }),
      { numRuns: 4_000 },
    );
    // The comparison covered the fast path itself and each refusal the serializing path makes.
    assert.ok(fast > 400, `fast path taken ${fast} times`);
    for (const k of [
      'ok',
      'event_too_large The message is n bytes; a message may be at most n bytes (n KB).',
      'parameter_invalid The message contains a NUL character or an unpaired UTF-n surrogate.',
      'parameter_invalid The message nests deeper than n levels.',
    ]) {
      assert.ok((outcomes.get(k) ?? 0) > 10, `outcome "${k}" seen ${outcomes.get(k) ?? 0} times: ${JSON.stringify([...outcomes])}`);
    }
  });

  it('still refuses on the fast path: a message of exactly 32 KB passes, one byte more is too large', () => {
    const sized = (bytes: number) => {
      const m = { type: 'track', userId: 'u', event: 'E', properties: { blob: '' } };
      m.properties.blob = 'x'.repeat(bytes - JSON.stringify(m).length);
      return JSON.stringify(m);
    };
    for (const [bytes, ok] of [
      [MAX_EVENT_BYTES, true],
      [MAX_EVENT_BYTES + 1, false],
    ] as const) {
      const text = sized(bytes);
      assert.equal(Buffer.byteLength(text), bytes);
      const r = normalizeMessage(JSON.parse(text), options({ parsedFromCleanJson: !jsonMayHoldUnstorable(text) }));
      assert.equal(r.ok, ok, `${bytes} bytes`);
      if (!r.ok) assert.deepEqual(r.error, { code: 'event_too_large', message: `The message is ${bytes} bytes; a message may be at most 32768 bytes (32 KB).`, param: 'batch[3]' });
    }
  });
});

describe('canonicalInstant: the toISOString form, read as parseInstant reads it', () => {
  it('agrees with parseInstant on every instant it takes, and takes the usual ones', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date('1000-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true }), (d) => {
        const s = d.toISOString();
        const c = canonicalInstant(s);
        if (d.getUTCDate() <= 28) assert.ok(c, s);
        if (c) assert.equal(c.getTime(), parseInstant(s)?.getTime());
      }),
      { numRuns: 5_000 },
    );
  });

  it('answers null or what parseInstant answers for altered strings', () => {
    const chars = fc.constantFrom(...'0123456789-:.TZz+ x/'.split(''), '٣', '\u0000');
    fc.assert(
      fc.property(
        fc.date({ min: new Date('1000-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true }),
        fc.array(fc.tuple(fc.nat(25), chars), { minLength: 1, maxLength: 3 }),
        (d, edits) => {
          const a = d.toISOString().split('');
          for (const [i, c] of edits) a[i % 24] = c;
          const s = a.join('');
          const c = canonicalInstant(s);
          if (c) assert.equal(c.getTime(), parseInstant(s)?.getTime(), s);
        },
      ),
      { numRuns: 20_000 },
    );
  });

  it('takes every field value at its edges only where parseInstant agrees', () => {
    const two = (n: number) => String(n).padStart(2, '0');
    for (const year of ['0999', '1000', '1969', '1970', '2024', '2100', '9999']) {
      for (let month = 0; month <= 13; month++) {
        for (let day = 0; day <= 32; day++) {
          for (const time of ['00:00:00.000', '23:59:59.999', '24:00:00.000', '12:60:00.000', '12:00:60.000', '-1:00:00.000']) {
            const s = `${year}-${two(month)}-${two(day)}T${time}Z`;
            const c = canonicalInstant(s);
            if (c) assert.equal(c.getTime(), parseInstant(s)?.getTime(), s);
          }
        }
      }
    }
    assert.equal(canonicalInstant('2026-01-15T12:00:00.000Z')?.toISOString(), '2026-01-15T12:00:00.000Z');
    assert.equal(canonicalInstant('2026-01-15T12:00:00Z'), null, 'other forms go to parseInstant');
  });
});

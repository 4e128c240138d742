import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import type { Database } from '../../src/db/client.ts';
import { rawIn, rows } from '../../src/db/sql.ts';
import { openTestDatabase } from '../../src/db/testing.ts';

/**
 * One statement, three paths, the same JavaScript values on both databases: the plain path
 * (`Database.query`: timestamps and dates as Date, int8 as number, numeric as text, arrays
 * parsed) and drizzle's `execute` and `rawIn` inside a transaction (timestamps, dates and
 * intervals as the database's text). On PGlite the instance parses the text types itself and the
 * plain path converts them back (db/pglite-parsers.ts); this pins down that it still gives what
 * PGlite's own parsers gave.
 */
describe('result types are the same on every path and both databases', () => {
  let db: Database;
  const SELECT = `SELECT '2026-03-01T12:34:56.789123Z'::timestamptz AS at, '2026-03-01'::date AS day, '2026-03-01 12:00:00'::timestamp AS local,
                         '1 day 02:00:00'::interval AS span, 9007199254740991::int8 AS big, 12.5::numeric AS rate, 7::int4 AS small,
                         ARRAY['2026-03-01T00:00:00Z'::timestamptz, NULL] AS ats, ARRAY[1.5::numeric, 2] AS rates, ARRAY['a', 'b'] AS names,
                         '{"a": 1}'::jsonb AS doc, true AS yes, NULL::timestamptz AS never`;

  before(async () => {
    db = await openTestDatabase();
  });
  after(async () => {
    await db?.close();
  });

  it('the plain path: Date for instants and dates, number for int8, text for numeric', async () => {
    const [r] = await db.query<Record<string, unknown>>(SELECT);
    assert.ok(r.at instanceof Date && r.at.toISOString() === '2026-03-01T12:34:56.789Z', String(r.at));
    assert.ok(r.day instanceof Date && r.day.toISOString().startsWith('2026-03-01'), String(r.day));
    assert.ok(r.local instanceof Date, String(r.local));
    assert.equal(r.big, 9007199254740991);
    assert.equal(r.rate, '12.5');
    assert.equal(r.small, 7);
    assert.ok(Array.isArray(r.ats) && (r.ats as unknown[])[0] instanceof Date && (r.ats as unknown[])[1] === null, JSON.stringify(r.ats));
    assert.equal(((r.ats as Date[])[0]).toISOString(), '2026-03-01T00:00:00.000Z');
    assert.deepEqual((r.rates as unknown[]).map(String), ['1.5', '2']); // numeric[] elements: text on PGlite, numbers from node-postgres
    assert.deepEqual(r.names, ['a', 'b']);
    assert.deepEqual(r.doc, { a: 1 });
    assert.equal(r.yes, true);
    assert.equal(r.never, null);
  });

  it('drizzle execute and rawIn: the text of instants, dates and intervals; the rest parsed', async () => {
    await db.db.transaction(async (tx) => {
      const viaDrizzle = (await rows<Record<string, unknown>>(tx, sql.raw(SELECT)))[0];
      const viaRaw = (await rawIn(tx)!<Record<string, unknown>>(SELECT, []))[0];
      for (const r of [viaDrizzle, viaRaw]) {
        assert.equal(typeof r.at, 'string');
        assert.equal(new Date(r.at as string).toISOString(), '2026-03-01T12:34:56.789Z');
        assert.match(r.at as string, /\.789123/); // microseconds kept
        assert.equal(r.day, '2026-03-01');
        assert.equal(r.local, '2026-03-01 12:00:00');
        assert.equal(typeof r.span, 'string');
        assert.equal(Number(r.big), 9007199254740991);
        assert.equal(r.rate, '12.5');
        assert.equal(typeof r.ats, 'string');
        assert.deepEqual(r.names, ['a', 'b']);
        assert.deepEqual(r.doc, { a: 1 });
        assert.equal(r.never, null);
      }
      assert.deepEqual(viaRaw, viaDrizzle);
    });
    // Outside a transaction, drizzle's execute gives the same.
    const [r] = await rows<Record<string, unknown>>(db.db, sql.raw(SELECT));
    assert.equal(r.day, '2026-03-01');
  });
});

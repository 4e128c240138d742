import { types, type PGlite, type Results } from '@electric-sql/pglite';

/**
 * Types drizzle's raw `execute` hands back as the database's text (timestamps, dates, intervals
 * and their arrays); every other type goes through the driver's default parser. `rawIn` (sql.ts)
 * keeps exactly these rules, so a statement returns the same values on either path.
 */
export const AS_TEXT_OIDS = [1114, 1184, 1186, 1082, 1231, 1115, 1185, 1187, 1182];
export const asText = (v: string) => v;
const AS_TEXT = new Set(AS_TEXT_OIDS);
/** The array types among them, with their element type (numeric[] → numeric). */
const ARRAY_OF = new Map([[1231, 1700], [1115, 1114], [1185, 1184], [1187, 1186], [1182, 1082]]);

type Parser = (value: string, typeId?: number) => unknown;

/**
 * PGlite parses with the instance's parsers unless a query brings its own (`parsers` in its
 * options), and then it merges the two maps for that query: `{ ...instance, ...query }`. The
 * instance's map holds a parser per type and per array type (~320 entries), so that merge costs
 * ~45–65 µs a query (measured here: a trivial SELECT, 41–67 µs plain against 105–111 µs with
 * drizzle's options) — and drizzle passes its options with every query, as `rawIn` did: about 2 s
 * of CPU over the PGlite ingest bench, a tenth of the server's work.
 *
 * So the instance itself parses the AS_TEXT types as text, the way drizzle and `rawIn` ask, and:
 * - `forDrizzle` is the client drizzle is given: its queries (and those of its transactions) go
 *   without the per-query parsers that now repeat the instance's;
 * - `restore` converts a result of the plain path (`Database.query`) back to PGlite's own parsing
 *   of those types (timestamps and dates as Date, as node-postgres gives on PostgreSQL), with the
 *   parsers the instance had, for the columns of those types only.
 */
export function textParsers(client: PGlite): { forDrizzle: Pick<PGlite, 'query' | 'transaction'>; restore<T>(r: Results<T>): T[] } {
  const own = client.parsers as Record<number, Parser>;
  const byDefault = new Map<number, Parser>();
  for (const oid of AS_TEXT_OIDS) if (own[oid] && !ARRAY_OF.has(oid)) byDefault.set(oid, own[oid]);
  // PGlite's array parsers look their element's parser up in the instance's map when they run:
  // restored here with the element's parser as it was.
  for (const [array, element] of ARRAY_OF) {
    const parseElement = byDefault.get(element) ?? own[element];
    if (own[array]) byDefault.set(array, (v) => types.arrayParser(v, parseElement ?? asText, array));
  }
  for (const oid of AS_TEXT_OIDS) own[oid] = asText;
  type Query = PGlite['query'];
  type Opts = Parameters<Query>[2];
  // Options whose parsers are all AS_TEXT types (drizzle's): the instance parses those so already.
  const strip = (opts: Opts): Opts => {
    if (!opts?.parsers || !Object.keys(opts.parsers).every((k) => AS_TEXT.has(Number(k)))) return opts;
    const { parsers: _, ...rest } = opts;
    return rest;
  };
  const wrap = (query: Query, self: unknown): Query => ((text: string, params?: unknown[], opts?: Opts) => query.call(self, text, params, strip(opts))) as Query;
  const forDrizzle = {
    query: wrap(client.query, client),
    transaction: ((fn: (tx: unknown) => Promise<unknown>) =>
      client.transaction((tx) => fn(Object.assign(Object.create(tx), { query: wrap(tx.query, tx) })))) as PGlite['transaction'],
  };
  function restore<T>(r: Results<T>): T[] {
    let columns: Array<[string, Parser, number]> | undefined;
    for (const f of r.fields) {
      const p = byDefault.get(f.dataTypeID);
      if (p) (columns ??= []).push([f.name, p, f.dataTypeID]);
    }
    if (columns) {
      for (const row of r.rows as Record<string, unknown>[]) {
        for (const [name, p, oid] of columns) {
          const v = row[name];
          if (typeof v === 'string') row[name] = p(v, oid);
        }
      }
    }
    return r.rows;
  }
  return { forDrizzle, restore };
}

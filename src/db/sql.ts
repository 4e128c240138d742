import { sql, type SQL } from 'drizzle-orm';
import pg from 'pg';
import type { Db, QueryOptions } from './client.ts';
import { AS_TEXT_OIDS, asText } from './pglite-parsers.ts';

/** Runs raw SQL through drizzle (inside a transaction when given `tx`) and returns the rows. */
export async function rows<T = Record<string, unknown>>(tx: Db, query: SQL): Promise<T[]> {
  const r = (await tx.execute(query)) as unknown as { rows: T[] };
  return r.rows;
}

/** node-postgres: the AS_TEXT types as text, as drizzle's `execute` returns them; every other type by the driver's default parser. */
const PG_TYPES = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    return AS_TEXT_OIDS.includes(oid) ? asText : pg.types.getTypeParser(oid, format as 'text');
  },
};
/** PGlite: the instance already parses the AS_TEXT types as text (pglite-parsers.ts), so no per-query parsers. */
const PGLITE_OPTIONS = { rowMode: 'object' as const };

interface RawClient {
  query(...args: unknown[]): Promise<{ rows: unknown[] }>;
}

/**
 * Raw numbered-parameter SQL on the connection behind a drizzle `tx` (or db): the transaction's
 * own client, without drizzle's query building. Same statement, same parameters, same result
 * types as `rows(tx, sql…)` — about half the CPU per statement (measured here, a trivial SELECT
 * inside a transaction: 125 → 68 µs on PostgreSQL, 353 → 164 µs on PGlite), which matters on
 * paths that run many short statements in one transaction (identity writes). Null when the
 * session's client is not one we know, so callers fall back to drizzle.
 */
export function rawIn(tx: Db): (<T>(text: string, params: unknown[], opts?: QueryOptions) => Promise<T[]>) | null {
  const found: unknown = (tx as unknown as { session?: { client?: unknown } }).session?.client;
  if (!found || typeof (found as RawClient).query !== 'function') return null;
  const client = found as RawClient;
  // node-postgres: a Client / PoolClient / Pool (all take a query config object); else PGlite (or its transaction).
  const isNodePg = found instanceof pg.Client || found instanceof pg.Pool || 'release' in client || 'connection' in client;
  if (isNodePg) return async <T>(text: string, params: unknown[], opts?: QueryOptions) => (await client.query({ text, values: params, types: PG_TYPES, name: opts?.name })).rows as T[];
  return async <T>(text: string, params: unknown[]) => (await client.query(text, params, PGLITE_OPTIONS)).rows as T[];
}

/**
 * The distinct keys of a text[] parameter as a row source `keys(k)`, for one LATERAL probe per key:
 * `FROM ${keySet('$2')}, LATERAL (SELECT … WHERE workspace_id = $1 AND external_id = keys.k LIMIT 1) a`.
 * Unlike `external_id = ANY($2)`, the key stays the condition of an index lookup whatever the
 * statistics (docs/ARCHITECTURE.md, "Reads of a set of keys").
 */
export const keySet = (param: string) => `(SELECT DISTINCT unnest(${param}::text[]) AS k) keys`;

/**
 * Raw SQL with numbered placeholders as a drizzle `SQL`: `$n` becomes bound parameter n (an array
 * stays one parameter), so one query text serves both raw drivers and drizzle.
 */
export function numberedSql(text: string, params: readonly unknown[]): SQL {
  const parts = text.split(/\$(\d+)/);
  const chunks: SQL[] = [];
  for (let i = 0; i < parts.length; i++) {
    if (i % 2 === 0) {
      if (parts[i]) chunks.push(sql.raw(parts[i]));
    } else {
      const n = Number(parts[i]);
      if (n < 1 || n > params.length) throw new Error(`SQL parameter $${n} has no value`);
      chunks.push(sql`${sql.param(params[n - 1])}`);
    }
  }
  return sql.join(chunks);
}

/** Drivers hand timestamps back as Date or as text depending on the path; normalise. */
export function toDate(v: unknown): Date {
  if (v instanceof Date) return v;
  if (typeof v === 'string') {
    // PostgreSQL text form "2026-01-31 00:00:00+00" → ISO
    const d = new Date(v.includes('T') ? v : v.replace(' ', 'T').replace(/([+-]\d{2})$/, '$1:00'));
    if (!Number.isNaN(d.getTime())) return d;
  }
  throw new Error(`not a timestamp: ${String(v)}`);
}

/** `toDate` for a nullable column: null (or a missing field) stays null. */
export const toDateOrNull = (v: unknown): Date | null => (v === null || v === undefined ? null : toDate(v));

export { sql };

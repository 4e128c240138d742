import { sql, type SQL } from 'drizzle-orm';
import type { Db } from './client.ts';

/** Runs raw SQL through drizzle (inside a transaction when given `tx`) and returns the rows. */
export async function rows<T = Record<string, unknown>>(tx: Db, query: SQL): Promise<T[]> {
  const r = (await tx.execute(query)) as unknown as { rows: T[] };
  return r.rows;
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

export { sql };

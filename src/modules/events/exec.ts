import { sql, type SQL } from 'drizzle-orm';
import type { Db } from '../../context.ts';
import type { Database } from '../../db/client.ts';
import { rawIn, rows } from '../../db/sql.ts';
import type { Exec } from './events.ts';

/** Raw SQL on the shared connection(s): for statements that stand alone (autocommit). */
export function execOn(database: Database): Exec {
  return (text, params) => database.query(text, params);
}

/**
 * The same raw, numbered-parameter SQL inside a drizzle transaction, so one query text serves
 * both paths: sent on the transaction's own connection (db/sql.ts `rawIn`); through drizzle,
 * where `$n` placeholders become bound parameters, only for a session client we do not know.
 */
export function execIn(tx: Db): Exec {
  const raw = rawIn(tx);
  if (raw) return <T>(text: string, params: unknown[] = []) => raw<T>(text, params);
  return <T>(text: string, params: unknown[] = []) => rows<T>(tx, toSql(text, params));
}

function toSql(text: string, params: unknown[]): SQL {
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

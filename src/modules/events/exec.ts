import { sql, type SQL } from 'drizzle-orm';
import type { Db } from '../../context.ts';
import type { Database } from '../../db/client.ts';
import { rows } from '../../db/sql.ts';
import type { Exec } from './events.ts';

/** Raw SQL on the shared connection(s): for statements that stand alone (autocommit). */
export function execOn(database: Database): Exec {
  return (text, params) => database.query(text, params);
}

/**
 * The same raw, numbered-parameter SQL inside a drizzle transaction, so one query text serves
 * both paths. `$n` placeholders become bound parameters (arrays stay one parameter).
 */
export function execIn(tx: Db): Exec {
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

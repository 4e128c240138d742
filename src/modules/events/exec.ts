import type { Db } from '../../context.ts';
import type { Database, QueryOptions } from '../../db/client.ts';
import { numberedSql, rawIn, rows } from '../../db/sql.ts';
import type { Exec } from './events.ts';

/** Raw SQL on the shared connection(s): for statements that stand alone (autocommit). */
export function execOn(database: Database): Exec {
  return (text, params, opts) => database.query(text, params, opts);
}

/**
 * The same raw, numbered-parameter SQL inside a drizzle transaction, so one query text serves
 * both paths: sent on the transaction's own connection (db/sql.ts `rawIn`); through drizzle,
 * where `$n` placeholders become bound parameters, only for a session client we do not know.
 */
export function execIn(tx: Db): Exec {
  const raw = rawIn(tx);
  if (raw) return <T>(text: string, params: unknown[] = [], opts?: QueryOptions) => raw<T>(text, params, opts);
  return <T>(text: string, params: unknown[] = []) => rows<T>(tx, numberedSql(text, params));
}

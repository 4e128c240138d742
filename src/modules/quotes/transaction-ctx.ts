import type { Ctx, Db } from '../../context.ts';
import type { Database } from '../../db/client.ts';
import { execIn } from '../events/index.ts';

/**
 * A command context whose database IS the caller's transaction. Other modules' commands open
 * their own transaction with `ctx.deps.database.db.transaction(…)`; handed this context, they
 * open a SAVEPOINT inside ours instead, and their raw queries run on our connection. That is
 * how checkout (account + contact + card + subscription + first charge) and quote acceptance
 * (acceptance + subscription or amendment + credit) commit or roll back as ONE unit: a declined
 * card leaves no account, no subscription, no invoice behind.
 */
export function inTransaction(ctx: Ctx, tx: Db): Ctx {
  const outer = ctx.deps.database;
  const exec = execIn(tx);
  const database: Database = {
    kind: outer.kind,
    describe: `${outer.describe} (in a transaction)`,
    db: tx,
    query: <T>(text: string, params?: unknown[]) => exec<T>(text, params ?? []),
    migrate: () => Promise.reject(new Error('migrate() inside a transaction')),
    close: () => Promise.reject(new Error('close() inside a transaction')),
  };
  return { ...ctx, deps: { ...ctx.deps, database } };
}

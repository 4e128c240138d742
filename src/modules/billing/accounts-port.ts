import type { Db } from '../../context.ts';
import { notFound } from '../../kernel/errors.ts';
import { resolveAccountId } from '../accounts/index.ts';

/**
 * Billing keys everything on account ids. A merged account's id resolves to the survivor, so a
 * subscription created with an old id lands on the account that carries the history.
 */
export async function requireAccount(tx: Db, workspaceId: string, accountId: string): Promise<string> {
  const id = await resolveAccountId(tx, workspaceId, accountId);
  if (!id) throw notFound('account', accountId, 'account');
  return id;
}

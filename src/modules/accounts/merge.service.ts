/**
 * Merging one account into another (consolidation): nothing is lost. Events, contacts,
 * memberships, domains and timeline items move to the survivor; the merged account keeps its
 * row (status 'merged', merged_into = survivor) so every id that pointed at it still resolves.
 */
import type { Ctx } from '../../context.ts';
import { publish } from '../../jobs/outbox.ts';
import { AppError, notFound } from '../../kernel/errors.ts';
import { execIn, repointAccountEvents } from '../events/index.ts';
import { recordAudit } from '../workspaces/index.ts';
import * as repo from './accounts.repo.ts';
import { accountSnapshot, type MergeResult } from './accounts.ts';
import { activity, lockIdentity, type TxCtx } from './identity.links.ts';

const count = async (p: Promise<Array<{ n: number }>>) => Number((await p)[0]?.n ?? 0);

/** Merges account `sourceId` into account `intoId` (which may itself be a merged id: its survivor is used). */
export async function mergeAccounts(ctx: Ctx, sourceId: string, intoId: string): Promise<MergeResult> {
  return ctx.deps.database.db.transaction(async (tx) => {
    const t: TxCtx = { tx, exec: execIn(tx), ctx };
    await lockIdentity(t);
    const ws = ctx.workspaceId;
    const source = await repo.accountRow(t.exec, ws, sourceId);
    if (!source) throw notFound('account', sourceId);
    const into = await repo.resolveAccountId(t.exec, ws, intoId);
    if (!into) throw notFound('account', intoId, 'into');
    if (source.status === 'merged') {
      throw new AppError({ code: 'state_conflict', message: `Account ${sourceId} was already merged into ${source.merged_into as string}.`, param: 'id' });
    }
    if (into === sourceId) throw new AppError({ code: 'parameter_invalid', message: 'An account cannot be merged into itself.', param: 'into' });
    // Lock both rows in id order (two opposite merges cannot deadlock), then re-check under the lock.
    for (const id of [sourceId, into].sort()) await repo.accountRow(t.exec, ws, id, true);
    const [s0, i0] = [await repo.accountRow(t.exec, ws, sourceId), await repo.accountRow(t.exec, ws, into)];
    if (s0!.status === 'merged' || i0!.status === 'merged') throw new AppError({ code: 'state_conflict', message: 'One of the accounts was merged meanwhile; retry.', param: 'id' });
    const before = await repo.loadAccounts(t.exec, ws, [sourceId, into]);
    const [sourceBefore, intoBefore] = [before.find((a) => a.id === sourceId)!, before.find((a) => a.id === into)!];

    const events = await repointAccountEvents(t.exec, { workspaceId: ws, fromAccountId: sourceId, toAccountId: into });
    const contacts = await count(
      t.exec(`WITH u AS (UPDATE contacts SET account_id = $3, updated_at = $4::timestamptz WHERE workspace_id = $1 AND account_id = $2 RETURNING 1) SELECT count(*)::int AS n FROM u`, [
        ws,
        sourceId,
        into,
        ctx.asOf.toISOString(),
      ]),
    );
    const memberships = await count(
      t.exec(
        `WITH moved AS (DELETE FROM account_memberships WHERE workspace_id = $1 AND account_id = $2 RETURNING contact_id, first_seen_at, last_seen_at),
              ins AS (INSERT INTO account_memberships (workspace_id, account_id, contact_id, first_seen_at, last_seen_at)
                      SELECT $1, $3, contact_id, first_seen_at, last_seen_at FROM moved
                      ON CONFLICT (workspace_id, account_id, contact_id) DO UPDATE SET
                        first_seen_at = LEAST(account_memberships.first_seen_at, excluded.first_seen_at),
                        last_seen_at = GREATEST(account_memberships.last_seen_at, excluded.last_seen_at)
                      RETURNING 1)
         SELECT count(*)::int AS n FROM ins`,
        [ws, sourceId, into],
      ),
    );
    // Domains: a domain both hold stays once on the survivor (claimed if either claimed it).
    const dupes = await t.exec<{ domain: string; claimed: boolean }>(
      `DELETE FROM account_domains s WHERE s.workspace_id = $1 AND s.account_id = $2
         AND EXISTS (SELECT 1 FROM account_domains i WHERE i.workspace_id = $1 AND i.account_id = $3 AND i.domain = s.domain)
       RETURNING s.domain, s.claimed`,
      [ws, sourceId, into],
    );
    const claimedDupes = dupes.filter((d) => d.claimed).map((d) => d.domain);
    if (claimedDupes.length) await t.exec('UPDATE account_domains SET claimed = true WHERE workspace_id = $1 AND account_id = $2 AND domain = ANY($3::text[])', [ws, into, claimedDupes]);
    const domains = await count(
      t.exec(`WITH u AS (UPDATE account_domains SET account_id = $3 WHERE workspace_id = $1 AND account_id = $2 RETURNING 1) SELECT count(*)::int AS n FROM u`, [ws, sourceId, into]),
    );
    const moved = await count(
      t.exec(`WITH u AS (UPDATE account_activity SET account_id = $3 WHERE workspace_id = $1 AND account_id = $2 RETURNING 1) SELECT count(*)::int AS n FROM u`, [ws, sourceId, into]),
    );
    // The survivor keeps its own values; gaps are filled from the merged account.
    await t.exec(
      `UPDATE accounts i SET name = coalesce(i.name, s.name), employees = coalesce(i.employees, s.employees), industry = coalesce(i.industry, s.industry),
              country = coalesce(i.country, s.country), segment = coalesce(i.segment, s.segment), motion = coalesce(i.motion, s.motion),
              owner_id = coalesce(i.owner_id, s.owner_id), lifecycle_stage = coalesce(i.lifecycle_stage, s.lifecycle_stage),
              traits = s.traits || i.traits, updated_at = $4::timestamptz
       FROM accounts s WHERE i.workspace_id = $1 AND i.id = $3 AND s.workspace_id = $1 AND s.id = $2`,
      [ws, sourceId, into, ctx.asOf.toISOString()],
    );
    // Chains stay one hop long: whatever was merged into the source now points at the survivor.
    await t.exec('UPDATE accounts SET merged_into = $3 WHERE workspace_id = $1 AND merged_into = $2', [ws, sourceId, into]);
    // The group ids of the source (and of what was merged into it) now name the survivor.
    await repo.bumpIdentityEpoch(t.exec, ws);
    await t.exec(`UPDATE accounts SET status = 'merged', merged_into = $3, merged_at = $4::timestamptz, updated_at = $4::timestamptz WHERE workspace_id = $1 AND id = $2`, [
      ws,
      sourceId,
      into,
      ctx.asOf.toISOString(),
    ]);
    const counts = { events, contacts, domains: domains + dupes.length, memberships, activity: moved };
    await activity(t, {
      accountId: into,
      type: 'merge',
      kind: 'account_merged',
      summary: `Account ${sourceId}${sourceBefore.name ? ` (${sourceBefore.name})` : ''} merged into this account`,
      data: { merged_account: sourceId, merged_name: sourceBefore.name, merged_external_id: sourceBefore.externalId, moved: counts },
      occurredAt: ctx.asOf,
    });
    const [merged, account] = [(await repo.loadAccount(t.exec, ws, sourceId))!, (await repo.loadAccount(t.exec, ws, into))!];
    await recordAudit(tx, ctx, { action: 'account.merged', entityType: 'account', entityId: sourceId, before: accountSnapshot(sourceBefore), after: accountSnapshot(merged) });
    await recordAudit(tx, ctx, { action: 'account.merged', entityType: 'account', entityId: into, before: accountSnapshot(intoBefore), after: { ...accountSnapshot(account), merged_from: sourceId, moved: counts } });
    await publish(tx, ctx, 'account.merged', { account: accountSnapshot(account), merged_account: sourceId, moved: counts });
    return { account, merged, moved: counts };
  });
}

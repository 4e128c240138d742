/**
 * Real outcomes a score is judged against, from billing's data:
 * - became_paying: the account's first paid invoice with money received (amount_paid > 0);
 * - upgraded: a `subscription.updated` domain event moving a subscription to a plan version that
 *   typically costs more per month (catalog's typicalMonthlyAmount, at the subscription's quantity).
 * "Opportunity won" joins when the hand-off module adds opportunities; no such table exists yet.
 *
 * Read set-based from billing's invoices table and the outbox (a backtest reads every account's
 * history at once), and the catalog through its public door.
 */
import type { Ctx } from '../../context.ts';
import { toDate } from '../../db/sql.ts';
import { getPlanVersion, typicalMonthlyAmount } from '../catalog/index.ts';
import { execOn } from '../events/index.ts';

export const OUTCOMES = ['became_paying', 'upgraded'] as const;
export type Outcome = (typeof OUTCOMES)[number];

export interface OutcomeEvent {
  kind: Outcome;
  at: Date;
}

/** Outcome instants per account, oldest first. */
export async function loadOutcomes(ctx: Ctx, kinds: readonly Outcome[]): Promise<Map<string, OutcomeEvent[]>> {
  const exec = execOn(ctx.deps.database);
  const out = new Map<string, OutcomeEvent[]>();
  const add = (accountId: string, e: OutcomeEvent) => out.set(accountId, [...(out.get(accountId) ?? []), e]);
  if (kinds.includes('became_paying')) {
    const paid = await exec<{ account_id: string; at: unknown }>(
      `SELECT account_id, min(paid_at) AS at FROM invoices
       WHERE workspace_id = $1 AND status = 'paid' AND amount_paid > 0 AND paid_at IS NOT NULL GROUP BY account_id`,
      [ctx.workspaceId],
    );
    for (const r of paid) add(r.account_id, { kind: 'became_paying', at: toDate(r.at) });
  }
  if (kinds.includes('upgraded')) {
    const changes = await exec<{ data: unknown; occurred_at: unknown }>(
      `SELECT data, occurred_at FROM events
       WHERE workspace_id = $1 AND type = 'subscription.updated' AND data ? 'previous'
         AND (data -> 'previous' ->> 'plan_version') IS DISTINCT FROM (data -> 'subscription' ->> 'plan_version')
       ORDER BY occurred_at, id`,
      [ctx.workspaceId],
    );
    const monthly = new Map<string, number>();
    const amountOf = async (versionId: string, currency: string, seats: number) => {
      const key = `${versionId}:${currency}:${seats}`;
      if (!monthly.has(key)) {
        const version = await getPlanVersion(ctx.deps.database.db, ctx.workspaceId, versionId);
        monthly.set(key, typicalMonthlyAmount(version, { currency, seats }).amount);
      }
      return monthly.get(key)!;
    };
    for (const r of changes) {
      const data = (typeof r.data === 'string' ? JSON.parse(r.data) : r.data) as { subscription: Record<string, unknown>; previous: Record<string, unknown> };
      const before = data.previous;
      const after = data.subscription;
      if (typeof before?.plan_version !== 'string' || typeof after?.plan_version !== 'string') continue;
      const currency = String(after.currency);
      const [was, now] = await Promise.all([amountOf(before.plan_version, currency, Number(before.quantity ?? 1)), amountOf(after.plan_version, currency, Number(after.quantity ?? 1))]);
      if (now > was) add(String(after.account), { kind: 'upgraded', at: toDate(r.occurred_at) });
    }
  }
  for (const list of out.values()) list.sort((a, b) => a.at.getTime() - b.at.getTime());
  return out;
}

import type { Ctx } from '../../context.ts';
import { rows, sql } from '../../db/sql.ts';
import { renew, start } from './subscriptions.service.ts';

export interface BillRunResult {
  subscriptions_due: number;
  renewed: number;
  invoices_created: number;
  failed: Array<{ subscription: string; error: string }>;
}

/**
 * Renews every live subscription of the workspace whose period has ended by `ctx.asOf` — what
 * the renewal jobs do one by one, on demand. Each subscription renews in its own transaction, so
 * a crash half-way leaves the done ones done and the rest due: running it again finishes the
 * job, with no duplicate (the period moved on; invoice lines are unique per charge and period)
 * and no gap (the rest are still due). On PostgreSQL several subscriptions renew at once.
 */
export async function runBillRun(ctx: Ctx, opts: { concurrency?: number } = {}): Promise<BillRunResult> {
  const db = ctx.deps.database.db;
  const due = await rows<{ id: string; status: string }>(
    db,
    sql`SELECT id, status FROM subscriptions WHERE workspace_id = ${ctx.workspaceId}
        AND ((status IN ('trialing', 'active', 'past_due') AND current_period_end <= ${ctx.asOf})
          OR (status = 'scheduled' AND current_period_start <= ${ctx.asOf}))
        ORDER BY current_period_end, id`,
  );
  const result: BillRunResult = { subscriptions_due: due.length, renewed: 0, invoices_created: 0, failed: [] };
  const concurrency = ctx.deps.database.kind === 'postgres' ? Math.max(1, opts.concurrency ?? 8) : 1;
  let next = 0;
  const worker = async () => {
    while (next < due.length) {
      const { id, status } = due[next++];
      try {
        if (status === 'scheduled') await db.transaction((tx) => start(tx, ctx, id));
        // A subscription several periods behind renews period by period until it is current.
        for (let guard = 0; guard < 1000; guard++) {
          const r = await db.transaction((tx) => renew(tx, ctx, id));
          if (!r.renewed) break;
          result.renewed++;
          if (r.invoiceId) result.invoices_created++;
        }
      } catch (e) {
        result.failed.push({ subscription: id, error: (e as Error).message });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(due.length, 1)) }, worker));
  return result;
}

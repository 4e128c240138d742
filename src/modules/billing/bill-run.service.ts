import type { Ctx } from '../../context.ts';
import { rows, sql } from '../../db/sql.ts';
import { newCatalogCache } from './plan.ts';
import { renewMany, type Renewed } from './renewal.service.ts';
import { start } from './subscriptions.service.ts';

export interface BillRunResult {
  subscriptions_due: number;
  renewed: number;
  invoices_created: number;
  failed: Array<{ subscription: string; error: string }>;
}

export interface BillRunOptions {
  /** Batches renewing at once on PostgreSQL (PGlite has one connection: always 1). */
  concurrency?: number;
  /** Subscriptions renewed per transaction. */
  batchSize?: number;
}

const DEFAULT_CONCURRENCY = 4;
const DEFAULT_BATCH_SIZE = 1000;

/** Live subscriptions whose period has ended: the partial index `subscriptions_due` answers it. */
async function dueIds(ctx: Ctx): Promise<string[]> {
  const due = await rows<{ id: string }>(
    ctx.deps.database.db,
    sql`SELECT id FROM subscriptions WHERE workspace_id = ${ctx.workspaceId}
        AND status IN ('trialing', 'active', 'past_due') AND current_period_end <= ${ctx.asOf}
        ORDER BY current_period_end, id`,
  );
  return due.map((r) => r.id);
}

async function startingIds(ctx: Ctx): Promise<string[]> {
  const starting = await rows<{ id: string }>(
    ctx.deps.database.db,
    sql`SELECT id FROM subscriptions WHERE workspace_id = ${ctx.workspaceId} AND status = 'scheduled' AND current_period_start <= ${ctx.asOf}
        ORDER BY current_period_start, id`,
  );
  return starting.map((r) => r.id);
}

async function eachConcurrently<T>(items: readonly T[], concurrency: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await run(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

/**
 * Renews every live subscription of the workspace whose period has ended by `ctx.asOf` — what
 * the renewal jobs do one by one — in batches: each batch renews in ONE transaction with a
 * constant number of statements (`renewMany`), several batches at once on PostgreSQL, the
 * catalog (immutable plan versions, metrics) read once for the whole run. Rows a renewal job (or
 * another bill run) holds are skipped and left to it. A subscription several periods behind
 * renews period by period: the run loops until nothing is due.
 *
 * A batch that fails (one subscription with a broken plan version) rolls back whole and its
 * subscriptions are renewed again one by one, each in its own transaction, so only the broken
 * one fails and is reported. A crash half-way leaves committed batches done and the rest due:
 * running again finishes the job, with no duplicate (the period moved on; invoice lines are
 * unique per charge and period) and no gap (the rest are still due).
 */
export async function runBillRun(ctx: Ctx, opts: BillRunOptions = {}): Promise<BillRunResult> {
  const db = ctx.deps.database.db;
  const concurrency = ctx.deps.database.kind === 'postgres' ? Math.max(1, opts.concurrency ?? DEFAULT_CONCURRENCY) : 1;
  const batchSize = Math.max(1, opts.batchSize ?? DEFAULT_BATCH_SIZE);
  const result: BillRunResult = { subscriptions_due: 0, renewed: 0, invoices_created: 0, failed: [] };
  const seen = new Set<string>();
  const cache = newCatalogCache();
  // Failed, or taken by another transaction: not retried by this run.
  const excluded = new Set<string>();
  const fail = (id: string, e: unknown) => {
    excluded.add(id);
    result.failed.push({ subscription: id, error: (e as Error).message });
  };
  const count = (renewed: readonly Renewed[]) => {
    result.renewed += renewed.length;
    result.invoices_created += renewed.filter((r) => r.invoiceId).length;
  };

  // Scheduled starts are rare: each in its own transaction, as its job would.
  for (const id of await startingIds(ctx)) {
    seen.add(id);
    try {
      await db.transaction((tx) => start(tx, ctx, id));
    } catch (e) {
      fail(id, e);
    }
  }

  const renewBatch = async (ids: string[]) => {
    let renewed: Renewed[];
    try {
      renewed = await db.transaction((tx) => renewMany(tx, ctx, ids, { skipLocked: true, cache }));
    } catch {
      renewed = [];
      for (const id of ids) {
        try {
          renewed.push(...(await db.transaction((tx) => renewMany(tx, ctx, [id], { skipLocked: true, cache }))));
        } catch (e) {
          fail(id, e);
        }
      }
    }
    count(renewed);
    const done = new Set(renewed.map((r) => r.subscriptionId));
    for (const id of ids) if (!done.has(id)) excluded.add(id);
  };

  for (let pass = 0; pass < 1000; pass++) {
    const due = (await dueIds(ctx)).filter((id) => !excluded.has(id));
    if (!due.length) break;
    for (const id of due) seen.add(id);
    const batches: string[][] = [];
    for (let i = 0; i < due.length; i += batchSize) batches.push(due.slice(i, i + batchSize));
    await eachConcurrently(batches, concurrency, renewBatch);
  }
  result.subscriptions_due = seen.size;
  return result;
}

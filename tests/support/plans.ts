import type { Database } from '../../src/db/client.ts';
import { execIn, type Exec } from '../../src/modules/events/index.ts';

/** A node of EXPLAIN (FORMAT JSON)'s plan tree. */
export interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Rows Removed by Filter'?: number;
  Plans?: PlanNode[];
}

/** Rows read and then discarded by a filter, over the whole plan. */
export const removedByFilter = (n: PlanNode): number => (n['Rows Removed by Filter'] ?? 0) + (n.Plans ?? []).reduce((s, c) => s + removedByFilter(c), 0);
export const nodeTypes = (n: PlanNode): string[] => [n['Node Type'], ...(n.Plans ?? []).flatMap(nodeTypes)];

/**
 * Runs `fn` with an Exec that explains (EXPLAIN ANALYZE) and then runs each statement, in one
 * transaction; `settings` are SET LOCAL first. Returns fn's result and the plans, in order.
 */
export async function explained<T>(db: Database, fn: (exec: Exec) => Promise<T>, settings: readonly string[] = []): Promise<{ result: T; plans: PlanNode[] }> {
  const plans: PlanNode[] = [];
  let result!: T;
  await db.db.transaction(async (tx) => {
    const exec = execIn(tx);
    for (const s of settings) await exec(`SET LOCAL ${s}`);
    result = await fn(async <R,>(text: string, params?: unknown[]) => {
      const [r] = await exec<Record<string, unknown>>(`EXPLAIN (ANALYZE, FORMAT JSON) ${text}`, params);
      const raw = Object.values(r)[0];
      const doc = (typeof raw === 'string' ? JSON.parse(raw) : raw) as Array<{ Plan: PlanNode }>;
      plans.push(doc[0].Plan);
      return (await exec<R>(text, params)) as R[];
    });
  });
  return { result, plans };
}

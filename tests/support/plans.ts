import assert from 'node:assert/strict';
import type { Database } from '../../src/db/client.ts';
import { execIn, type Exec } from '../../src/modules/events/index.ts';

/** A node of EXPLAIN (FORMAT JSON)'s plan tree. */
export interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Relation Name'?: string;
  'Index Cond'?: string;
  'Recheck Cond'?: string;
  'Rows Removed by Filter'?: number;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  Plans?: PlanNode[];
}

/** Rows read and then discarded by a filter, over the whole plan. */
export const removedByFilter = (n: PlanNode): number => (n['Rows Removed by Filter'] ?? 0) + (n.Plans ?? []).reduce((s, c) => s + removedByFilter(c), 0);
export const nodeTypes = (n: PlanNode): string[] => [n['Node Type'], ...(n.Plans ?? []).flatMap(nodeTypes)];
/** Rows a scan node read over all its loops: those it returned and those its filter discarded (EXPLAIN gives both per loop). */
export const rowsRead = (n: PlanNode): number => ((n['Actual Rows'] ?? 0) + (n['Rows Removed by Filter'] ?? 0)) * (n['Actual Loops'] ?? 1);
/** The plan's nodes that read `relation` (scans of the table itself). */
export const scansOf = (n: PlanNode, relation: string): PlanNode[] => [...(n['Relation Name'] === relation ? [n] : []), ...(n.Plans ?? []).flatMap((c) => scansOf(c, relation))];

/**
 * Runs `fn` with an Exec that explains (EXPLAIN ANALYZE) and then runs each statement, in one
 * transaction; `settings` are SET LOCAL first. Returns fn's result and the plans, in order.
 * EXPLAIN ANALYZE executes the statement: its effects are rolled back (a savepoint), so a write
 * takes effect once, from the second run, whose result fn sees.
 */
export async function explained<T>(db: Database, fn: (exec: Exec) => Promise<T>, settings: readonly string[] = []): Promise<{ result: T; plans: PlanNode[] }> {
  const plans: PlanNode[] = [];
  let result!: T;
  await db.db.transaction(async (tx) => {
    const exec = execIn(tx);
    for (const s of settings) await exec(`SET LOCAL ${s}`);
    result = await fn(async <R,>(text: string, params?: unknown[]) => {
      await exec('SAVEPOINT explained');
      const [r] = await exec<Record<string, unknown>>(`EXPLAIN (ANALYZE, FORMAT JSON) ${text}`, params);
      await exec('ROLLBACK TO SAVEPOINT explained');
      const raw = Object.values(r)[0];
      const doc = (typeof raw === 'string' ? JSON.parse(raw) : raw) as Array<{ Plan: PlanNode }>;
      plans.push(doc[0].Plan);
      return (await exec<R>(text, params)) as R[];
    });
  });
  return { result, plans };
}

/**
 * Runs `read` under EXPLAIN ANALYZE and checks it reads by key: for each table of `tables`, its
 * scans over all of read's statements read at most `perKey` rows per key asked (`keys`) + 4, and
 * none is a Seq Scan. Returns read's result and the plans.
 */
export async function readsByKey<T>(db: Database, read: (exec: Exec) => Promise<T>, keys: number, tables: Record<string, number>): Promise<{ result: T; plans: PlanNode[] }> {
  const { result, plans } = await explained(db, read);
  for (const [table, perKey] of Object.entries(tables)) {
    const scans = plans.flatMap((p) => scansOf(p, table));
    assert.ok(scans.length > 0 && scans.every((n) => n['Node Type'] !== 'Seq Scan'), `${table}: ${JSON.stringify(plans)}`);
    const rows = scans.reduce((sum, n) => sum + rowsRead(n), 0);
    assert.ok(rows <= keys * perKey + 4, `${table}: ${rows} rows read for ${keys} keys: ${JSON.stringify(plans)}`);
  }
  return { result, plans };
}

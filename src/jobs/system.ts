import type { Deps } from '../context.ts';
import { rows, sql, toDate } from '../db/sql.ts';
import { enqueue } from './queue.ts';
import type { JobRegistry } from './registry.ts';

const HOUR_MS = 3600_000;
const nextHour = (after: Date) => new Date(Math.floor(after.getTime() / HOUR_MS) * HOUR_MS + HOUR_MS);

/**
 * Housekeeping that belongs to no workspace and runs on wall time: idempotency keys expire after
 * 24 hours; finished jobs are kept 30 days for inspection.
 */
export function registerSystemJobs(registry: JobRegistry) {
  registry.handle('system.prune', {
    transactional: true,
    async run(tx, ctx) {
      const now = ctx.deps.clock.now();
      await tx.execute(sql`DELETE FROM idempotency_keys WHERE created_at < ${new Date(now.getTime() - 24 * HOUR_MS)}`);
      await tx.execute(sql`DELETE FROM jobs WHERE status = 'done' AND finished_at < ${new Date(now.getTime() - 30 * 24 * HOUR_MS)} AND workspace_id IS NULL`);
      await enqueue(tx, { workspaceId: null, kind: 'system.prune', runAt: nextHour(now), dedupeKey: `system.prune:${nextHour(now).toISOString()}`, asOf: now });
    },
  });
}

export async function scheduleSystemJobs(deps: Deps) {
  const now = deps.clock.now();
  const at = nextHour(now);
  await enqueue(deps.database.db, { workspaceId: null, kind: 'system.prune', runAt: at, dedupeKey: `system.prune:${at.toISOString()}`, asOf: now });
}

/**
 * Every workspace has the next occurrence of every registered recurring job queued (a module
 * added since the workspace was created included). Idempotent: schedules are aligned (`next` is
 * a function of time only), so the occurrence computed again has the same dedupe key.
 */
export async function ensureRecurringJobs(deps: Deps) {
  if (!deps.registry.recurring.length) return;
  const wall = deps.clock.now();
  const list = await rows<{ id: string; test_clock_time: unknown }>(deps.database.db, sql`SELECT id, test_clock_time FROM workspaces`);
  for (const ws of list) {
    const after = ws.test_clock_time ? toDate(ws.test_clock_time) : wall;
    for (const s of deps.registry.recurring) {
      const at = s.next(after);
      await enqueue(deps.database.db, { workspaceId: ws.id, kind: s.kind, runAt: at, dedupeKey: `recurring:${s.kind}:${at.toISOString()}`, asOf: after });
    }
  }
}

import type { Deps } from '../context.ts';
import { sql } from '../db/sql.ts';
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

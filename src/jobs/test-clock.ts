import type { Deps } from '../context.ts';
import { rows, sql, toDate } from '../db/sql.ts';
import { AppError } from '../kernel/errors.ts';
import type { ClaimedJob, JobRunner } from './runner.ts';

export interface AdvanceResult {
  from: Date;
  to: Date;
  jobsRun: number;
}

const MAX_JOBS_PER_ADVANCE = 2_000_000;

/**
 * Moves a sandbox workspace's test clock to `target`, running every job that falls due on the
 * way in time order: the clock stands at each job's due time while that job runs, so the job
 * sees exactly the instant a real deployment would. Jobs those jobs enqueue (the next renewal,
 * a payment retry) run too if they fall due before `target`. Returns when all is done.
 */
export async function advanceTestClock(deps: Deps, runner: JobRunner, workspaceId: string, target: Date): Promise<AdvanceResult> {
  const db = deps.database.db;
  const [ws] = await rows<{ sandbox: boolean; test_clock_time: unknown; test_clock_status: string }>(
    db,
    sql`SELECT sandbox, test_clock_time, test_clock_status FROM workspaces WHERE id = ${workspaceId}`,
  );
  if (!ws || !ws.sandbox) throw new AppError({ code: 'test_clock_unavailable' });
  const from = toDate(ws.test_clock_time);
  if (target.getTime() < from.getTime()) {
    throw new AppError({ code: 'test_clock_backwards', message: `The test clock is at ${from.toISOString()}; it cannot go back to ${target.toISOString()}.`, param: 'to' });
  }
  const taken = await rows(
    db,
    sql`UPDATE workspaces SET test_clock_status = 'advancing' WHERE id = ${workspaceId} AND test_clock_status = 'ready' RETURNING id`,
  );
  if (taken.length === 0) throw new AppError({ code: 'test_clock_advancing' });

  let jobsRun = 0;
  try {
    for (;;) {
      // A worker may have claimed a due job just before the clock was marked advancing: wait for it.
      const busy = await rows(
        db,
        sql`SELECT 1 FROM jobs WHERE workspace_id = ${workspaceId} AND status = 'running' AND locked_until > ${deps.clock.now()} AND locked_by <> ${runner.workerId} LIMIT 1`,
      );
      if (busy.length > 0) {
        await new Promise((r) => setTimeout(r, 20));
        continue;
      }
      const next = await claimNext(deps, runner, workspaceId, target);
      if (!next) break;
      if (++jobsRun > MAX_JOBS_PER_ADVANCE) throw new Error('test clock advance ran too many jobs; a job keeps scheduling itself');
      await db.execute(sql`UPDATE workspaces SET test_clock_time = GREATEST(test_clock_time, ${next.run_at}) WHERE id = ${workspaceId}`);
      const [c] = await rows<{ t: unknown }>(db, sql`SELECT test_clock_time AS t FROM workspaces WHERE id = ${workspaceId}`);
      await runner.execute({ ...next, as_of: toDate(c.t) });
    }
    await db.execute(sql`UPDATE workspaces SET test_clock_time = GREATEST(test_clock_time, ${target}) WHERE id = ${workspaceId}`);
  } finally {
    await db.execute(sql`UPDATE workspaces SET test_clock_status = 'ready' WHERE id = ${workspaceId}`);
  }
  return { from, to: target, jobsRun };
}

async function claimNext(deps: Deps, runner: JobRunner, workspaceId: string, target: Date): Promise<ClaimedJob | undefined> {
  const now = deps.clock.now();
  const [r] = await rows<Record<string, unknown>>(
    deps.database.db,
    sql`WITH next AS (
        SELECT id FROM jobs
        WHERE workspace_id = ${workspaceId} AND run_at <= ${target}
          AND (status = 'pending' OR (status = 'running' AND locked_until < ${now}))
        ORDER BY run_at, id LIMIT 1
        FOR UPDATE SKIP LOCKED
      )
      UPDATE jobs SET status = 'running', attempts = jobs.attempts + 1, locked_by = ${runner.workerId},
        locked_until = ${new Date(now.getTime() + 5 * 60_000)}
      FROM next WHERE jobs.id = next.id
      RETURNING jobs.id, jobs.kind, jobs.payload, jobs.run_at, jobs.attempts, jobs.max_attempts`,
  );
  if (!r) return undefined;
  return {
    id: r.id as string,
    workspace_id: workspaceId,
    kind: r.kind as string,
    payload: (typeof r.payload === 'string' ? JSON.parse(r.payload) : r.payload) as Record<string, unknown>,
    run_at: toDate(r.run_at),
    attempts: Number(r.attempts),
    max_attempts: Number(r.max_attempts),
    as_of: toDate(r.run_at),
  };
}

import { hostname } from 'node:os';
import type { Db, Deps } from '../context.ts';
import { enqueue } from './queue.ts';
import { rows, sql, toDate } from '../db/sql.ts';
import { retryDelayMs, type JobContext } from './registry.ts';

export interface ClaimedJob {
  id: string;
  workspace_id: string | null;
  kind: string;
  payload: Record<string, unknown>;
  run_at: Date;
  attempts: number;
  max_attempts: number;
  /** The workspace's clock when claimed: the test clock in a sandbox, wall time otherwise. */
  as_of: Date;
}

const LEASE_MS = 5 * 60_000;

/**
 * Claims and runs due jobs. Several workers (processes) over one PostgreSQL are safe: a claim
 * is `FOR UPDATE SKIP LOCKED` plus a lease, so a job runs on one worker at a time, and a
 * crashed worker's job is claimed again when its lease expires.
 *
 * Sandbox workspaces' jobs fall due on their test clock; while a clock is advancing, the
 * advance runs them itself, in time order, so workers keep off.
 */
export class JobRunner {
  readonly workerId = `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private stopped = true;
  private wake: (() => void) | undefined;

  constructor(
    private readonly deps: Deps,
    private readonly opts: { pollMs?: number; batch?: number } = {},
  ) {}

  /** Claims up to `limit` due jobs across workspaces. */
  async claimDue(limit: number): Promise<ClaimedJob[]> {
    const now = this.deps.clock.now();
    const leaseUntil = new Date(now.getTime() + LEASE_MS);
    const claimed = await rows<Record<string, unknown>>(
      this.deps.database.db,
      sql`
      WITH due AS (
        SELECT j.id
        FROM jobs j LEFT JOIN workspaces w ON w.id = j.workspace_id
        WHERE (j.status = 'pending' OR (j.status = 'running' AND j.locked_until < ${now}))
          AND (
            ((w.id IS NULL OR NOT w.sandbox) AND j.run_at <= ${now})
            OR (w.sandbox AND w.test_clock_status = 'ready' AND j.run_at <= w.test_clock_time)
          )
        ORDER BY j.run_at, j.id
        LIMIT ${limit}
        FOR UPDATE OF j SKIP LOCKED
      )
      UPDATE jobs SET status = 'running', attempts = jobs.attempts + 1, locked_by = ${this.workerId}, locked_until = ${leaseUntil}
      FROM due WHERE jobs.id = due.id
      RETURNING jobs.id, jobs.workspace_id, jobs.kind, jobs.payload, jobs.run_at, jobs.attempts, jobs.max_attempts,
        (SELECT w2.test_clock_time FROM workspaces w2 WHERE w2.id = jobs.workspace_id) AS clock_time`,
    );
    return claimed
      .map((r) => ({
        id: r.id as string,
        workspace_id: (r.workspace_id as string | null) ?? null,
        kind: r.kind as string,
        payload: (typeof r.payload === 'string' ? JSON.parse(r.payload) : r.payload) as Record<string, unknown>,
        run_at: toDate(r.run_at),
        attempts: Number(r.attempts),
        max_attempts: Number(r.max_attempts),
        as_of: r.clock_time ? toDate(r.clock_time) : now,
      }))
      .sort((a, b) => a.run_at.getTime() - b.run_at.getTime() || a.id.localeCompare(b.id));
  }

  /** What a handler gets: the job's workspace, its instant on the workspace clock, the job itself. */
  private contextOf(job: ClaimedJob): JobContext {
    return {
      deps: this.deps,
      workspaceId: job.workspace_id ?? '',
      asOf: job.as_of,
      actor: { type: 'system', id: job.kind },
      job: { id: job.id, kind: job.kind, payload: job.payload, attempts: job.attempts, runAt: job.run_at },
    };
  }

  /**
   * Runs one claimed job and records the outcome. A transactional handler's work and the
   * job's completion commit together; a failure rolls the work back and reschedules the job
   * with backoff on the workspace's clock, or marks it dead after `max_attempts`.
   */
  async execute(job: ClaimedJob): Promise<'done' | 'retry' | 'dead'> {
    const handler = this.deps.registry.get(job.kind);
    const db = this.deps.database.db;
    const ctx = this.contextOf(job);
    const finish = sql`UPDATE jobs SET status = 'done', finished_at = ${job.as_of}, locked_by = NULL, locked_until = NULL, last_error = NULL
      WHERE id = ${job.id} AND locked_by = ${this.workerId}`;
    try {
      if (!handler) throw new Error(`no handler registered for job kind '${job.kind}'`);
      // A recurring job schedules its next occurrence when it succeeds (aligned: from its due time).
      const recurring = job.workspace_id ? this.deps.registry.recurring.find((r) => r.kind === job.kind) : undefined;
      const scheduleNext = async (tx: Db) => {
        if (!recurring) return;
        const at = recurring.next(job.run_at);
        await enqueue(tx, { workspaceId: job.workspace_id, kind: job.kind, runAt: at, dedupeKey: `recurring:${job.kind}:${at.toISOString()}`, asOf: job.as_of });
      };
      if (handler.transactional) {
        await db.transaction(async (tx) => {
          await handler.run(tx, ctx);
          await scheduleNext(tx);
          await tx.execute(finish);
        });
      } else {
        await handler.run(ctx);
        await db.transaction(async (tx) => {
          await scheduleNext(tx);
          await tx.execute(finish);
        });
      }
      return 'done';
    } catch (e) {
      const message = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      const dead = job.attempts >= job.max_attempts;
      const retryAt = new Date(job.as_of.getTime() + retryDelayMs(job.attempts));
      await db.execute(sql`UPDATE jobs SET status = ${dead ? 'dead' : 'pending'}, run_at = ${dead ? job.run_at : retryAt},
          last_error = ${message.slice(0, 2000)}, locked_by = NULL, locked_until = NULL,
          finished_at = ${dead ? job.as_of : null}
        WHERE id = ${job.id} AND locked_by = ${this.workerId}`);
      this.deps.log[dead ? 'error' : 'warn']({ job: job.id, kind: job.kind, attempt: job.attempts, err: message }, dead ? 'job failed for good' : 'job failed; will retry');
      return dead ? 'dead' : 'retry';
    }
  }

  /**
   * Runs several claimed jobs of one kind, workspace and instant through the handler's `runMany`,
   * then marks them done together. Should `runMany` fail, each job runs alone (`execute`): the
   * handler is non-transactional, hence idempotent, so work it did before failing may be done again.
   */
  async executeMany(jobs: ClaimedJob[]): Promise<void> {
    const handler = this.deps.registry.get(jobs[0].kind);
    if (!handler || handler.transactional || !handler.runMany) {
      for (const job of jobs) await this.execute(job);
      return;
    }
    const ctxs = jobs.map((job) => this.contextOf(job));
    try {
      await handler.runMany(ctxs);
    } catch (e) {
      this.deps.log.warn({ kind: jobs[0].kind, jobs: jobs.length, err: e instanceof Error ? e.message : String(e) }, 'jobs run together failed; running each alone');
      for (const job of jobs) await this.execute(job);
      return;
    }
    await this.deps.database.db.execute(sql`UPDATE jobs SET status = 'done', finished_at = ${jobs[0].as_of}, locked_by = NULL, locked_until = NULL, last_error = NULL
      WHERE id = ANY(${sql.param(jobs.map((j) => j.id))}::text[]) AND locked_by = ${this.workerId}`);
  }

  /**
   * Runs due jobs until none is left (or `maxJobs` ran). Returns how many ran. Within a claimed
   * batch, the jobs of a kind whose handler has `runMany` are run together per workspace and
   * instant, at the place of the first of them (jobs of different kinds do not wait on one
   * another's order: each runs and retries on its own).
   */
  async drain(maxJobs = 100_000): Promise<number> {
    let ran = 0;
    while (ran < maxJobs) {
      const batch = await this.claimDue(Math.min(this.opts.batch ?? 20, maxJobs - ran));
      if (batch.length === 0) break;
      for (const group of this.groupsOf(batch)) {
        if (group.length > 1) await this.executeMany(group);
        else await this.execute(group[0]);
        ran += group.length;
      }
    }
    return ran;
  }

  /** The batch in order, jobs that may run together (see `drain`) gathered at the first one's place. */
  private groupsOf(batch: ClaimedJob[]): ClaimedJob[][] {
    const groups: ClaimedJob[][] = [];
    const byKey = new Map<string, ClaimedJob[]>();
    for (const job of batch) {
      const handler = this.deps.registry.get(job.kind);
      const together = handler && !handler.transactional && handler.runMany && job.workspace_id && !this.deps.registry.recurring.some((r) => r.kind === job.kind);
      if (!together) {
        groups.push([job]);
        continue;
      }
      const key = `${job.kind}|${job.workspace_id}|${job.as_of.getTime()}`;
      const group = byKey.get(key);
      if (group) group.push(job);
      else {
        const fresh = [job];
        byKey.set(key, fresh);
        groups.push(fresh);
      }
    }
    return groups;
  }

  /** Poll loop for worker processes. `notify()` wakes it early after a commit that enqueued work. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const loop = async () => {
      if (this.stopped) return;
      this.running = true;
      try {
        await this.drain(500);
      } catch (e) {
        this.deps.log.error({ err: e instanceof Error ? e.message : String(e) }, 'job runner loop failed');
      } finally {
        this.running = false;
      }
      if (this.stopped) return;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        this.timer = setTimeout(resolve, this.opts.pollMs ?? 250);
      });
      this.wake = undefined;
      void loop();
    };
    void loop();
  }

  notify(): void {
    if (this.timer) clearTimeout(this.timer);
    this.wake?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.notify();
    while (this.running) await new Promise((r) => setTimeout(r, 10));
  }
}

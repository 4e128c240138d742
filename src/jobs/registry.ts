import type { Ctx, Db } from '../context.ts';

export interface JobContext extends Ctx {
  job: { id: string; kind: string; payload: Record<string, unknown>; attempts: number; runAt: Date };
}

/**
 * A job handler. Transactional handlers get `tx`, and the job is marked done in that same
 * transaction: the work happens exactly once. Non-transactional handlers (HTTP deliveries) run
 * outside a transaction and must be idempotent: a crash between the work and the bookkeeping
 * runs them again.
 */
export type JobHandler =
  | { transactional: true; run: (tx: Db, ctx: JobContext) => Promise<void> }
  | {
      transactional: false;
      run: (ctx: JobContext) => Promise<void>;
      /**
       * Optional: several jobs of this kind, of one workspace, claimed together, in one call —
       * with the effect of running each (set-based work: a thousand signups rescored in fifty
       * calls rather than a thousand). Their contexts share the workspace and instant. Should it
       * fail, each job is run alone with `run`, so a failure belongs to its own job.
       */
      runMany?: (ctxs: JobContext[]) => Promise<void>;
    };

export interface RecurringSchedule {
  kind: string;
  /** The next run strictly after `after` (e.g. the next UTC midnight). */
  next: (after: Date) => Date;
}

export interface Subscriber {
  /** Stable name; the delivery job's kind is `deliver:<name>`. */
  name: string;
  /** Event types it receives; '*' for all. */
  types: readonly string[] | '*';
  handler: JobHandler;
}

/** Backoff between attempts of a failed job, measured on the workspace's clock. */
export function retryDelayMs(attempt: number): number {
  // 10 s, 40 s, 2.7 min, 10.7 min, 43 min, then capped at 3 h.
  return Math.min(10_000 * 4 ** Math.max(0, attempt - 1), 3 * 3600_000);
}

/**
 * Called after product events are committed (in the process that stored them), with the
 * accounts they touched: caches to refresh, debounced work to schedule (re-scoring, usage
 * thresholds). A listener's failure is logged, never fails the ingestion that already succeeded.
 */
export type IngestListener = (ctx: Ctx, accountIds: readonly string[]) => Promise<void> | void;

/** Modules register what they run and schedule; the foundation owns the mechanism. */
export class JobRegistry {
  private readonly handlers = new Map<string, JobHandler>();
  private readonly ingestListeners: IngestListener[] = [];

  afterIngest(listener: IngestListener): void {
    this.ingestListeners.push(listener);
  }

  /** The ingestion path calls this once per stored batch, after commit. */
  async notifyIngest(ctx: Ctx, accountIds: readonly string[]): Promise<void> {
    if (!accountIds.length) return;
    for (const l of this.ingestListeners) {
      try {
        await l(ctx, accountIds);
      } catch (e) {
        ctx.deps.log.error({ err: e instanceof Error ? e.message : String(e) }, 'ingest listener failed');
      }
    }
  }
  private readonly subs: Subscriber[] = [];
  readonly recurring: RecurringSchedule[] = [];

  handle(kind: string, handler: JobHandler): void {
    if (this.handlers.has(kind)) throw new Error(`job kind '${kind}' registered twice`);
    this.handlers.set(kind, handler);
  }

  subscribe(sub: Subscriber): void {
    this.handle(`deliver:${sub.name}`, sub.handler);
    this.subs.push(sub);
  }

  schedule(s: RecurringSchedule): void {
    if (!this.handlers.has(s.kind)) throw new Error(`recurring job '${s.kind}' has no handler`);
    this.recurring.push(s);
  }

  get(kind: string): JobHandler | undefined {
    return this.handlers.get(kind);
  }

  subscribersFor(type: string): Subscriber[] {
    return this.subs.filter((s) => s.types === '*' || s.types.includes(type));
  }
}

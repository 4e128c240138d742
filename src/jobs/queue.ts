import { sql } from 'drizzle-orm';
import { jobs } from '../db/schema/index.ts';
import type { Db } from '../context.ts';
import { newId } from '../kernel/ids.ts';

export interface EnqueueInput {
  workspaceId: string | null;
  kind: string;
  payload?: Record<string, unknown>;
  /** When it falls due, on the workspace's clock. */
  runAt: Date;
  /** One job per (workspace, key) ever: enqueueing again is a no-op. */
  dedupeKey?: string;
  /**
   * Debouncing: at most one *pending* job per (workspace, key). While one waits, enqueueing
   * again is a no-op; once it has started, the next enqueue queues a new one (which will see
   * whatever arrived since). For "re-check this account after new events". A job that failed
   * and waits for its retry no longer counts as the pending one: its retry keeps its own backoff
   * and a new enqueue queues a fresh job beside it.
   */
  debounceKey?: string;
  maxAttempts?: number;
  /** Bookkeeping time (created_at); defaults to runAt. */
  asOf?: Date;
}

/** Enqueue inside the caller's transaction, so the job exists if and only if the change commits. */
export async function enqueue(tx: Db, input: EnqueueInput): Promise<void> {
  await tx
    .insert(jobs)
    .values({
      id: newId('job'),
      workspaceId: input.workspaceId,
      kind: input.kind,
      payload: input.payload ?? {},
      runAt: input.runAt,
      dedupeKey: input.dedupeKey ?? null,
      debounceKey: input.debounceKey ?? null,
      maxAttempts: input.maxAttempts ?? 10,
      createdAt: input.asOf ?? input.runAt,
    })
    .onConflictDoNothing();
}

/**
 * Many jobs in one statement (a bill run's renewals, collections, deliveries), with `enqueue`'s
 * semantics row by row: a dedupe key already taken — by an earlier job or a row of the same
 * call — is skipped. The rows travel as one JSON parameter.
 */
export async function enqueueMany(tx: Db, inputs: readonly EnqueueInput[]): Promise<void> {
  if (!inputs.length) return;
  const rows = inputs.map((i) => ({
    id: newId('job'),
    workspace_id: i.workspaceId,
    kind: i.kind,
    payload: i.payload ?? {},
    // Instants as ISO text up front: JSON.stringify's own Date handling is several times slower.
    run_at: i.runAt.toISOString(),
    dedupe_key: i.dedupeKey ?? null,
    debounce_key: i.debounceKey ?? null,
    max_attempts: i.maxAttempts ?? 10,
    created_at: (i.asOf ?? i.runAt).toISOString(),
  }));
  await tx.execute(sql`INSERT INTO jobs (id, workspace_id, kind, payload, run_at, dedupe_key, debounce_key, max_attempts, created_at)
    SELECT id, workspace_id, kind, payload, run_at, dedupe_key, debounce_key, max_attempts, created_at
    FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
      AS d(id text, workspace_id text, kind text, payload jsonb, run_at timestamptz, dedupe_key text, debounce_key text, max_attempts bigint, created_at timestamptz)
    ON CONFLICT DO NOTHING`);
}

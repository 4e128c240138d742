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
      maxAttempts: input.maxAttempts ?? 10,
      createdAt: input.asOf ?? input.runAt,
    })
    .onConflictDoNothing();
}

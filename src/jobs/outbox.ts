import { sql } from 'drizzle-orm';
import { events } from '../db/schema/index.ts';
import type { Ctx, Db } from '../context.ts';
import { newId } from '../kernel/ids.ts';
import { enqueue, enqueueMany, type EnqueueInput } from './queue.ts';

export interface DomainEvent {
  id: string;
  type: string;
  data: Record<string, unknown>;
  occurredAt: Date;
}

/**
 * Records a domain event in the caller's transaction and schedules one delivery job per
 * subscriber. Nothing leaves the process before commit; each subscriber retries on its own.
 */
export async function publish(tx: Db, ctx: Ctx, type: string, data: Record<string, unknown>): Promise<DomainEvent> {
  const event: DomainEvent = { id: newId('evt'), type, data, occurredAt: ctx.asOf };
  await tx.insert(events).values({
    id: event.id,
    workspaceId: ctx.workspaceId,
    type,
    data,
    occurredAt: ctx.asOf,
    createdAt: ctx.asOf,
  });
  for (const sub of ctx.deps.registry.subscribersFor(type)) {
    await enqueue(tx, {
      workspaceId: ctx.workspaceId,
      kind: `deliver:${sub.name}`,
      payload: { event_id: event.id, type, data, occurred_at: ctx.asOf.toISOString() },
      runAt: ctx.asOf,
      dedupeKey: `${event.id}:${sub.name}`,
    });
  }
  return event;
}

/** An event for `publishMany`: `at` is when it occurred (default `ctx.asOf`). */
export interface EventInput {
  type: string;
  data: Record<string, unknown>;
  at?: Date;
}

/**
 * `publish` for many events in two statements (a bill run's batch): one `events` row per event
 * and one delivery job per (event, subscriber), exactly as publishing them one by one would.
 * The rows travel as one JSON parameter.
 */
export async function publishMany(tx: Db, ctx: Ctx, inputs: readonly EventInput[]): Promise<DomainEvent[]> {
  if (!inputs.length) return [];
  const published = inputs.map((e): DomainEvent => ({ id: newId('evt'), type: e.type, data: e.data, occurredAt: e.at ?? ctx.asOf }));
  const rows = published.map((e) => ({ id: e.id, type: e.type, data: e.data, at: e.occurredAt.toISOString() }));
  await tx.execute(sql`INSERT INTO events (id, workspace_id, type, data, occurred_at, created_at)
    SELECT id, ${ctx.workspaceId}, type, data, at, at FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS e(id text, type text, data jsonb, at timestamptz)`);
  const deliveries: EnqueueInput[] = [];
  for (const event of published) {
    for (const sub of ctx.deps.registry.subscribersFor(event.type)) {
      deliveries.push({
        workspaceId: ctx.workspaceId,
        kind: `deliver:${sub.name}`,
        payload: { event_id: event.id, type: event.type, data: event.data, occurred_at: event.occurredAt.toISOString() },
        runAt: event.occurredAt,
        dedupeKey: `${event.id}:${sub.name}`,
      });
    }
  }
  await enqueueMany(tx, deliveries);
  return published;
}

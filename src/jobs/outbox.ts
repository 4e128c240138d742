import { events } from '../db/schema/index.ts';
import type { Ctx, Db } from '../context.ts';
import { newId } from '../kernel/ids.ts';
import { enqueue } from './queue.ts';

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

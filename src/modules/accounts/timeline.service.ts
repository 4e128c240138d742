/**
 * An account's timeline: its product events (from the events module) and its identity and
 * merge items (account_activity), newest first, one keyset-paginated stream. Each source is read
 * with its own index (workspace, account, instant, id), limit + 1 rows each, then merged.
 */
import type { Ctx } from '../../context.ts';
import { AppError } from '../../kernel/errors.ts';
import { execOn, findEventInstant, listAccountEvents, type ProductEvent } from '../events/index.ts';
import * as repo from './accounts.repo.ts';
import type { TimelineItem } from './accounts.ts';
import { notFound } from '../../kernel/errors.ts';

function eventSummary(e: ProductEvent): string {
  const who = e.userId ?? `anonymous ${e.anonymousId}`;
  switch (e.type) {
    case 'track':
      return `${e.event} by ${who}`;
    case 'page':
    case 'screen':
      return `Viewed ${e.type}${e.event ? ` ${e.event}` : ''} (${who})`;
    case 'identify':
      return `Identified ${who}`;
    case 'group':
      return `${who} grouped into ${e.groupId}`;
    case 'alias':
      return `${who} aliased`;
  }
}

const eventItem = (e: ProductEvent): TimelineItem => ({
  id: e.id,
  type: 'event',
  occurredAt: e.timestamp,
  summary: eventSummary(e),
  data: {
    message_id: e.messageId,
    event_type: e.type,
    event: e.event,
    user_id: e.userId,
    anonymous_id: e.anonymousId,
    group_id: e.groupId,
    properties: e.properties,
    traits: e.traits,
    received_at: e.receivedAt.toISOString(),
  },
});

const newestFirst = (a: TimelineItem, b: TimelineItem) => b.occurredAt.getTime() - a.occurredAt.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

export async function accountTimeline(ctx: Ctx, id: string, q: { limit: number; startingAfter?: string }): Promise<{ items: TimelineItem[]; hasMore: boolean }> {
  const exec = execOn(ctx.deps.database);
  const ws = ctx.workspaceId;
  const accountId = await repo.resolveAccountId(exec, ws, id);
  if (!accountId) throw notFound('account', id);
  let before: { at: Date; id: string } | undefined;
  if (q.startingAfter) {
    const c = (await repo.findActivityInstant(exec, ws, q.startingAfter)) ?? (await findEventInstant(exec, ws, q.startingAfter));
    if (!c || c.accountId !== accountId) {
      throw new AppError({ code: 'parameter_invalid', message: `'${q.startingAfter}' is not an item of this account's timeline.`, param: 'starting_after' });
    }
    before = { at: c.at, id: q.startingAfter };
  }
  const [events, activity] = await Promise.all([
    listAccountEvents(exec, { workspaceId: ws, accountId, before, limit: q.limit + 1 }),
    repo.listActivity(exec, ws, accountId, before, q.limit + 1),
  ]);
  const items = [
    ...events.map(eventItem),
    ...activity.map((a): TimelineItem => ({ id: a.id, type: a.type, occurredAt: a.occurredAt, summary: a.summary, data: { kind: a.kind, ...a.data } })),
  ].sort(newestFirst);
  return { items: items.slice(0, q.limit), hasMore: items.length > q.limit };
}

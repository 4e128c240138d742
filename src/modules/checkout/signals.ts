import type { Ctx, Db } from '../../context.ts';
import { newId } from '../../kernel/ids.ts';
import { execIn, insertEvents, normalizeMessage } from '../events/index.ts';

/**
 * A product event recorded server-side (a hand-raise, a large upgrade), in the caller's
 * transaction, straight onto the account's event stream — where scoring and the timeline read
 * every other event. `messageId` makes it idempotent.
 */
export async function recordProductEvent(
  tx: Db,
  ctx: Ctx,
  input: { accountId: string; userId?: string; anonymousId?: string; event: string; messageId: string; properties: Record<string, unknown> },
): Promise<void> {
  const r = normalizeMessage(
    { type: 'track', event: input.event, userId: input.userId, anonymousId: input.anonymousId, messageId: input.messageId, timestamp: ctx.asOf.toISOString(), properties: input.properties, context: { library: { name: 'tandem', version: 'server' } } },
    { index: 0, type: 'track', receivedAt: ctx.asOf, paramPrefix: '', newMessageId: () => input.messageId },
  );
  if (!r.ok) throw new Error(`server-side event ${input.event} is invalid: ${r.error.message}`);
  await insertEvents(execIn(tx), { workspaceId: ctx.workspaceId, messages: [r.value], ids: [newId('pev')], accountIds: [input.accountId] });
}

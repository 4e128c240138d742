import type { Ctx, Db } from '../../context.ts';
import { publish } from '../../jobs/outbox.ts';
import { AppError } from '../../kernel/errors.ts';
import { newId } from '../../kernel/ids.ts';
import type { Plan } from '../catalog/index.ts';
import { inTransaction } from '../quotes/index.ts';
import { recordAudit } from '../workspaces/index.ts';
import { resolveBuyer } from './buyer.service.ts';
import * as repo from './checkout.repo.ts';
import type { HandRaise } from './checkout.ts';
import { recordProductEvent } from './signals.ts';

/**
 * "Contact sales": a buyer of a contact-sales or quote-only plan (or a customer reaching for one
 * in the portal) raises a hand. In one transaction: the account and contact are found or
 * created, a `Demo Requested` product event lands on the account's event stream (scoring reads
 * it as upgrade intent), and the domain event `hand_raise.created` is published — the routing
 * module turns it into an assignment.
 */
export interface HandRaiseInput {
  email: string;
  name?: string | null;
  company?: string | null;
  message?: string | null;
  accountId?: string | null;
  plan: Plan | null;
  source: 'checkout' | 'portal';
  sourceId: string | null;
}

export function handRaiseView(h: HandRaise) {
  return { id: h.id, object: 'hand_raise' as const, account: h.accountId, contact: h.contactId, plan: h.planId, source: h.source, source_id: h.sourceId, email: h.email, name: h.name, company: h.company, message: h.message, created_at: h.createdAt.toISOString() };
}

/** Inside the caller's transaction (`tx`, and `b` bound to it). */
export async function raiseHandIn(tx: Db, b: Ctx, input: HandRaiseInput): Promise<HandRaise> {
  const message = input.message?.trim() || null;
  if (message && message.length > 2000) throw new AppError({ code: 'parameter_invalid', message: 'The message is at most 2,000 characters.', param: 'message' });
  const buyer = await resolveBuyer(b, { email: input.email, name: input.name, company: input.company, accountId: input.accountId });
  const h: HandRaise = {
    id: newId('hr'),
    workspaceId: b.workspaceId,
    accountId: buyer.accountId,
    contactId: buyer.contactId,
    planId: input.plan?.id ?? null,
    source: input.source,
    sourceId: input.sourceId,
    email: buyer.email,
    name: input.name?.trim() || null,
    company: input.company?.trim() || null,
    message,
    createdAt: b.asOf,
  };
  await repo.insertHandRaise(tx, h);
  await recordProductEvent(tx, b, {
    accountId: h.accountId,
    userId: buyer.email,
    event: 'Demo Requested',
    messageId: `hand_raise:${h.id}`,
    properties: { plan: input.plan?.key ?? null, plan_id: h.planId, source: h.source, email: h.email, name: h.name, company: h.company, message: h.message, hand_raise: h.id },
  });
  await recordAudit(tx, b, { action: 'hand_raise.created', entityType: 'hand_raise', entityId: h.id, after: handRaiseView(h) });
  await publish(tx, b, 'hand_raise.created', { hand_raise: handRaiseView(h), account: h.accountId, contact: h.contactId, plan: h.planId, plan_key: input.plan?.key ?? null, signal: 'Demo Requested' });
  return h;
}

export async function raiseHand(ctx: Ctx, input: HandRaiseInput): Promise<HandRaise> {
  return ctx.deps.database.db.transaction((tx) => raiseHandIn(tx, inTransaction(ctx, tx), input));
}

export const listHandRaises = (ctx: Ctx, q: { limit: number; accountId?: string }) => repo.listHandRaises(ctx.deps.database.db, ctx.workspaceId, q);

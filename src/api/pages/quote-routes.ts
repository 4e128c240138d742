import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Ctx, Deps } from '../../context.ts';
import { AppError } from '../../kernel/errors.ts';
import { getAccount } from '../../modules/accounts/index.ts';
import { getDefaultPaymentMethod } from '../../modules/payments/index.ts';
import { acceptQuote, declineQuote, getQuote, openSharedQuote, presentPreview, quotePdf, type Quote } from '../../modules/quotes/index.ts';
import { getWorkspace } from '../../modules/workspaces/index.ts';
import { errorResponses } from '../schemas.ts';
import { parseCard } from './checkout-routes.ts';
import { sendNotFound, sendPage } from './html.ts';
import { quotePage } from './quote-page.ts';

/**
 * The quote share page `/quotes/view/<token>`: no API key, a signed token; shown once the quote
 * is sent (a draft's token opens nothing). The buyer accepts by typing name and title (time and
 * IP recorded), or declines.
 */
const tags = ['Hosted pages'];
const open = { config: { auth: 'none' as const } };
const Params = z.object({ token: z.string().min(1).max(300) });
const Ok = z.looseObject({ ok: z.literal(true), message: z.string().optional() });
const VISIBLE: readonly string[] = ['sent', 'accepted', 'converted', 'declined', 'expired'];

export function quotePageRoutes(app: FastifyInstance, deps: Deps) {
  const r = app.withTypeProvider<ZodTypeProvider>();

  const opened = async (token: string): Promise<{ quote: Quote; ctx: Ctx } | null> => {
    const o = await openSharedQuote(deps, token);
    return o && VISIBLE.includes(o.quote.status) ? o : null;
  };
  const mustOpen = async (token: string) => {
    const o = await opened(token);
    if (!o) throw new AppError({ code: 'resource_missing', message: 'This link is not valid.' });
    return o;
  };

  r.get('/quotes/view/:token', { ...open, schema: { tags, summary: 'Quote page (HTML): the offer, the first invoice, accept or decline', security: [], params: Params, produces: ['text/html'] } }, async (request, reply) => {
    const o = await opened(request.params.token);
    if (!o) return sendNotFound(reply);
    const { quote, ctx } = o;
    const { lines } = await getQuote(ctx, quote.id);
    const preview = await presentPreview(ctx, quote, lines);
    const ws = await getWorkspace(deps, ctx.workspaceId);
    const account = await getAccount(ctx, quote.accountId);
    const needsCard =
      quote.status === 'sent' && quote.collectionMethod === 'charge_automatically' && preview?.contract.type === 'new_subscription' && !(await getDefaultPaymentMethod(deps.database.db, ctx.workspaceId, account.id));
    return sendPage(
      reply,
      quotePage({ brand: ws.name, customer: account.name ?? account.id, quote, preview, base: `/quotes/view/${request.params.token}`, needsCard, expired: quote.status === 'sent' && ctx.asOf >= quote.expiresAt }),
    );
  });

  r.post(
    '/quotes/view/:token/accept',
    {
      ...open,
      schema: {
        tags,
        summary: 'Accept the quote (typed name and title; time and IP are recorded) — it converts into a subscription',
        security: [],
        params: Params,
        body: z.object({ name: z.string().max(200), title: z.string().max(200), card: z.object({ number: z.string().min(1).max(40), exp: z.string().min(1).max(9), cvc: z.string().min(1).max(4) }).optional() }),
        response: { 200: Ok, ...errorResponses },
      },
    },
    async (request) => {
      const { quote, ctx } = await mustOpen(request.params.token);
      const b = request.body;
      await acceptQuote(ctx, quote.id, { name: b.name, title: b.title, ip: request.ip, userAgent: request.headers['user-agent'] ?? null, via: 'page', card: b.card ? parseCard(b.card) : null });
      return { ok: true as const, message: 'Thank you — the quote is accepted.' };
    },
  );

  r.post(
    '/quotes/view/:token/decline',
    { ...open, schema: { tags, summary: 'Decline the quote', security: [], params: Params, body: z.object({ reason: z.string().max(2000).optional() }).default({}), response: { 200: Ok, ...errorResponses } } },
    async (request) => {
      const { quote, ctx } = await mustOpen(request.params.token);
      await declineQuote(ctx, quote.id, { reason: request.body.reason?.trim() || null });
      return { ok: true as const, message: 'The quote is declined. Thank you for letting us know.' };
    },
  );

  r.get('/quotes/view/:token/pdf', { ...open, schema: { tags, summary: 'The quote as a PDF', security: [], params: Params, produces: ['application/pdf'] } }, async (request, reply) => {
    const { quote, ctx } = await mustOpen(request.params.token);
    const { lines } = await getQuote(ctx, quote.id);
    const pdf = await quotePdf(quote, await presentPreview(ctx, quote, lines), await parties(deps, ctx, quote));
    return reply.type('application/pdf').header('content-disposition', `inline; filename="${quote.number}.pdf"`).header('cache-control', 'no-store').send(pdf);
  });
}

/** Seller and customer names for a quote document. */
export async function parties(deps: Deps, ctx: Ctx, q: Quote) {
  const ws = await getWorkspace(deps, ctx.workspaceId);
  const account = await getAccount(ctx, q.accountId).catch(() => null);
  return { seller: ws.name, customer: account?.name ?? q.accountId };
}

import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../context.ts';
import { AppError } from '../../kernel/errors.ts';
import {
  checkoutOffer,
  completeCheckout,
  contactSalesFromCheckout,
  openCheckout,
  openPortal,
  portalCancel,
  portalChangePlan,
  portalContactSales,
  portalInvoicePdf,
  portalPaymentMethod,
  portalSeats,
  portalState,
  portalSwitchToAnnual,
  sessionStatus,
  type Portal,
} from '../../modules/checkout/index.ts';
import { getWorkspace } from '../../modules/workspaces/index.ts';
import { errorResponses } from '../schemas.ts';
import { checkoutPage } from './checkout-page.ts';
import { esc, sendNotFound, sendPage } from './html.ts';
import { portalPage } from './portal-page.ts';

/**
 * Hosted checkout and portal pages: no API key — a signed token in the URL, checked in constant
 * time; a wrong token is a 404. Forms post JSON to the endpoints below (same token).
 */
const tags = ['Hosted pages'];
const open = { config: { auth: 'none' as const } };
const Ok = z.looseObject({ ok: z.literal(true), message: z.string().optional(), redirect_url: z.string().optional() });
const SessionParams = z.object({ session_id: z.string().min(1).max(100) });
const TokenQuery = z.object({ token: z.string().max(200).default('') });
const PortalParams = z.object({ token: z.string().min(1).max(300) });
const Card = z.object({ number: z.string().min(1).max(40), exp: z.string().min(1).max(9).describe('MM/YY or MM/YYYY'), cvc: z.string().min(1).max(4) });

/** "12/30", "12 / 2030" → { exp_month: 12, exp_year: 2030 }. */
export function parseCard(c: z.infer<typeof Card>) {
  const m = /^\s*(\d{1,2})\s*\/\s*(\d{2}|\d{4})\s*$/.exec(c.exp);
  if (!m) throw new AppError({ code: 'parameter_invalid', message: 'Enter the expiry as MM/YY.', param: 'card.exp' });
  const year = Number(m[2]);
  return { number: c.number, exp_month: Number(m[1]), exp_year: year < 100 ? 2000 + year : year, cvc: c.cvc.trim() };
}

const gone = () => new AppError({ code: 'resource_missing', message: 'This link is not valid.' });

export function checkoutPageRoutes(app: FastifyInstance, deps: Deps) {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get('/checkout/:session_id', { ...open, schema: { tags, summary: 'Hosted checkout page (HTML)', security: [], params: SessionParams, querystring: TokenQuery, produces: ['text/html'] } }, async (request, reply) => {
    const opened = await openCheckout(deps, request.params.session_id, request.query.token);
    if (!opened) return sendNotFound(reply);
    const { session, ctx } = opened;
    const { plan, offers } = await checkoutOffer(ctx, session);
    const ws = await getWorkspace(deps, ctx.workspaceId);
    const page = checkoutPage({ brand: ws.name, session, status: sessionStatus(session, ctx.asOf), plan, offers, actionBase: `/checkout/${session.id}`, token: request.query.token });
    return sendPage(reply, page);
  });

  r.post(
    '/checkout/:session_id/complete',
    {
      ...open,
      schema: {
        tags,
        summary: 'Pay and subscribe (the checkout form)',
        security: [],
        params: SessionParams,
        querystring: TokenQuery,
        body: z.object({ email: z.string().min(1).max(320), name: z.string().max(200).optional(), company: z.string().max(300).optional(), interval: z.enum(['month', 'year']), card: Card }),
        response: { 200: Ok, 402: errorResponses[400], ...errorResponses },
      },
    },
    async (request) => {
      const opened = await openCheckout(deps, request.params.session_id, request.query.token);
      if (!opened) throw gone();
      const b = request.body;
      const done = await completeCheckout(opened.ctx, opened.session.id, { email: b.email, name: b.name ?? null, company: b.company ?? null, interval: b.interval, card: parseCard(b.card) });
      return { ok: true as const, redirect_url: done.successUrl.replace('{CHECKOUT_SESSION_ID}', done.id) };
    },
  );

  r.post(
    '/checkout/:session_id/contact_sales',
    {
      ...open,
      schema: {
        tags,
        summary: 'Contact sales (the form of a contact-sales or quote-only plan): records a hand-raise',
        security: [],
        params: SessionParams,
        querystring: TokenQuery,
        body: z.object({ email: z.string().min(1).max(320), name: z.string().max(200).optional(), company: z.string().max(300).optional(), message: z.string().max(2000).optional() }),
        response: { 200: Ok, ...errorResponses },
      },
    },
    async (request) => {
      const opened = await openCheckout(deps, request.params.session_id, request.query.token);
      if (!opened) throw gone();
      const b = request.body;
      await contactSalesFromCheckout(opened.ctx, opened.session.id, { email: b.email, name: b.name ?? null, company: b.company ?? null, message: b.message ?? null });
      return { ok: true as const, message: 'Thanks — our sales team will contact you shortly.' };
    },
  );

  // ── portal ────────────────────────────────────────────────────────────────
  const portalOf = async (token: string): Promise<Portal> => {
    const opened = await openPortal(deps, token);
    if (!opened) throw gone();
    if (opened.expired) throw new AppError({ code: 'state_conflict', message: 'This billing page link has expired; open it again from the app.' });
    return { session: opened.session, ctx: opened.ctx };
  };

  r.get('/portal/:token', { ...open, schema: { tags, summary: 'Customer portal page (HTML)', security: [], params: PortalParams, produces: ['text/html'] } }, async (request, reply) => {
    const opened = await openPortal(deps, request.params.token);
    if (!opened) return sendNotFound(reply);
    const ws = await getWorkspace(deps, opened.ctx.workspaceId);
    if (opened.expired) {
      return sendPage(reply, { title: 'Link expired', brand: ws.name, body: `<div class="card"><h1>This link has expired</h1><p class="lead">Open your billing page again from the app.</p><a class="button secondary" href="${esc(opened.session.returnUrl)}">Back</a></div>` });
    }
    const state = await portalState(opened.ctx, opened.session.accountId);
    return sendPage(reply, portalPage({ brand: ws.name, state, session: opened.session, base: `/portal/${request.params.token}` }));
  });

  const action = <S extends z.ZodType>(path: string, summary: string, body: S, run: (p: Portal, b: z.infer<S>) => Promise<{ message: string }>) =>
    r.post(
      `/portal/:token/${path}`,
      { ...open, schema: { tags, summary, security: [], params: PortalParams, body, response: { 200: Ok, 402: errorResponses[400], ...errorResponses } } },
      async (request) => {
        const p = await portalOf(request.params.token);
        const out = await run(p, request.body as z.infer<S>);
        return { ok: true as const, message: out.message };
      },
    );

  action('plan', 'Portal: change plan (upgrades now and charged; downgrades at period end; quote-only plans become a quote request)', z.object({ plan: z.string().min(1), interval: z.enum(['month', 'year']).optional() }), (p, b) =>
    portalChangePlan(p, { plan: b.plan, interval: b.interval }),
  );
  action('seats', 'Portal: change the number of seats (prorated now)', z.object({ quantity: z.coerce.number().int().min(1).max(100_000) }), (p, b) => portalSeats(p, { quantity: b.quantity }));
  action(
    'payment_method',
    'Portal: pay by card or by invoice on Net terms (as the plan allows)',
    z.object({ method: z.enum(['card', 'invoice']), net_days: z.coerce.number().int().optional(), card: Card.optional() }),
    (p, b) => portalPaymentMethod(p, { method: b.method, netDays: b.net_days, card: b.card ? parseCard(b.card) : null }),
  );
  action('annual', 'Portal: switch from monthly to annual billing with the commitment discount', z.object({}).default({}), (p) => portalSwitchToAnnual(p));
  action('cancel', 'Portal: cancel at the end of the period', z.object({}).default({}), (p) => portalCancel(p, {}));
  action('resume', 'Portal: keep a subscription that was set to cancel', z.object({}).default({}), (p) => portalCancel(p, { resume: true }));
  action(
    'contact_sales',
    'Portal: contact sales about a plan (records a hand-raise)',
    z.object({ plan: z.string().min(1), email: z.string().min(1).max(320), name: z.string().max(200).optional(), message: z.string().max(2000).optional() }),
    async (p, b) => {
      await portalContactSales(p, { plan: b.plan, email: b.email, name: b.name ?? null, message: b.message ?? null });
      return { message: 'Thanks — our sales team will contact you shortly.' };
    },
  );

  r.get(
    '/portal/:token/invoices/:invoice_id.pdf',
    { ...open, schema: { tags, summary: 'Portal: an invoice of the account as a PDF', security: [], params: PortalParams.extend({ invoice_id: z.string().min(1).max(100) }), produces: ['application/pdf'] } },
    async (request, reply) => {
      const p = await portalOf(request.params.token);
      const { pdf, number } = await portalInvoicePdf(p, request.params.invoice_id);
      return reply.type('application/pdf').header('content-disposition', `inline; filename="${number}.pdf"`).header('cache-control', 'no-store').send(pdf);
    },
  );
}

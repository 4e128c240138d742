import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../context.ts';
import { getSubscription, subscriptionView } from '../../modules/billing/index.ts';
import {
  checkoutSessionView,
  createCheckoutSession,
  createPortalSession,
  getCheckoutSession,
  getUpgradePolicy,
  handRaiseView,
  listCheckoutSessions,
  listHandRaises,
  policyView,
  portalSessionView,
  updateUpgradePolicy,
} from '../../modules/checkout/index.ts';
import { MOTIONS } from '../../modules/catalog/index.ts';
import { ctxOf } from '../auth.ts';
import { checkoutPageRoutes } from '../pages/checkout-routes.ts';
import { publicBase } from '../pages/html.ts';
import { errorResponses, IdParam, listOf, MoneySchema, page, PageQuery } from '../schemas.ts';

const Interval = z.enum(['month', 'year']);
const CheckoutSessionSchema = z.looseObject({ id: z.string(), object: z.literal('checkout_session'), status: z.enum(['open', 'complete', 'expired']), url: z.string().nullable() }).meta({ id: 'CheckoutSession' });
const PortalSessionSchema = z.looseObject({ id: z.string(), object: z.literal('portal_session'), url: z.string().nullable() }).meta({ id: 'PortalSession' });
const UpgradePolicySchema = z
  .object({
    object: z.literal('upgrade_policy'),
    large_upgrade_arr_threshold: MoneySchema,
    annual_commitment_discount_percent: z.string(),
    net_terms_allowed_motions: z.array(z.enum(MOTIONS)),
    card_allowed_motions: z.array(z.enum(MOTIONS)),
    net_terms_days: z.array(z.number().int()),
  })
  .meta({ id: 'UpgradePolicy' });
const HandRaiseSchema = z.looseObject({ id: z.string(), object: z.literal('hand_raise') }).meta({ id: 'HandRaise' });

/** Checkout sessions, portal sessions, the upgrade policy and hand-raises; the hosted pages are in ../pages. */
export function checkoutRoutes(app: FastifyInstance, deps: Deps) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['Checkout'];

  r.post(
    '/v1/checkout/sessions',
    {
      schema: {
        tags,
        summary: 'Create a hosted checkout for a plan (public plans: card; contact-sales and quote-only plans: a "Contact sales" form)',
        body: z.object({
          plan: z.string().min(1).describe('Plan id (plan_…) or key'),
          intervals: z.array(Interval).min(1).max(2).optional().describe('Intervals the buyer may pick (default: every interval the plan has prices for)'),
          interval: Interval.optional().describe('Preselected interval'),
          quantity: z.number().int().min(1).max(100_000).default(1).describe('Seats, for per-seat prices'),
          success_url: z.string().min(1).max(2000).describe('Where the buyer goes after paying; {CHECKOUT_SESSION_ID} is replaced by the session id'),
          cancel_url: z.string().min(1).max(2000),
          account: z.string().optional().describe('Buy for this existing account'),
          customer_email: z.string().max(320).optional().describe('Prefill the email field'),
          expires_in_minutes: z.number().int().min(5).max(10_080).default(1440),
          metadata: z.record(z.string(), z.string()).optional(),
        }),
        response: { 200: CheckoutSessionSchema, ...errorResponses },
      },
    },
    async (request) => {
      const b = request.body;
      const ctx = ctxOf(deps, request);
      const { session, token } = await createCheckoutSession(ctx, {
        plan: b.plan,
        intervals: b.intervals,
        interval: b.interval,
        quantity: b.quantity,
        successUrl: b.success_url,
        cancelUrl: b.cancel_url,
        account: b.account ?? null,
        customerEmail: b.customer_email ?? null,
        expiresInMinutes: b.expires_in_minutes,
        metadata: b.metadata,
      });
      return checkoutSessionView(session, ctx.asOf, `${publicBase(request)}/checkout/${session.id}?token=${token}`);
    },
  );

  r.get(
    '/v1/checkout/sessions',
    { schema: { tags, summary: 'List checkout sessions', querystring: PageQuery, response: { 200: listOf(CheckoutSessionSchema), ...errorResponses } } },
    async (request) => {
      const ctx = ctxOf(deps, request);
      return page(await listCheckoutSessions(ctx, { limit: request.query.limit, startingAfter: request.query.starting_after }), request.query.limit, (s) => checkoutSessionView(s, ctx.asOf, null));
    },
  );

  r.get(
    '/v1/checkout/sessions/:id',
    { schema: { tags, summary: 'A checkout session: open, complete (with the subscription it created) or expired', params: IdParam, response: { 200: CheckoutSessionSchema, ...errorResponses } } },
    async (request) => {
      const ctx = ctxOf(deps, request);
      const { session, token } = await getCheckoutSession(ctx, request.params.id);
      const view = checkoutSessionView(session, ctx.asOf, `${publicBase(request)}/checkout/${session.id}?token=${token}`);
      const sub = session.subscriptionId ? subscriptionView(await getSubscription(ctx, session.subscriptionId)) : null;
      return { ...view, subscription: sub };
    },
  );

  r.post(
    '/v1/portal/sessions',
    {
      schema: {
        tags,
        summary: 'Open the customer portal for an account: a signed link to its billing page',
        body: z.object({ account: z.string().min(1), return_url: z.string().min(1).max(2000) }),
        response: { 200: PortalSessionSchema, ...errorResponses },
      },
    },
    async (request) => {
      const { session, token } = await createPortalSession(ctxOf(deps, request), { account: request.body.account, returnUrl: request.body.return_url });
      return portalSessionView(session, `${publicBase(request)}/portal/${token}`);
    },
  );

  r.get('/v1/upgrade_policy', { schema: { tags, summary: 'The upgrade policy: when in-app changes alert sales, how each motion may pay, the commitment discount', response: { 200: UpgradePolicySchema, ...errorResponses } } }, async (request) =>
    policyView(await getUpgradePolicy(ctxOf(deps, request))),
  );

  r.post(
    '/v1/upgrade_policy',
    {
      config: { scope: 'admin' },
      schema: {
        tags,
        summary: 'Change the upgrade policy (fields not given keep their value)',
        body: z.object({
          large_upgrade_arr_threshold: MoneySchema.optional().describe('An in-app change adding at least this ARR raises a Large Upgrade signal'),
          annual_commitment_discount_percent: z.string().max(12).optional().describe('Monthly → annual in the portal: the annual prices less this percentage ("15")'),
          net_terms_allowed_motions: z.array(z.enum(MOTIONS)).optional(),
          card_allowed_motions: z.array(z.enum(MOTIONS)).optional(),
          net_terms_days: z.array(z.number().int()).min(1).max(10).optional(),
        }),
        response: { 200: UpgradePolicySchema, ...errorResponses },
      },
    },
    async (request) => {
      const b = request.body;
      const policy = await updateUpgradePolicy(ctxOf(deps, request), {
        largeUpgradeArrThreshold: b.large_upgrade_arr_threshold,
        annualCommitmentDiscountPercent: b.annual_commitment_discount_percent,
        netTermsAllowedMotions: b.net_terms_allowed_motions,
        cardAllowedMotions: b.card_allowed_motions,
        netTermsDays: b.net_terms_days,
      });
      return policyView(policy);
    },
  );

  r.get(
    '/v1/hand_raises',
    { schema: { tags, summary: 'Hand-raises ("Contact sales"), newest first', querystring: PageQuery.extend({ account: z.string().optional() }), response: { 200: listOf(HandRaiseSchema), ...errorResponses } } },
    async (request) => {
      const rows = await listHandRaises(ctxOf(deps, request), { limit: request.query.limit + 1, accountId: request.query.account });
      return page(rows, request.query.limit, handRaiseView);
    },
  );

  checkoutPageRoutes(app, deps);
}

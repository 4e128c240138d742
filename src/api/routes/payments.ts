import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../context.ts';
import {
  createPaymentMethod,
  detachPaymentMethod,
  getPayment,
  getPaymentMethod,
  listPaymentMethods,
  listPayments,
  paymentMethodView,
  paymentView,
  updatePaymentMethod,
} from '../../modules/payments/index.ts';
import { ctxOf } from '../auth.ts';
import { ErrorEnvelope, errorResponses, IdParam, listOf, page, PageQuery, Timestamp } from '../schemas.ts';

const PaymentMethodSchema = z
  .object({
    id: z.string(),
    object: z.literal('payment_method'),
    account: z.string(),
    type: z.enum(['card', 'bank_transfer']),
    card: z
      .object({ brand: z.string(), last4: z.string(), exp_month: z.number().int(), exp_year: z.number().int(), fingerprint: z.string() })
      .nullable()
      .describe('Only these details of a card are kept: never the number or the CVC'),
    default: z.boolean().describe('The card charged automatically; without one, the most recently saved active card is'),
    status: z.enum(['active', 'detached']),
    created_at: Timestamp,
    detached_at: Timestamp.nullable(),
  })
  .meta({ id: 'PaymentMethod' });

const PaymentSchema = z
  .object({
    id: z.string(),
    object: z.literal('payment'),
    invoice: z.string(),
    account: z.string(),
    payment_method: z.string().nullable(),
    amount: z.number().int().describe('Integer minor units'),
    currency: z.string(),
    status: z.enum(['succeeded', 'failed']),
    kind: z.enum(['card', 'manual']),
    method: z.enum(['card', 'bank_transfer', 'wire', 'check', 'other']),
    failure_code: z.string().nullable(),
    failure_message: z.string().nullable(),
    processor: z.string().nullable(),
    processor_charge_id: z.string().nullable(),
    attempt: z.number().int().nullable(),
    reference: z.string().nullable(),
    created_at: Timestamp,
  })
  .meta({ id: 'Payment' });

const CardBody = z.object({
  number: z.string().min(1).max(40).describe('Card number; spaces and dashes allowed'),
  exp_month: z.number().int().min(1).max(12),
  exp_year: z.number().int().min(0).max(2099).describe('4 digits (2030) or 2 (30)'),
  cvc: z.string().regex(/^\d{3,4}$/, 'must be 3 or 4 digits'),
});

export function paymentRoutes(app: FastifyInstance, deps: Deps) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['Payments'];

  r.post(
    '/v1/payment_methods',
    {
      schema: {
        tags,
        summary: 'Save a payment method (a card is tokenized by the payment processor; its number and CVC are never stored)',
        body: z.object({
          account: z.string().min(1).max(200),
          type: z.enum(['card', 'bank_transfer']).default('card'),
          card: CardBody.optional(),
          default: z.boolean().optional(),
        }),
        response: { 200: PaymentMethodSchema, ...errorResponses, 402: ErrorEnvelope },
      },
    },
    async (request) => paymentMethodView(await createPaymentMethod(ctxOf(deps, request), request.body)),
  );

  r.get(
    '/v1/payment_methods',
    {
      schema: {
        tags,
        summary: 'List payment methods, newest first',
        querystring: PageQuery.extend({
          account: z.string().min(1).optional(),
          type: z.enum(['card', 'bank_transfer']).optional(),
          status: z.enum(['active', 'detached']).default('active'),
        }),
        response: { 200: listOf(PaymentMethodSchema), ...errorResponses },
      },
    },
    async (request) => {
      const q = request.query;
      const rows = await listPaymentMethods(ctxOf(deps, request), {
        accountId: q.account,
        type: q.type,
        status: q.status,
        limit: q.limit + 1,
        startingAfter: q.starting_after,
      });
      return page(rows, q.limit, paymentMethodView);
    },
  );

  r.get(
    '/v1/payment_methods/:id',
    { schema: { tags, summary: 'Retrieve a payment method', params: IdParam, response: { 200: PaymentMethodSchema, ...errorResponses } } },
    async (request) => paymentMethodView(await getPaymentMethod(ctxOf(deps, request), request.params.id)),
  );

  r.post(
    '/v1/payment_methods/:id',
    {
      schema: {
        tags,
        summary: "Update a payment method: `default: true` makes a card the account's default for automatic charges",
        params: IdParam,
        body: z.object({ default: z.boolean().optional() }),
        response: { 200: PaymentMethodSchema, ...errorResponses },
      },
    },
    async (request) => paymentMethodView(await updatePaymentMethod(ctxOf(deps, request), request.params.id, request.body)),
  );

  r.post(
    '/v1/payment_methods/:id/detach',
    {
      schema: {
        tags,
        summary: 'Detach a payment method: it is no longer charged',
        params: IdParam,
        body: z.object({}).optional(),
        response: { 200: PaymentMethodSchema, ...errorResponses },
      },
    },
    async (request) => paymentMethodView(await detachPaymentMethod(ctxOf(deps, request), request.params.id)),
  );

  r.get(
    '/v1/payments',
    {
      schema: {
        tags,
        summary: 'List payments (card attempts and manual payments), newest first',
        querystring: PageQuery.extend({ invoice: z.string().min(1).optional(), account: z.string().min(1).optional() }),
        response: { 200: listOf(PaymentSchema), ...errorResponses },
      },
    },
    async (request) => {
      const q = request.query;
      const ctx = ctxOf(deps, request);
      const rows = await listPayments(deps.database.db, ctx.workspaceId, {
        invoiceId: q.invoice,
        accountId: q.account,
        limit: q.limit + 1,
        startingAfter: q.starting_after,
      });
      return page(rows, q.limit, paymentView);
    },
  );

  r.get(
    '/v1/payments/:id',
    { schema: { tags, summary: 'Retrieve a payment', params: IdParam, response: { 200: PaymentSchema, ...errorResponses } } },
    async (request) => paymentView(await getPayment(ctxOf(deps, request), request.params.id)),
  );
}

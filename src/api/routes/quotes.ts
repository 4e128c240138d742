import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Ctx, Deps } from '../../context.ts';
import { AppError } from '../../kernel/errors.ts';
import { parseInstant } from '../../kernel/dates.ts';
import {
  acceptQuote,
  approveQuote,
  createQuote,
  declineQuote,
  deleteQuote,
  getApprovalRules,
  getQuote,
  listQuotes,
  presentPreview,
  quotePdf,
  quoteShareToken,
  quoteView,
  sendQuote,
  submitQuote,
  updateApprovalRules,
  updateQuote,
  type ApprovalRules,
  type Quote,
  type QuoteInput,
} from '../../modules/quotes/index.ts';
import { ctxOf } from '../auth.ts';
import { publicBase } from '../pages/html.ts';
import { parties, quotePageRoutes } from '../pages/quote-routes.ts';
import { errorResponses, IdParam, listOf, MoneySchema, page, PageQuery } from '../schemas.ts';

const Percent = z.string().max(12).describe('Decimal string, e.g. "15" or "12.5"');
const Discount = z.discriminatedUnion('type', [
  z.object({ type: z.literal('percent'), percent: Percent }),
  z.object({ type: z.literal('amount'), amount: z.number().int().min(1).describe('Minor units off each billing period') }),
]);
const Line = z.object({
  price: z.string().min(1).describe('A price of the quoted plan version and interval'),
  unit_amount: z.number().int().min(0).nullish().describe('Negotiated unit amount (minor units) replacing the list price'),
  discount_percent: Percent.nullish(),
  discount_amount: z.number().int().min(1).nullish().describe('Minor units off the unit amount, per period'),
});
const PaymentTerms = z.discriminatedUnion('method', [z.object({ method: z.literal('card') }), z.object({ method: z.literal('invoice'), net_days: z.number().int().min(1).max(365).default(30) })]);
const QuoteFields = {
  plan: z.string().min(1).describe('Plan id (plan_…) or key'),
  plan_version: z.string().optional(),
  interval: z.enum(['month', 'year']),
  quantity: z.number().int().min(1).max(1_000_000).describe('Seats, for per-seat prices'),
  term_months: z.number().int().min(1).max(120),
  start_date: z.string().nullish().describe('Contract start (ISO 8601). Unset: at acceptance, or at the renewal of a running subscription'),
  payment_terms: PaymentTerms,
  expires_at: z.string().optional(),
  discount: Discount.nullish().describe('Whole-quote discount'),
  free_months: z.number().int().min(0).max(119),
  lines: z.array(Line).max(50).describe('Negotiated terms per price; prices not listed are at list price'),
  memo: z.string().max(4000).nullish(),
};
const QuoteSchema = z.looseObject({ id: z.string(), object: z.literal('quote'), status: z.string() }).meta({ id: 'Quote' });
const RulesSchema = z
  .object({ object: z.literal('quote_approval_rules'), max_discount_percent: z.string(), total_contract_value_threshold: MoneySchema, approver_role: z.string(), default_expiry_days: z.number().int() })
  .meta({ id: 'QuoteApprovalRules' });

function instant(s: string | null | undefined, param: string): Date | null | undefined {
  if (s === undefined || s === null) return s;
  const d = parseInstant(s);
  if (!d) throw new AppError({ code: 'parameter_invalid', message: `${param} must be an ISO 8601 instant.`, param });
  return d;
}

type Body = Partial<{ [K in keyof typeof QuoteFields]: z.infer<(typeof QuoteFields)[K]> }>;
function toInput(b: Body): Partial<QuoteInput> {
  return {
    plan: b.plan,
    planVersionId: b.plan_version,
    interval: b.interval,
    quantity: b.quantity,
    termMonths: b.term_months,
    startDate: instant(b.start_date, 'start_date'),
    paymentTerms: b.payment_terms ? (b.payment_terms.method === 'card' ? { method: 'card' } : { method: 'invoice', netDays: b.payment_terms.net_days }) : undefined,
    expiresAt: instant(b.expires_at, 'expires_at') ?? undefined,
    discount: b.discount === undefined ? undefined : b.discount,
    freeMonths: b.free_months,
    lines: b.lines?.map((l) => ({ priceId: l.price, unitAmount: l.unit_amount ?? null, discountPercent: l.discount_percent ?? null, discountAmount: l.discount_amount ?? null })),
    memo: b.memo,
  };
}

const rulesView = (r: ApprovalRules) => ({
  object: 'quote_approval_rules' as const,
  max_discount_percent: r.maxDiscountPercent,
  total_contract_value_threshold: { amount: r.tcvThreshold, currency: r.currency },
  approver_role: r.approverRole,
  default_expiry_days: r.defaultExpiryDays,
});

const SHARED: readonly string[] = ['sent', 'accepted', 'converted', 'declined', 'expired'];

export async function renderQuote(ctx: Ctx, request: FastifyRequest, q: Quote) {
  const { lines } = await getQuote(ctx, q.id);
  const url = SHARED.includes(q.status) ? `${publicBase(request)}/quotes/view/${await quoteShareToken(ctx, q.id)}` : null;
  return quoteView(q, lines, await presentPreview(ctx, q, lines), url);
}

export function quoteRoutes(app: FastifyInstance, deps: Deps) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['Quotes'];
  const res = { 200: QuoteSchema, ...errorResponses };

  r.get('/v1/quotes/approval_rules', { schema: { tags, summary: 'Quote approval rules', response: { 200: RulesSchema, ...errorResponses } } }, async (request) => rulesView(await getApprovalRules(ctxOf(deps, request))));
  r.post(
    '/v1/quotes/approval_rules',
    {
      config: { scope: 'admin' },
      schema: {
        tags,
        summary: 'Change the approval rules: an effective discount above max_discount_percent, or a contract value above the threshold, needs the approver role',
        body: z.object({ max_discount_percent: Percent.optional(), total_contract_value_threshold: MoneySchema.optional(), approver_role: z.string().max(64).optional(), default_expiry_days: z.number().int().min(1).max(365).optional() }),
        response: { 200: RulesSchema, ...errorResponses },
      },
    },
    async (request) => {
      const b = request.body;
      if (b.total_contract_value_threshold && b.total_contract_value_threshold.amount < 0) throw new AppError({ code: 'amount_invalid', param: 'total_contract_value_threshold.amount' });
      return rulesView(
        await updateApprovalRules(ctxOf(deps, request), {
          maxDiscountPercent: b.max_discount_percent,
          tcvThreshold: b.total_contract_value_threshold?.amount,
          currency: b.total_contract_value_threshold?.currency,
          approverRole: b.approver_role,
          defaultExpiryDays: b.default_expiry_days,
        }),
      );
    },
  );

  r.post(
    '/v1/quotes',
    {
      schema: {
        tags,
        summary: 'Create a draft quote for an account: one plan, negotiated prices and discounts, free months, term, start, payment terms, expiry',
        body: z.object({
          account: z.string().min(1),
          ...QuoteFields,
          quantity: QuoteFields.quantity.default(1),
          term_months: QuoteFields.term_months.default(12),
          free_months: QuoteFields.free_months.default(0),
          lines: QuoteFields.lines.default([]),
          payment_terms: PaymentTerms.default({ method: 'invoice', net_days: 30 }),
        }),
        response: res,
      },
    },
    async (request) => {
      const ctx = ctxOf(deps, request);
      const q = await createQuote(ctx, { account: request.body.account, ...(toInput(request.body) as Omit<QuoteInput, 'account'>) });
      return renderQuote(ctx, request, q);
    },
  );

  r.get(
    '/v1/quotes',
    { schema: { tags, summary: 'List quotes, newest first', querystring: PageQuery.extend({ account: z.string().optional(), status: z.string().optional() }), response: { 200: listOf(QuoteSchema), ...errorResponses } } },
    async (request) => {
      const ctx = ctxOf(deps, request);
      const q = request.query;
      const rows = await listQuotes(ctx, { limit: q.limit, startingAfter: q.starting_after, accountId: q.account, status: q.status });
      const out = [];
      for (const row of rows.slice(0, q.limit)) out.push(await renderQuote(ctx, request, row));
      return { object: 'list' as const, data: out, has_more: rows.length > q.limit };
    },
  );

  r.get('/v1/quotes/:id', { schema: { tags, summary: 'A quote with its lines, approval, acceptance, conversion and first-invoice preview', params: IdParam, response: res } }, async (request) => {
    const ctx = ctxOf(deps, request);
    return renderQuote(ctx, request, (await getQuote(ctx, request.params.id)).quote);
  });

  r.post(
    '/v1/quotes/:id',
    { schema: { tags, summary: 'Edit a draft, pending or approved quote (it goes back to draft)', params: IdParam, body: z.object(QuoteFields).partial(), response: res } },
    async (request) => {
      const ctx = ctxOf(deps, request);
      return renderQuote(ctx, request, await updateQuote(ctx, request.params.id, toInput(request.body)));
    },
  );

  r.delete('/v1/quotes/:id', { schema: { tags, summary: 'Delete a draft quote', params: IdParam, response: { 200: z.object({ id: z.string(), object: z.literal('quote'), deleted: z.literal(true) }), ...errorResponses } } }, async (request) => {
    const q = await deleteQuote(ctxOf(deps, request), request.params.id);
    return { id: q.id, object: 'quote' as const, deleted: true as const };
  });

  const transition = <S extends z.ZodType>(path: string, summary: string, body: S, run: (ctx: Ctx, id: string, b: z.infer<S>, request: FastifyRequest) => Promise<Quote>) =>
    r.post(`/v1/quotes/:id/${path}`, { schema: { tags, summary, params: IdParam, body, response: res } }, async (request) => {
      const ctx = ctxOf(deps, request);
      return renderQuote(ctx, request, await run(ctx, request.params.id, request.body as z.infer<S>, request));
    });
  transition('submit', 'Submit a draft: approved at once unless an approval rule fires (then pending_approval)', z.object({}).default({}), (ctx, id) => submitQuote(ctx, id));
  transition(
    'approve',
    'Approve a pending quote; the caller states its role (must be the rules’ approver role); who approved is recorded',
    z.object({ role: z.string().min(1).max(64), name: z.string().max(200).optional(), note: z.string().max(2000).optional() }),
    (ctx, id, b) => approveQuote(ctx, id, { role: b.role, name: b.name ?? null, note: b.note ?? null }),
  );
  transition('send', 'Send an approved quote: its share link (url) works until it expires', z.object({}).default({}), (ctx, id) => sendQuote(ctx, id));
  transition(
    'accept',
    'Record the buyer’s acceptance (name and title; time and IP recorded) and convert: a new subscription at contract start, or an amendment at the running subscription’s renewal',
    z.object({ name: z.string().min(1).max(200), title: z.string().min(1).max(200) }),
    (ctx, id, b, request) => acceptQuote(ctx, id, { name: b.name, title: b.title, ip: request.ip, userAgent: request.headers['user-agent'] ?? null, via: 'api' }),
  );
  transition('decline', 'Record that the buyer declined', z.object({ reason: z.string().max(2000).optional() }).default({}), (ctx, id, b) => declineQuote(ctx, id, { reason: b.reason ?? null }));

  r.get('/v1/quotes/:id/pdf', { schema: { tags, summary: 'The quote as a PDF', params: IdParam, produces: ['application/pdf'] } }, async (request, reply) => {
    const ctx = ctxOf(deps, request);
    const { quote, lines } = await getQuote(ctx, request.params.id);
    const pdf = await quotePdf(quote, await presentPreview(ctx, quote, lines), await parties(deps, ctx, quote));
    return reply.type('application/pdf').header('content-disposition', `inline; filename="${quote.number}.pdf"`).send(pdf);
  });

  quotePageRoutes(app, deps);
}

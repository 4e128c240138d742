import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../context.ts';
import { AppError } from '../../kernel/errors.ts';
import { parseInstant } from '../../kernel/dates.ts';
import { getAccount } from '../../modules/accounts/index.ts';
import {
  cancelSubscription,
  changeSubscription,
  createSubscription,
  creditNoteView,
  getCreditNote,
  getInvoice,
  getSubscription,
  invoiceDocument,
  invoiceView,
  issueCreditNote,
  lineView,
  listCreditNotes,
  listInvoices,
  listSubscriptions,
  markUncollectible,
  payInvoice,
  pendingChanges,
  runBillRun,
  subscriptionHistory,
  subscriptionView,
  totals,
  upcomingInvoice,
  voidInvoice,
  finalize,
} from '../../modules/billing/index.ts';
import { getWorkspace, recordAudit } from '../../modules/workspaces/index.ts';
import { ctxOf } from '../auth.ts';
import { errorResponses, IdParam, listOf, page, PageQuery } from '../schemas.ts';

const Interval = z.enum(['month', 'year']);
const Collection = z.enum(['charge_automatically', 'send_invoice']);
const Net = z.number().int().min(0).max(365);
const Overrides = z.record(z.string(), z.number().int().min(0)).describe('Negotiated unit amounts (minor units) by price id');

const SubscriptionSchema = z.looseObject({ id: z.string(), object: z.literal('subscription') }).meta({ id: 'Subscription' });
const InvoiceSchema = z.looseObject({ id: z.string(), object: z.literal('invoice') }).meta({ id: 'Invoice' });
const CreditNoteSchema = z.looseObject({ id: z.string(), object: z.literal('credit_note') }).meta({ id: 'CreditNote' });

function parseStart(s: string): Date {
  const d = parseInstant(s);
  if (!d) throw new AppError({ code: 'parameter_invalid', message: `start_date must be an ISO 8601 instant; got '${s}'.`, param: 'start_date' });
  return d;
}

export function billingRoutes(app: FastifyInstance, deps: Deps) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['Billing'];

  r.post(
    '/v1/subscriptions',
    {
      schema: {
        tags,
        summary: 'Create a subscription (bills the first period now unless it starts with a trial)',
        body: z.object({
          account: z.string().min(1),
          plan: z.string().min(1).describe('Plan id (plan_…) or key'),
          plan_version: z.string().optional().describe('A specific version id (default: the current version)'),
          interval: Interval.default('month'),
          quantity: z.number().int().min(1).default(1),
          collection_method: Collection.default('charge_automatically'),
          days_until_due: Net.optional(),
          payment_method: z.string().optional(),
          trial_days: z.number().int().min(0).max(730).optional(),
          start_date: z.string().optional().describe('ISO 8601 instant in the future: the subscription is scheduled and bills from then'),
          price_overrides: Overrides.optional(),
          dunning_final_action: z.enum(['cancel', 'mark_unpaid', 'past_due']).default('cancel'),
          metadata: z.record(z.string(), z.string()).optional(),
        }),
        response: { 200: SubscriptionSchema, ...errorResponses },
      },
    },
    async (request) => {
      const b = request.body;
      const sub = await createSubscription(ctxOf(deps, request), {
        accountId: b.account,
        plan: b.plan,
        planVersionId: b.plan_version,
        interval: b.interval,
        quantity: b.quantity,
        collectionMethod: b.collection_method,
        daysUntilDue: b.days_until_due,
        paymentMethodId: b.payment_method,
        trialDays: b.trial_days,
        startDate: b.start_date === undefined ? null : parseStart(b.start_date),
        priceOverrides: b.price_overrides,
        dunningFinalAction: b.dunning_final_action,
        metadata: b.metadata,
      });
      return subscriptionView(sub);
    },
  );

  r.get(
    '/v1/subscriptions',
    { schema: { tags, summary: 'List subscriptions', querystring: PageQuery.extend({ account: z.string().optional(), status: z.string().optional() }), response: { 200: listOf(SubscriptionSchema), ...errorResponses } } },
    async (request) => {
      const q = request.query;
      return page(await listSubscriptions(ctxOf(deps, request), { limit: q.limit, startingAfter: q.starting_after, accountId: q.account, status: q.status }), q.limit, subscriptionView);
    },
  );

  r.get('/v1/subscriptions/:id', { schema: { tags, summary: 'A subscription with its pending scheduled changes', params: IdParam, response: { 200: SubscriptionSchema, ...errorResponses } } }, async (request) => {
    const ctx = ctxOf(deps, request);
    const sub = await getSubscription(ctx, request.params.id);
    const pending = await pendingChanges(ctx, sub.id);
    return { ...subscriptionView(sub), pending_changes: pending.map((p) => ({ id: p.id, effective_at: p.effectiveAt.toISOString(), change: p.change, source: p.source })) };
  });

  r.get(
    '/v1/subscriptions/:id/history',
    { schema: { tags, summary: 'Every change to a subscription, oldest first', params: IdParam, response: { 200: z.object({ object: z.literal('list'), data: z.array(z.any()), has_more: z.boolean() }), ...errorResponses } } },
    async (request) => {
      const ctx = ctxOf(deps, request);
      const sub = await getSubscription(ctx, request.params.id);
      const rows = await subscriptionHistory(ctx, sub.id);
      return { object: 'list' as const, data: rows.map((e) => ({ id: e.id, type: e.type, effective_at: e.effectiveAt.toISOString(), before: e.before, after: e.after })), has_more: false };
    },
  );

  r.post(
    '/v1/subscriptions/:id/change',
    {
      schema: {
        tags,
        summary: 'Upgrade, downgrade, change seats, interval, collection method — now (prorated) or at period end',
        params: IdParam,
        body: z.object({
          plan: z.string().optional(),
          plan_version: z.string().optional(),
          interval: Interval.optional(),
          quantity: z.number().int().min(1).optional(),
          collection_method: Collection.optional(),
          days_until_due: Net.optional(),
          payment_method: z.string().nullable().optional(),
          price_overrides: Overrides.optional(),
          proration_behavior: z.enum(['create_prorations', 'none']).default('create_prorations'),
          effective: z.enum(['now', 'period_end']).default('now'),
          cancel_at_period_end: z.boolean().optional(),
        }),
        response: { 200: SubscriptionSchema, ...errorResponses },
      },
    },
    async (request) => {
      const b = request.body;
      const sub = await changeSubscription(ctxOf(deps, request), request.params.id, {
        plan: b.plan,
        planVersionIdRef: b.plan_version,
        interval: b.interval,
        quantity: b.quantity,
        collectionMethod: b.collection_method,
        daysUntilDue: b.days_until_due,
        paymentMethodId: b.payment_method,
        priceOverrides: b.price_overrides,
        prorationBehavior: b.proration_behavior,
        effective: b.effective,
        cancelAtPeriodEnd: b.cancel_at_period_end,
      });
      return subscriptionView(sub);
    },
  );

  r.post(
    '/v1/subscriptions/:id/cancel',
    {
      schema: {
        tags,
        summary: 'Cancel at period end (default) or now',
        params: IdParam,
        body: z.object({ at_period_end: z.boolean().default(true), prorate: z.boolean().default(false) }).default({ at_period_end: true, prorate: false }),
        response: { 200: SubscriptionSchema, ...errorResponses },
      },
    },
    async (request) => subscriptionView(await cancelSubscription(ctxOf(deps, request), request.params.id, { atPeriodEnd: request.body.at_period_end, prorate: request.body.prorate })),
  );

  r.get(
    '/v1/invoices',
    {
      schema: {
        tags,
        summary: 'List invoices',
        querystring: PageQuery.extend({ account: z.string().optional(), subscription: z.string().optional(), status: z.enum(['draft', 'open', 'paid', 'void', 'uncollectible']).optional() }),
        response: { 200: listOf(InvoiceSchema), ...errorResponses },
      },
    },
    async (request) => {
      const q = request.query;
      const ctx = ctxOf(deps, request);
      return page(await listInvoices(ctx, { limit: q.limit, startingAfter: q.starting_after, accountId: q.account, subscriptionId: q.subscription, status: q.status }), q.limit, (i) => invoiceView(i));
    },
  );

  r.get(
    '/v1/invoices/upcoming',
    {
      schema: { tags, summary: "Preview the subscription's next invoice (the renewal's own computation; nothing is written)", querystring: z.object({ subscription: z.string().min(1) }), response: { 200: z.any(), ...errorResponses } },
    },
    async (request) => {
      const { sub, plan, credit } = await upcomingInvoice(ctxOf(deps, request), request.query.subscription);
      const t = totals(plan.lines, credit);
      return {
        object: 'upcoming_invoice' as const,
        subscription: sub.id,
        account: sub.accountId,
        currency: sub.currency,
        billing_reason: plan.cancel ? 'subscription_cancel' : 'subscription_cycle',
        collection_method: plan.after.collectionMethod,
        next_payment_attempt: sub.currentPeriodEnd.toISOString(),
        period_start: (plan.next ?? plan.ended).start.toISOString(),
        period_end: (plan.next ?? plan.ended).end.toISOString(),
        lines: plan.lines.map((l, i) => lineView({ ...l, id: `upcoming_${i}`, invoiceId: '', subscriptionId: sub.id, currency: sub.currency, position: i })),
        subtotal: t.subtotal,
        balance_applied: t.balanceApplied,
        total: t.total,
        amount_due: t.amountDue,
      };
    },
  );

  r.post(
    '/v1/invoices',
    {
      schema: {
        tags,
        summary: 'Create a one-off draft invoice (finalize it to send)',
        body: z.object({
          account: z.string().min(1),
          currency: z.string().length(3),
          collection_method: Collection.default('send_invoice'),
          days_until_due: Net.optional(),
          memo: z.string().max(2000).optional(),
          lines: z.array(z.object({ description: z.string().min(1).max(500), amount: z.number().int().min(0), quantity: z.number().int().min(1).default(1) })).min(1).max(200),
          auto_finalize: z.boolean().default(false),
        }),
        response: { 200: InvoiceSchema, ...errorResponses },
      },
    },
    async (request) => {
      const ctx = ctxOf(deps, request);
      const b = request.body;
      const { createDraft } = await import('../../modules/billing/index.ts');
      const { isCurrency } = await import('../../kernel/currency.ts');
      if (!isCurrency(b.currency)) throw new AppError({ code: 'currency_unknown', param: 'currency' });
      const account = await getAccount(ctx, b.account);
      const inv = await deps.database.db.transaction(async (tx) => {
        const draft = await createDraft(tx, ctx, {
          accountId: account.id,
          subscriptionId: null,
          currency: b.currency.toLowerCase(),
          collectionMethod: b.collection_method,
          daysUntilDue: b.collection_method === 'send_invoice' ? (b.days_until_due ?? 30) : null,
          billingReason: 'manual',
          period: null,
          memo: b.memo ?? null,
          lines: b.lines.map((l, i) => ({
            kind: 'adjustment' as const,
            chargeKey: `manual:${i}`,
            priceId: null,
            description: l.description,
            periodStart: ctx.asOf,
            periodEnd: ctx.asOf,
            quantity: String(l.quantity),
            unitAmountDecimal: String(l.amount),
            amount: l.amount * l.quantity,
          })),
        });
        await recordAudit(tx, ctx, { action: 'invoice.created', entityType: 'invoice', entityId: draft!.invoice.id, after: invoiceView(draft!.invoice) });
        return b.auto_finalize ? finalize(tx, ctx, draft!.invoice.id) : draft!.invoice;
      });
      const { lines } = await getInvoice(ctx, inv.id);
      return invoiceView(inv, lines);
    },
  );

  r.get('/v1/invoices/:id', { schema: { tags, summary: 'An invoice with its lines', params: IdParam, response: { 200: InvoiceSchema, ...errorResponses } } }, async (request) => {
    const { invoice, lines } = await getInvoice(ctxOf(deps, request), request.params.id);
    return invoiceView(invoice, lines);
  });

  const transition = (path: string, summary: string, run: (ctx: ReturnType<typeof ctxOf>, id: string) => Promise<unknown>) =>
    r.post(path, { schema: { tags, summary, params: IdParam, response: { 200: InvoiceSchema, ...errorResponses } } }, async (request) => {
      const ctx = ctxOf(deps, request);
      await run(ctx, request.params.id);
      const { invoice, lines } = await getInvoice(ctx, request.params.id);
      return invoiceView(invoice, lines);
    });
  transition('/v1/invoices/:id/finalize', 'Finalize a draft: number it, fix its due date, start collection', (ctx, id) => deps.database.db.transaction((tx) => finalize(tx, ctx, id)));
  transition('/v1/invoices/:id/void', 'Void an invoice that has no payment', (ctx, id) => deps.database.db.transaction((tx) => voidInvoice(tx, ctx, id)));
  transition('/v1/invoices/:id/mark_uncollectible', 'Mark an open invoice uncollectible', (ctx, id) => deps.database.db.transaction((tx) => markUncollectible(tx, ctx, id)));

  r.post(
    '/v1/invoices/:id/pay',
    {
      schema: {
        tags,
        summary: 'Pay an invoice: record a bank transfer/wire/check, or charge the card on file now',
        params: IdParam,
        body: z
          .object({
            paid_out_of_band: z.boolean().default(false),
            method: z.enum(['bank_transfer', 'wire', 'check', 'other']).optional(),
            amount: z.number().int().min(1).optional(),
            reference: z.string().max(200).optional(),
          })
          .default({ paid_out_of_band: false }),
        response: { 200: InvoiceSchema, ...errorResponses },
      },
    },
    async (request) => {
      const ctx = ctxOf(deps, request);
      const b = request.body;
      await payInvoice(ctx, request.params.id, { paidOutOfBand: b.paid_out_of_band, method: b.method, amount: b.amount, reference: b.reference ?? null });
      const { invoice, lines } = await getInvoice(ctx, request.params.id);
      return invoiceView(invoice, lines);
    },
  );

  const parties = async (ctx: ReturnType<typeof ctxOf>, accountId: string) => {
    const ws = await getWorkspace(deps, ctx.workspaceId);
    const account = await getAccount(ctx, accountId).catch(() => null);
    return { seller: { name: ws.name, id: ws.id }, customer: { name: account?.name ?? accountId, id: accountId } };
  };
  r.get('/v1/invoices/:id/pdf', { schema: { tags, summary: 'The invoice as a PDF file', params: IdParam, produces: ['application/pdf'] } }, async (request, reply) => {
    const ctx = ctxOf(deps, request);
    const { invoice } = await getInvoice(ctx, request.params.id);
    const pdf = await invoiceDocument(ctx, invoice.id, 'pdf', await parties(ctx, invoice.accountId));
    return reply.type('application/pdf').header('content-disposition', `inline; filename="${invoice.number ?? invoice.id}.pdf"`).send(pdf);
  });
  r.get('/v1/invoices/:id/html', { schema: { tags, summary: 'The invoice as an HTML page', params: IdParam, produces: ['text/html'] } }, async (request, reply) => {
    const ctx = ctxOf(deps, request);
    const { invoice } = await getInvoice(ctx, request.params.id);
    return reply.type('text/html; charset=utf-8').send(await invoiceDocument(ctx, invoice.id, 'html', await parties(ctx, invoice.accountId)));
  });

  r.post(
    '/v1/credit_notes',
    {
      schema: {
        tags,
        summary: 'Issue a credit note against a finalized invoice (reduces what is owed, the rest becomes account credit)',
        body: z.object({
          invoice: z.string().min(1),
          amount: z.number().int().min(1),
          reason: z.enum(['correction', 'duplicate', 'order_change', 'product_unsatisfactory', 'other']).default('correction'),
          memo: z.string().max(2000).optional(),
        }),
        response: { 200: CreditNoteSchema, ...errorResponses },
      },
    },
    async (request) => {
      const ctx = ctxOf(deps, request);
      const b = request.body;
      const { invoice } = await getInvoice(ctx, b.invoice);
      const res = await deps.database.db.transaction((tx) =>
        issueCreditNote(tx, ctx, { invoiceId: invoice.id, accountId: invoice.accountId, subscriptionId: invoice.subscriptionId, currency: invoice.currency, amount: b.amount, reason: b.reason, memo: b.memo ?? null }),
      );
      return creditNoteView(res!.creditNote);
    },
  );
  r.get(
    '/v1/credit_notes',
    { schema: { tags, summary: 'List credit notes', querystring: PageQuery.extend({ invoice: z.string().optional(), account: z.string().optional() }), response: { 200: listOf(CreditNoteSchema), ...errorResponses } } },
    async (request) => {
      const q = request.query;
      return page(await listCreditNotes(ctxOf(deps, request), { limit: q.limit, startingAfter: q.starting_after, invoiceId: q.invoice, accountId: q.account }), q.limit, creditNoteView);
    },
  );
  r.get('/v1/credit_notes/:id', { schema: { tags, summary: 'A credit note', params: IdParam, response: { 200: CreditNoteSchema, ...errorResponses } } }, async (request) =>
    creditNoteView(await getCreditNote(ctxOf(deps, request), request.params.id)),
  );

  r.post(
    '/v1/bill_runs',
    {
      schema: {
        tags,
        summary: 'Renew every subscription whose period has ended (idempotent: a re-run finds nothing to do)',
        body: z.object({}).default({}),
        response: { 200: z.object({ object: z.literal('bill_run'), as_of: z.string(), subscriptions_due: z.number(), renewed: z.number(), invoices_created: z.number(), failed: z.array(z.object({ subscription: z.string(), error: z.string() })) }), ...errorResponses },
      },
    },
    async (request) => {
      const ctx = ctxOf(deps, request);
      const r2 = await runBillRun(ctx);
      return { object: 'bill_run' as const, as_of: ctx.asOf.toISOString(), ...r2 };
    },
  );
}

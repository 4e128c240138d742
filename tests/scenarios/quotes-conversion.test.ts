import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PDFParse } from 'pdf-parse';
import { expectTotals, scenario, type Scenario } from './dsl.ts';

/**
 * The hybrid motion end to end: a self-serve Pro customer is sold Enterprise through a quote
 * (annual, Net 30, negotiated prices, a discount and a free month), accepts it mid-period, keeps
 * Pro untouched until renewal, and renews on the quoted terms — the first invoice equal, line by
 * line, to the quote's preview.
 */
const pathOf = (url: string) => {
  const u = new URL(url);
  return u.pathname + u.search;
};

/** The quote's first-invoice preview and a real invoice agree on every line and total. */
export function assertPreviewIsInvoice(preview: any, invoice: any) {
  assert.deepEqual(
    invoice.lines.map((l: any) => ({ description: l.description, price: l.price, quantity: l.quantity, unit_amount_decimal: l.unit_amount_decimal, amount: l.amount })),
    preview.lines.map((l: any) => ({ description: l.description, price: l.price, quantity: l.quantity, unit_amount_decimal: l.unit_amount_decimal, amount: l.amount })),
  );
  for (const k of ['subtotal', 'balance_applied', 'total', 'amount_due', 'collection_method', 'period_start', 'period_end']) assert.deepEqual(invoice[k], preview[k], k);
  assert.equal(invoice.due_date, preview.due_date, 'due date');
}

describe('self-serve Pro → Enterprise quote, converted on renewal', () => {
  let s: Scenario;
  let ent: any;
  let proPlan: any;
  before(async () => {
    s = await scenario('2026-03-01T00:00:00Z');
    proPlan = await s.plan({ key: 'pro', name: 'Pro', motion: 'self_serve', prices: [{ type: 'flat', unit_amount: 19900 }] });
    ent = await s.plan({
      key: 'enterprise',
      name: 'Enterprise',
      motion: 'sales_led',
      visibility: 'quote_only',
      prices: [
        { type: 'flat', interval: 'year', unit_amount: 3_000_000, nickname: 'Platform fee' },
        { type: 'per_seat', interval: 'year', unit_amount: 60_000, nickname: 'Enterprise seat' },
      ],
    });
  });
  after(() => s.close());

  it('quotes, approves, is accepted on its page mid-period, changes nothing until renewal, then bills exactly the preview on invoice terms', async () => {
    const acme = await s.customer('Acme');
    const pro = await s.subscribe(acme, 'pro');
    await s.advance('2026-03-12T09:00:00Z');

    const platform = ent.prices.find((p: any) => p.nickname === 'Platform fee').id;
    let quote = await s.ok(
      s.api.post('/v1/quotes', {
        account: acme.id,
        plan: 'enterprise',
        interval: 'year',
        quantity: 25,
        term_months: 12,
        payment_terms: { method: 'invoice', net_days: 30 },
        discount: { type: 'percent', percent: '10' },
        free_months: 1,
        lines: [{ price: platform, unit_amount: 2_500_000 }],
      }),
    );
    assert.equal(quote.status, 'draft');
    assert.match(quote.number, /^Q-\d{6}$/);
    // 2,500,000 × 0.9 = 2,250,000 ; 60,000 × 0.9 = 54,000 × 25 = 1,350,000 ; 1 free month = 3,600,000 / 12
    assert.deepEqual(quote.preview.per_period, { list: 4_500_000, net: 3_600_000, discount: 900_000 });
    assert.equal(quote.preview.free_months_credit, 300_000);
    assert.equal(quote.preview.total_contract_value, 3_300_000);
    assert.equal(quote.preview.contract.type, 'amendment');
    assert.equal(quote.preview.contract.subscription, pro.id);
    assert.equal(quote.preview.contract.start, '2026-04-01T00:00:00.000Z', 'convert on renewal');

    quote = await s.ok(s.api.post(`/v1/quotes/${quote.id}/submit`, {}));
    assert.equal(quote.status, 'pending_approval', 'a 26.67 % effective discount is above the 20 % rule');
    assert.deepEqual(quote.approval.reasons.map((r: any) => r.code), ['discount_above_limit']);
    quote = await s.ok(s.api.post(`/v1/quotes/${quote.id}/approve`, { role: 'sales_manager', name: 'Maria Manager' }));
    assert.equal(quote.status, 'approved');
    quote = await s.ok(s.api.post(`/v1/quotes/${quote.id}/send`, {}));
    assert.equal(quote.status, 'sent');
    const quotedBeforeAcceptance = quote.preview.first_invoice;

    await s.advance('2026-03-20T15:30:00Z');
    const page = await s.h.tandem.app.inject({ method: 'GET', url: pathOf(quote.url) });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /Accept and sign/);
    const accepted = await s.h.api(null).post(`${new URL(quote.url).pathname}/accept`, { name: 'Ada Buyer', title: 'VP Engineering' }, { 'x-forwarded-for': '203.0.113.7' });
    assert.equal(accepted.status, 200, JSON.stringify(accepted.body));
    await s.settle();

    quote = await s.ok(s.api.get(`/v1/quotes/${quote.id}`));
    assert.equal(quote.status, 'converted');
    assert.deepEqual(quote.conversion, { type: 'amendment', subscription: pro.id, contract_start: '2026-04-01T00:00:00.000Z' });
    assert.equal(quote.acceptance.name, 'Ada Buyer');
    assert.equal(quote.acceptance.title, 'VP Engineering');
    assert.equal(quote.acceptance.ip, '203.0.113.7');
    assert.equal(quote.acceptance.accepted_at, '2026-03-20T15:30:00.000Z');
    assert.equal((await s.events('quote.accepted')).length, 1);
    assert.equal((await s.events('quote.converted')).length, 1);

    // Nothing changes before the contract start.
    await s.advance('2026-03-31T23:00:00Z');
    let sub = await s.subscription(pro.id);
    assert.equal(sub.plan, proPlan.id);
    assert.equal(sub.interval, 'month');
    assert.equal(sub.collection_method, 'charge_automatically');
    assert.equal(sub.pending_changes.length, 1);
    assert.equal(sub.pending_changes[0].effective_at, '2026-04-01T00:00:00.000Z');
    expectTotals(await s.invoices(pro.id), [19900]);
    assert.equal((await s.ok(s.api.get(`/v1/credit_notes?account=${acme.id}`))).data.length, 0);
    assert.equal((await s.events('subscription.payment_method_changed')).length, 0);

    // At renewal: Enterprise, annual, 25 seats, negotiated prices, invoice Net 30.
    await s.advance('2026-04-01T00:00:00Z');
    sub = await s.subscription(pro.id);
    assert.equal(sub.plan, ent.id);
    assert.equal(sub.interval, 'year');
    assert.equal(sub.quantity, 25);
    assert.equal(sub.collection_method, 'send_invoice');
    assert.equal(sub.days_until_due, 30);
    assert.equal(sub.current_period_end, '2027-04-01T00:00:00.000Z');
    const invoices = await s.invoices(pro.id);
    assert.equal(invoices.length, 2);
    assert.equal(invoices[0].status, 'paid', 'the self-serve history is untouched');
    const first = invoices[1];
    assert.equal(first.collection_method, 'send_invoice');
    assert.equal(first.status, 'open');
    assertPreviewIsInvoice(quote.preview.first_invoice, first);
    assertPreviewIsInvoice(quotedBeforeAcceptance, first);
    assert.equal(first.total, 3_600_000);
    assert.equal(first.amount_due, 3_300_000, 'the free month is credited');
    const notes = (await s.ok(s.api.get(`/v1/credit_notes?account=${acme.id}`))).data;
    assert.deepEqual(notes.map((n: any) => [n.reason, n.amount]), [['other', 300_000]]);
    const changed = await s.events('subscription.payment_method_changed');
    assert.equal(changed.length, 1);
    assert.equal(changed[0].data.previous_collection_method, 'charge_automatically');

    // The PDF says the same.
    const pdf = await s.api.get(`/v1/quotes/${quote.id}/pdf`);
    assert.equal(pdf.status, 200);
    const parser = new PDFParse({ data: new Uint8Array(pdf.raw.rawPayload) });
    const text = (await parser.getText()).text;
    await parser.destroy();
    assert.match(text, new RegExp(`Quote ${quote.number}`));
    assert.match(text, /\$33,000\.00/, 'total contract value');
    assert.match(text, /Accepted by Ada Buyer, VP Engineering/);

    // A year later the renewal is at the negotiated prices, with no credit.
    await s.advance('2027-04-01T00:00:00Z');
    expectTotals((await s.invoices(pro.id)).slice(2), [3_600_000]);
  });

  it('a new account: a new subscription scheduled at the quoted start, the free month credited just before it', async () => {
    await s.plan({ key: 'scale', name: 'Scale', motion: 'sales_assisted', visibility: 'contact_sales', prices: [{ type: 'per_seat', unit_amount: 9_900 }] });
    const beta = await s.customer('Beta', { card: null });
    const now = await s.now();
    const start = '2027-06-01T00:00:00.000Z';
    assert.ok(now < start);
    let quote = await s.ok(
      s.api.post('/v1/quotes', { account: beta.id, plan: 'scale', interval: 'month', quantity: 40, term_months: 12, start_date: start, payment_terms: { method: 'invoice', net_days: 45 }, discount: { type: 'amount', amount: 20_000 }, free_months: 1 }),
    );
    // 20,000 spread over 40 seats × 9,900: 500 a seat → 9,400 ; 376,000 a month
    assert.equal(quote.preview.price_overrides[Object.keys(quote.preview.price_overrides)[0]], 9_400);
    assert.equal(quote.preview.per_period.net, 376_000);
    quote = await s.ok(s.api.post(`/v1/quotes/${quote.id}/submit`, {}));
    assert.equal(quote.status, 'approved', 'no rule fires: approved on submission');
    assert.equal(quote.approval.approved_by.automatic, true);
    quote = await s.ok(s.api.post(`/v1/quotes/${quote.id}/send`, {}));
    quote = await s.ok(s.api.post(`/v1/quotes/${quote.id}/accept`, { name: 'Bea Buyer', title: 'COO' }));
    assert.equal(quote.status, 'converted');
    assert.equal(quote.conversion.type, 'new_subscription');
    const sub = await s.subscription(quote.conversion.subscription);
    assert.equal(sub.status, 'scheduled');
    assert.equal(sub.current_period_start, start);
    assert.equal((await s.invoices(sub.id)).length, 0, 'nothing is billed before the start');

    await s.advance('2027-06-01T00:00:00Z');
    const [first] = await s.invoices(sub.id);
    assertPreviewIsInvoice(quote.preview.first_invoice, first);
    assert.equal(first.total, 376_000);
    assert.equal(first.balance_applied, 376_000);
    assert.equal(first.status, 'paid', 'the free month pays it');
    await s.advance('2027-07-01T00:00:00Z');
    expectTotals((await s.invoices(sub.id)).slice(1), [376_000]);
    assert.equal((await s.invoices(sub.id))[1].amount_due, 376_000);
  });
});

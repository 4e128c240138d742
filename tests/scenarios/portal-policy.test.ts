import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { expectTotals, scenario, type Customer, type Scenario } from './dsl.ts';

/**
 * The customer portal under the upgrade policy: small upgrades proceed alone, large ones also
 * alert sales, quote-only plans become quote requests; payment methods follow the plan's motion.
 */
describe('portal and upgrade policy', () => {
  let s: Scenario;
  before(async () => {
    s = await scenario('2026-03-01T00:00:00Z');
    await s.plan({ key: 'starter', name: 'Starter', prices: [{ type: 'flat', unit_amount: 4_900 }, { type: 'flat', interval: 'year', unit_amount: 49_000 }] });
    await s.plan({
      key: 'pro',
      name: 'Pro',
      prices: [
        { type: 'flat', unit_amount: 19_900 },
        { type: 'per_seat', unit_amount: 1_500 },
        { type: 'flat', interval: 'year', unit_amount: 199_000 },
        { type: 'per_seat', interval: 'year', unit_amount: 15_000 },
      ],
    });
    await s.plan({ key: 'business', name: 'Business', motion: 'sales_assisted', prices: [{ type: 'flat', unit_amount: 150_000 }] });
    await s.plan({ key: 'enterprise', name: 'Enterprise', motion: 'sales_led', visibility: 'quote_only', prices: [{ type: 'flat', interval: 'year', unit_amount: 6_000_000 }] });
    await s.plan({ key: 'scale', name: 'Scale', motion: 'sales_assisted', visibility: 'contact_sales', prices: [{ type: 'flat', unit_amount: 300_000 }] });
  });
  after(() => s.close());

  const portal = async (c: Customer) => new URL((await s.ok(s.api.post('/v1/portal/sessions', { account: c.id, return_url: 'https://app.example.com/settings' }))).url).pathname;
  const act = (path: string, action: string, body: unknown = {}) => s.h.api(null).post(`${path}/${action}`, body);
  const productEvents = (accountId: string, event: string) =>
    s.h.database.query<{ properties: any }>(`SELECT properties FROM product_events WHERE workspace_id = $1 AND account_id = $2 AND event = $3`, [s.ws.id, accountId, event]);

  it('an upgrade below the threshold proceeds alone, charged at once; above it, it proceeds and raises a Large Upgrade signal', async () => {
    const c = await s.customer('Small Co');
    const sub = await s.subscribe(c, 'starter');
    await s.advance('2026-03-17T00:00:00Z');
    const p = await portal(c);
    const up = await act(p, 'plan', { plan: 'pro' });
    assert.equal(up.status, 200, JSON.stringify(up.body));
    assert.match(up.body.message, /now on Pro/);
    let inv = await s.invoices(sub.id);
    // Starter → Pro on Mar 17 (15 of 31 days left): −4,900 × 15/31 = −2,371 ; (19,900 + 1,500) × 15/31 = 10,355
    assert.deepEqual(inv[1].lines.map((l: any) => l.amount), [-2_371, 9_629, 726]);
    assert.equal(inv[1].status, 'paid', 'charged before the answer');
    assert.equal((await s.events('upgrade.large')).length, 0, 'ARR +198,000 < 500,000: no signal');

    const big = await act(p, 'plan', { plan: 'business' });
    assert.equal(big.status, 200, JSON.stringify(big.body));
    const signals = await s.events('upgrade.large');
    assert.equal(signals.length, 1);
    // Pro ARR (19,900 + 1,500) × 12 = 256,800 → Business 1,800,000
    assert.deepEqual(signals[0].data.arr_increase, { amount: 1_543_200, currency: 'usd' });
    assert.equal(signals[0].data.to_plan_key, 'business');
    const pe = await productEvents(c.id, 'Large Upgrade');
    assert.equal(pe.length, 1);
    assert.equal(pe[0].properties.arr_increase.amount, 1_543_200);
    inv = await s.invoices(sub.id);
    assert.equal(inv.at(-1).status, 'paid');
    assert.equal((await s.subscription(sub.id)).plan, (await s.ok(s.api.get('/v1/plans?limit=100'))).data.find((x: any) => x.key === 'business').id);
  });

  it('a move to a quote-only plan is refused with "requires a quote" and becomes a quote request for sales', async () => {
    const c = await s.customer('Growing Co');
    const sub = await s.subscribe(c, 'pro', { quantity: 3 });
    const p = await portal(c);
    const r = await act(p, 'plan', { plan: 'enterprise' });
    assert.equal(r.status, 409);
    assert.equal(r.body.error.code, 'quote_required');
    assert.match(r.body.error.message, /Enterprise requires a quote/);
    const quotes = (await s.ok(s.api.get(`/v1/quotes?account=${c.id}`))).data;
    assert.equal(quotes.length, 1);
    assert.equal(quotes[0].status, 'draft');
    assert.equal(quotes[0].requested_by_customer, true);
    assert.equal(quotes[0].source_subscription, sub.id);
    assert.equal(quotes[0].quantity, 3);
    assert.equal(quotes[0].interval, 'year', 'Enterprise is sold annually');
    const requested = await s.events('quote.requested');
    assert.equal(requested.filter((e) => e.data.account === c.id).length, 1);
    const again = await act(p, 'plan', { plan: 'enterprise' });
    assert.equal(again.status, 409);
    assert.equal((await s.ok(s.api.get(`/v1/quotes?account=${c.id}`))).data.length, 1, 'asking twice makes one request');
    const after = await s.subscription(sub.id);
    assert.equal(after.quantity, 3);
    assert.equal((await s.invoices(sub.id)).length, 1, 'the running subscription is untouched');
  });

  it('payment methods follow the plan motion: self-serve pays by card; sales-assisted may switch to invoice on Net terms and back', async () => {
    const c = await s.customer('Switcher');
    const sub = await s.subscribe(c, 'pro');
    const p = await portal(c);
    const refused = await act(p, 'payment_method', { method: 'invoice', net_days: 30 });
    assert.equal(refused.status, 409);
    assert.equal(refused.body.error.code, 'payment_method_not_allowed');
    assert.equal((await act(p, 'plan', { plan: 'business' })).status, 200);
    assert.equal((await act(p, 'payment_method', { method: 'invoice', net_days: 90 })).status, 400, 'only the offered Net terms');
    const ok = await act(p, 'payment_method', { method: 'invoice', net_days: 45 });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    let now = await s.subscription(sub.id);
    assert.equal(now.collection_method, 'send_invoice');
    assert.equal(now.days_until_due, 45);
    assert.equal((await s.events('subscription.payment_method_changed')).filter((e) => e.data.subscription.id === sub.id).length, 1);
    const back = await act(p, 'payment_method', { method: 'card', card: { number: '5555555555554444', exp: '11/31', cvc: '321' } });
    assert.equal(back.status, 200, JSON.stringify(back.body));
    now = await s.subscription(sub.id);
    assert.equal(now.collection_method, 'charge_automatically');
    assert.notEqual(now.payment_method, c.paymentMethod);
    const sales = await s.ok(s.api.post('/v1/upgrade_policy', { net_terms_allowed_motions: ['self_serve', 'sales_assisted', 'sales_led'] }));
    assert.deepEqual(sales.net_terms_allowed_motions, ['self_serve', 'sales_assisted', 'sales_led']);
    await s.ok(s.api.post('/v1/upgrade_policy', { net_terms_allowed_motions: ['sales_assisted', 'sales_led'] }));
  });

  it('a declined card on an upgrade changes nothing', async () => {
    const c = await s.customer('Declined Co');
    const sub = await s.subscribe(c, 'starter');
    const p = await portal(c);
    assert.equal((await act(p, 'payment_method', { method: 'card', card: { number: '4000000000000341', exp: '12/30', cvc: '123' } })).status, 200);
    const r = await act(p, 'plan', { plan: 'pro' });
    assert.equal(r.status, 402);
    assert.match(r.body.error.message, /declined.*Nothing was changed/);
    const now = await s.subscription(sub.id);
    assert.equal((await s.ok(s.api.get(`/v1/plans/${now.plan}`))).key, 'starter');
    assert.equal((await s.invoices(sub.id)).length, 1);
  });

  it('monthly → annual at the configured commitment discount; seats; downgrade at period end; cancel and resume', async () => {
    await s.ok(s.api.post('/v1/upgrade_policy', { annual_commitment_discount_percent: '15' }));
    const c = await s.customer('Committer');
    const sub = await s.subscribe(c, 'pro', { quantity: 2 });
    const p = await portal(c);
    const r = await act(p, 'annual');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    let now = await s.subscription(sub.id);
    assert.equal(now.interval, 'year');
    const inv = await s.invoices(sub.id);
    // 199,000 × 0.85 = 169,150 ; 15,000 × 0.85 = 12,750 × 2 = 25,500
    assert.deepEqual(inv.at(-1).lines.filter((l: any) => l.kind === 'recurring').map((l: any) => l.amount), [169_150, 25_500]);
    assert.equal(inv.at(-1).status, 'paid');
    assert.equal((await act(p, 'annual')).status, 409);

    assert.equal((await act(p, 'seats', { quantity: 5 })).status, 200);
    assert.equal((await s.subscription(sub.id)).quantity, 5);

    const down = await act(p, 'plan', { plan: 'starter', interval: 'year' });
    assert.equal(down.status, 200, JSON.stringify(down.body));
    assert.match(down.body.message, /You will move to Starter on/);
    now = await s.subscription(sub.id);
    assert.equal(now.pending_changes.length, 1);

    assert.equal((await act(p, 'cancel')).status, 200);
    assert.equal((await s.subscription(sub.id)).cancel_at_period_end, true);
    assert.equal((await act(p, 'resume')).status, 200);
    assert.equal((await s.subscription(sub.id)).cancel_at_period_end, false);
  });

  it('shows the page, serves the account’s own invoice PDFs only, and takes "Contact sales" for contact-sales plans', async () => {
    const c = await s.customer('Reader');
    const other = await s.customer('Other');
    const sub = await s.subscribe(c, 'pro');
    const otherSub = await s.subscribe(other, 'pro');
    const p = await portal(c);
    const page = await s.h.tandem.app.inject({ method: 'GET', url: p });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /Billing for Reader/);
    assert.match(page.body, /Request a quote/);
    assert.match(page.body, /Contact sales/);
    const [mine] = await s.invoices(sub.id);
    const [theirs] = await s.invoices(otherSub.id);
    const pdf = await s.h.tandem.app.inject({ method: 'GET', url: `${p}/invoices/${mine.id}.pdf` });
    assert.equal(pdf.statusCode, 200);
    assert.equal(pdf.headers['content-type'], 'application/pdf');
    assert.equal((await s.h.tandem.app.inject({ method: 'GET', url: `${p}/invoices/${theirs.id}.pdf` })).statusCode, 404);
    assert.equal((await s.h.tandem.app.inject({ method: 'GET', url: `${p.slice(0, -2)}xx` })).statusCode, 404);
    const hr = await act(p, 'contact_sales', { plan: 'scale', email: 'cto@reader.example', name: 'Rita' });
    assert.equal(hr.status, 200, JSON.stringify(hr.body));
    const raised = (await s.events('hand_raise.created')).filter((e) => e.data.account === c.id);
    assert.equal(raised.length, 1);
    assert.equal(raised[0].data.plan_key, 'scale');
    assert.equal((await productEvents(c.id, 'Demo Requested')).length, 1);
    expectTotals(await s.invoices(sub.id), [21_400]);
    // A portal link lives 24 hours of workspace time.
    await s.advance('P1DT1H');
    assert.match((await s.h.tandem.app.inject({ method: 'GET', url: p })).body, /This link has expired/);
    const late = await act(p, 'cancel');
    assert.equal(late.status, 409);
    assert.equal((await s.subscription(sub.id)).cancel_at_period_end, false);
  });
});

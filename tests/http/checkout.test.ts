import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startHarness, type Harness, type TestWorkspace } from '../support/harness.ts';

/**
 * Hosted checkout over HTTP: sessions, the signed page, completion by card (account found or
 * created by domain), declines that leave nothing behind, expiry, and "Contact sales".
 */
describe('hosted checkout', () => {
  let h: Harness;
  let ws: TestWorkspace;
  before(async () => {
    h = await startHarness();
    ws = await h.workspace({ clockStart: '2026-03-01T00:00:00Z' });
    const api = h.api(ws);
    for (const body of [
      { key: 'pro', name: 'Pro', currency: 'usd', description: 'For growing teams', prices: [{ type: 'per_seat', unit_amount: 2_000 }, { type: 'per_seat', interval: 'year', unit_amount: 20_000 }] },
      { key: 'business', name: 'Business', currency: 'usd', motion: 'sales_assisted', visibility: 'contact_sales', prices: [{ type: 'flat', unit_amount: 150_000 }] },
    ]) {
      const r = await api.post('/v1/plans', body);
      assert.equal(r.status, 200, JSON.stringify(r.body));
    }
  });
  after(() => h.close());

  const api = () => h.api(ws);
  const session = async (body: Record<string, unknown> = {}) => {
    const r = await api().post('/v1/checkout/sessions', { plan: 'pro', quantity: 3, success_url: 'https://shop.example/thanks?cs={CHECKOUT_SESSION_ID}', cancel_url: 'https://shop.example/pricing', ...body });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const u = new URL(r.body.url);
    return { s: r.body, page: u.pathname + u.search, complete: `${u.pathname}/complete${u.search}`, contact: `${u.pathname}/contact_sales${u.search}` };
  };
  const buyer = (card: string, more: Record<string, unknown> = {}) => ({ email: 'ann@initech.example', name: 'Ann', company: 'Initech', interval: 'month', card: { number: card, exp: '12/30', cvc: '123' }, ...more });
  /** Everything a checkout could leave behind, counted. */
  const footprint = async () => {
    const tables = ['accounts', 'contacts', 'account_domains', 'subscriptions', 'invoices', 'invoice_lines', 'payment_methods', 'payments', 'events', 'product_events', 'credit_notes'];
    const out: Record<string, number> = {};
    for (const t of tables) out[t] = (await h.database.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${t} WHERE workspace_id = $1`, [ws.id]))[0].n;
    return out;
  };

  it('creates a session with a signed URL; GET shows it open', async () => {
    const { s, page } = await session();
    assert.match(s.id, /^cs_/);
    assert.equal(s.status, 'open');
    assert.equal(s.mode, 'subscription');
    assert.deepEqual(s.intervals, ['month', 'year']);
    assert.equal(s.expires_at, '2026-03-02T00:00:00.000Z');
    const got = await api().get(`/v1/checkout/sessions/${s.id}`);
    assert.equal(got.body.status, 'open');
    assert.equal(got.body.subscription, null);
    const html = await h.tandem.app.inject({ method: 'GET', url: page });
    assert.equal(html.statusCode, 200);
    assert.match(html.body, /Subscribe to Pro/);
    assert.match(html.body, /\$60\.00/, '3 seats × $20.00 a month');
    assert.match(html.body, /\$600\.00/, '3 seats × $200.00 a year');
    assert.equal(html.headers['cache-control'], 'no-store');
  });

  it('refuses bad sessions and answers 404 to a wrong token', async () => {
    for (const [body, param] of [
      [{ plan: 'nope' }, 'plan'],
      [{ success_url: 'javascript:alert(1)' }, 'success_url'],
      [{ intervals: ['year'], interval: 'month' }, 'interval'],
      [{ customer_email: 'not-an-email' }, 'customer_email'],
    ] as const) {
      const r = await api().post('/v1/checkout/sessions', Object.assign({ plan: 'pro', success_url: 'https://a.example', cancel_url: 'https://a.example' }, body));
      assert.ok(r.status === 400 || r.status === 404, `${JSON.stringify(body)} → ${r.status}`);
      assert.equal(r.body.error.param, param);
    }
    const { s } = await session();
    assert.equal((await h.tandem.app.inject({ method: 'GET', url: `/checkout/${s.id}?token=wrong` })).statusCode, 404);
    assert.equal((await h.tandem.app.inject({ method: 'GET', url: `/checkout/${s.id}` })).statusCode, 404);
    const post = await h.api(null).post(`/checkout/${s.id}/complete?token=wrong`, buyer('4242424242424242'));
    assert.equal(post.status, 404);
  });

  it('a card declined when saved (4000 0000 0000 0002) or when charged (…0341) leaves nothing half-done', async () => {
    const { s, complete } = await session();
    const before = await footprint();
    const atSave = await h.api(null).post(complete, buyer('4000000000000002'));
    assert.equal(atSave.status, 402);
    assert.equal(atSave.body.error.code, 'card_declined');
    const atCharge = await h.api(null).post(complete, buyer('4000000000000341'));
    assert.equal(atCharge.status, 402);
    assert.equal(atCharge.body.error.code, 'card_declined');
    assert.equal(atCharge.body.error.message, 'Your card was declined.');
    assert.deepEqual(await footprint(), before, 'no account, contact, card, subscription, invoice, payment or event remains');
    const got = (await api().get(`/v1/checkout/sessions/${s.id}`)).body;
    assert.equal(got.status, 'open');
    assert.equal(got.failed_attempts, 2);
    assert.deepEqual(got.last_error, { code: 'card_declined', message: 'Your card was declined.' });
    const page = await h.tandem.app.inject({ method: 'GET', url: new URL(got.url).pathname + new URL(got.url).search });
    assert.match(page.body, /role="alert">Your card was declined\./);
    await h.tandem.runner.drain();
    assert.deepEqual(await footprint(), before, 'and no job creates anything later');
  });

  it('stops taking cards after 10 declines on one link (no card-testing oracle)', async () => {
    const { complete } = await session();
    for (let i = 0; i < 10; i++) assert.equal((await h.api(null).post(complete, buyer('4000000000000002'))).status, 402);
    const r = await h.api(null).post(complete, buyer('4242424242424242'));
    assert.equal(r.status, 429);
    assert.equal(r.body.error.code, 'rate_limited');
  });

  it('completes with a good card: account by corporate domain, contact, subscription, paid first invoice, checkout.completed', async () => {
    const { s, complete } = await session();
    const r = await h.api(null).post(complete, buyer('4242424242424242', { interval: 'year' }));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.redirect_url, `https://shop.example/thanks?cs=${s.id}`);
    const got = (await api().get(`/v1/checkout/sessions/${s.id}`)).body;
    assert.equal(got.status, 'complete');
    assert.equal(got.subscription.status, 'active');
    assert.equal(got.subscription.interval, 'year');
    assert.equal(got.subscription.quantity, 3);
    const inv = (await api().get(`/v1/invoices/${got.invoice}`)).body;
    assert.equal(inv.status, 'paid');
    assert.equal(inv.total, 60_000);
    const account = (await api().get(`/v1/accounts/${got.account}`)).body;
    assert.equal(account.name, 'Initech');
    assert.deepEqual(account.domains, ['initech.example']);
    const contact = (await api().get(`/v1/contacts/${got.contact}`)).body;
    assert.equal(contact.email, 'ann@initech.example');
    assert.equal(contact.account, got.account);
    const [ev] = await h.database.query<{ data: any }>(`SELECT data FROM events WHERE workspace_id = $1 AND type = 'checkout.completed'`, [ws.id]);
    assert.equal(ev.data.subscription, got.subscription.id);
    assert.equal(ev.data.account_created, true);
    const again = await h.api(null).post(complete, buyer('4242424242424242'));
    assert.equal(again.status, 409, 'a session completes once');
    await h.tandem.runner.drain();
    assert.equal((await h.database.query<{ n: number }>(`SELECT count(*)::int AS n FROM payments WHERE workspace_id = $1 AND invoice_id = $2`, [ws.id, got.invoice]))[0].n, 1, 'charged once');

    // A colleague from the same company lands on the same account; a free-mail buyer gets a new one.
    const second = await session();
    const bob = await h.api(null).post(second.complete, buyer('4242424242424242', { email: 'bob@initech.example', company: '' }));
    assert.equal(bob.status, 200, JSON.stringify(bob.body));
    assert.equal((await api().get(`/v1/checkout/sessions/${second.s.id}`)).body.account, got.account);
    const third = await session();
    const carl = await h.api(null).post(third.complete, buyer('4242424242424242', { email: 'carl@gmail.com', company: 'Carl Consulting' }));
    assert.equal(carl.status, 200, JSON.stringify(carl.body));
    const carlAccount = (await api().get(`/v1/accounts/${(await api().get(`/v1/checkout/sessions/${third.s.id}`)).body.account}`)).body;
    assert.equal(carlAccount.name, 'Carl Consulting');
    assert.deepEqual(carlAccount.domains, [], 'free mail identifies no company');
    const fourth = await session();
    const noCompany = await h.api(null).post(fourth.complete, buyer('4242424242424242', { email: 'dee@gmail.com', company: '' }));
    assert.equal(noCompany.status, 400);
    assert.equal(noCompany.body.error.param, 'company');
  });

  it('expires on the workspace clock', async () => {
    const { s, page, complete } = await session({ expires_in_minutes: 30 });
    await api().post('/v1/test_clock/advance', { by: 'PT31M' });
    assert.equal((await api().get(`/v1/checkout/sessions/${s.id}`)).body.status, 'expired');
    const r = await h.api(null).post(complete, buyer('4242424242424242'));
    assert.equal(r.status, 409);
    assert.equal(r.body.error.code, 'checkout_session_expired');
    assert.match((await h.tandem.app.inject({ method: 'GET', url: page })).body, /This checkout link has expired/);
  });

  it('contact-sales plans take a "Contact sales" form: a hand-raise with a Demo Requested event on the account', async () => {
    const { s, page, contact } = await session({ plan: 'business', quantity: 1 });
    assert.equal(s.mode, 'contact_sales');
    assert.match((await h.tandem.app.inject({ method: 'GET', url: page })).body, /Contact sales/);
    const r = await h.api(null).post(contact, { email: 'vp@hooli.example', name: 'Gavin', company: 'Hooli', message: '300 seats, SSO' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const got = (await api().get(`/v1/checkout/sessions/${s.id}`)).body;
    assert.equal(got.status, 'complete');
    assert.match(got.hand_raise, /^hr_/);
    const [pe] = await h.database.query<{ event: string; properties: any }>(`SELECT event, properties FROM product_events WHERE workspace_id = $1 AND account_id = $2`, [ws.id, got.account]);
    assert.equal(pe.event, 'Demo Requested');
    assert.equal(pe.properties.plan, 'business');
    assert.equal(pe.properties.message, '300 seats, SSO');
    const [ev] = await h.database.query<{ data: any }>(`SELECT data FROM events WHERE workspace_id = $1 AND type = 'hand_raise.created'`, [ws.id]);
    assert.equal(ev.data.account, got.account);
    assert.equal(ev.data.signal, 'Demo Requested');
    const list = (await api().get('/v1/hand_raises')).body;
    assert.equal(list.data[0].email, 'vp@hooli.example');
    assert.equal((await h.api(null).post(`${new URL(got.url).pathname}/complete${new URL(got.url).search}`, buyer('4242424242424242'))).status, 409);
  });

  it('upgrade policy: defaults, validated changes', async () => {
    const p = (await api().get('/v1/upgrade_policy')).body;
    assert.deepEqual(p.large_upgrade_arr_threshold, { amount: 500_000, currency: 'usd' });
    assert.deepEqual(p.net_terms_allowed_motions, ['sales_assisted', 'sales_led']);
    const bad = await api().post('/v1/upgrade_policy', { annual_commitment_discount_percent: '100' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.param, 'annual_commitment_discount_percent');
    const none = await api().post('/v1/upgrade_policy', { card_allowed_motions: [], net_terms_allowed_motions: ['sales_led'] });
    assert.equal(none.status, 400, 'every motion needs a way to pay');
    const ok = await api().post('/v1/upgrade_policy', { large_upgrade_arr_threshold: { amount: 1_000_000, currency: 'usd' } });
    assert.equal(ok.body.large_upgrade_arr_threshold.amount, 1_000_000);
    assert.equal((await api().get('/v1/upgrade_policy')).body.large_upgrade_arr_threshold.amount, 1_000_000);
  });
});

import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startHarness, type Harness, type TestWorkspace } from '../support/harness.ts';

/**
 * The hosted pages in a real browser (Debian's chromium driven by playwright-core) against the
 * server on a real port: a buyer checks out (declined card, then a good one), a customer
 * upgrades and switches to invoice billing in the portal, a buyer accepts a quote on its page.
 * Screenshots of every page go to test-artifacts/. Without chromium this FAILS, never skips.
 */
const CHROMIUM = process.env.TANDEM_CHROMIUM ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const ARTIFACTS = 'test-artifacts';

describe('hosted pages in a browser', () => {
  let h: Harness;
  let ws: TestWorkspace;
  let base: string;
  let browser: Browser;

  before(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`Browser tests need Chromium at ${CHROMIUM} (Debian: apt-get install -y chromium; or set TANDEM_CHROMIUM). They do not skip.`);
    }
    mkdirSync(ARTIFACTS, { recursive: true });
    h = await startHarness();
    ws = await h.workspace({ name: 'Acme Analytics', clockStart: '2026-03-01T00:00:00Z' });
    await h.tandem.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(h.tandem.app.server.address() as AddressInfo).port}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    const plans = [
      { key: 'pro', name: 'Pro', description: 'For growing teams', prices: [{ type: 'flat', unit_amount: 4_900 }, { type: 'per_seat', unit_amount: 1_200 }, { type: 'flat', interval: 'year', unit_amount: 49_000 }, { type: 'per_seat', interval: 'year', unit_amount: 12_000 }] },
      { key: 'business', name: 'Business', motion: 'sales_assisted', prices: [{ type: 'flat', unit_amount: 60_000 }] },
      { key: 'enterprise', name: 'Enterprise', motion: 'sales_led', visibility: 'quote_only', prices: [{ type: 'flat', interval: 'year', unit_amount: 2_400_000, nickname: 'Platform' }, { type: 'per_seat', interval: 'year', unit_amount: 30_000, nickname: 'Seat' }] },
    ];
    for (const p of plans) await ok(h.api(ws).post('/v1/plans', { currency: 'usd', ...p }));
  });
  after(async () => {
    await browser?.close();
    await h?.close();
  });

  const ok = async (p: Promise<{ status: number; body: any }>) => {
    const r = await p;
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body;
  };
  /** A hosted URL the API built for an in-process request, on the real server. */
  const real = (url: string) => {
    const u = new URL(url);
    return `${base}${u.pathname}${u.search}`;
  };
  const shot = (page: Page, name: string) => page.screenshot({ path: `${ARTIFACTS}/${name}.png`, fullPage: true });
  const count = async (table: string) => (await h.database.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE workspace_id = $1`, [ws.id]))[0].n;

  it('checkout: a declined card shows a clear message and creates nothing; a good card subscribes and returns to the shop', async () => {
    const s = await ok(h.api(ws).post('/v1/checkout/sessions', { plan: 'pro', quantity: 2, success_url: `${base}/healthz?checkout={CHECKOUT_SESSION_ID}`, cancel_url: `${base}/healthz` }));
    const page = await browser.newPage();
    await page.goto(real(s.url));
    await page.getByRole('heading', { name: 'Subscribe to Pro' }).waitFor();
    await shot(page, 'checkout');
    await page.fill('#email', 'dana@globex.example');
    await page.fill('#name', 'Dana Scully');
    await page.fill('#company', 'Globex');
    await page.fill('#card-number', '4000 0000 0000 0002');
    await page.fill('#card-exp', '12/30');
    await page.fill('#card-cvc', '123');
    const accountsBefore = await count('accounts');
    await page.click('#pay-button');
    await page.getByRole('alert').filter({ hasText: 'declined' }).waitFor();
    assert.match(await page.getByRole('alert').textContent() ?? '', /The card was declined|Your card was declined/);
    await shot(page, 'checkout-declined');
    assert.equal(await count('accounts'), accountsBefore, 'a declined card creates no account');
    assert.equal(await count('subscriptions'), 0);

    await page.check('input[name=interval][value=year]');
    assert.match((await page.textContent('#pay-button')) ?? '', /\$730\.00/, 'annual: $490 + 2 seats × $120, shown before paying');
    await page.fill('#card-number', '4242 4242 4242 4242');
    await Promise.all([page.waitForURL(/\/healthz\?checkout=cs_/), page.click('#pay-button')]);
    const done = await ok(h.api(ws).get(`/v1/checkout/sessions/${s.id}`));
    assert.equal(done.status, 'complete');
    assert.equal(done.subscription.interval, 'year');
    assert.equal((await ok(h.api(ws).get(`/v1/invoices/${done.invoice}`))).status, 'paid');
    await page.goto(real(s.url));
    await page.getByRole('heading', { name: 'You are subscribed' }).waitFor();
    await shot(page, 'checkout-complete');
    await page.close();
  });

  it('portal: a customer upgrades and switches to invoice billing on Net terms', async () => {
    const acct = await ok(h.api(ws).post('/v1/accounts', { name: 'Initech' }));
    const pm = await ok(h.api(ws).post('/v1/payment_methods', { account: acct.id, type: 'card', card: { number: '4242424242424242', exp_month: 12, exp_year: 2031, cvc: '123' } }));
    const sub = await ok(h.api(ws).post('/v1/subscriptions', { account: acct.id, plan: 'pro', payment_method: pm.id }));
    await h.tandem.runner.drain();
    const portal = await ok(h.api(ws).post('/v1/portal/sessions', { account: acct.id, return_url: `${base}/healthz` }));
    const page = await browser.newPage();
    await page.goto(real(portal.url));
    await page.getByRole('heading', { name: 'Billing for Initech' }).waitFor();
    await shot(page, 'portal');
    assert.equal(await page.locator('#switch-invoice').count(), 0, 'self-serve Pro pays by card only');

    await page.locator('[data-plan=business] button[type=submit]').click();
    await page.locator('#notice.ok').filter({ hasText: 'You are now on Business' }).waitFor();
    await page.selectOption('#net', '30');
    await page.locator('#switch-invoice button[type=submit]').click();
    await page.locator('#notice.ok').filter({ hasText: 'You now pay by invoice, Net 30' }).waitFor();
    assert.match((await page.textContent('#payment-method')) ?? '', /Invoice, Net 30/);
    await shot(page, 'portal-invoice-billing');

    const after = await ok(h.api(ws).get(`/v1/subscriptions/${sub.id}`));
    assert.equal(after.collection_method, 'send_invoice');
    assert.equal(after.days_until_due, 30);
    assert.equal((await ok(h.api(ws).get(`/v1/plans/${after.plan}`))).key, 'business');
    const pdf = await page.request.get(`${base}${new URL(page.url()).pathname}/invoices/${(await ok(h.api(ws).get(`/v1/invoices?subscription=${sub.id}`))).data[0].id}.pdf`);
    assert.equal(pdf.headers()['content-type'], 'application/pdf');
    await page.close();
  });

  it('quote page: a buyer accepts by typing name and title', async () => {
    const acct = await ok(h.api(ws).post('/v1/accounts', { name: 'Hooli' }));
    let q = await ok(
      h.api(ws).post('/v1/quotes', { account: acct.id, plan: 'enterprise', interval: 'year', quantity: 40, term_months: 24, payment_terms: { method: 'invoice', net_days: 45 }, discount: { type: 'percent', percent: '12' }, free_months: 1 }),
    );
    q = await ok(h.api(ws).post(`/v1/quotes/${q.id}/submit`, {}));
    q = await ok(h.api(ws).post(`/v1/quotes/${q.id}/send`, {}));
    const page = await browser.newPage();
    await page.goto(real(q.url));
    await page.getByRole('heading', { name: `Quote ${q.number}` }).waitFor();
    assert.match((await page.textContent('#first-invoice-due')) ?? '', /\$29,040\.00/, '2,400,000 × 0.88 + 40 × 30,000 × 0.88 = 3,168,000, less a free month of 264,000');
    await shot(page, 'quote');
    await page.fill('#sig-name', 'Gavin Belson');
    await page.fill('#sig-title', 'CEO');
    await page.click('#accept button[type=submit]');
    await page.locator('#accepted').filter({ hasText: 'Accepted by Gavin Belson' }).waitFor();
    await shot(page, 'quote-accepted');
    const after = await ok(h.api(ws).get(`/v1/quotes/${q.id}`));
    assert.equal(after.status, 'converted');
    assert.equal(after.acceptance.ip, '127.0.0.1');
    assert.equal((await ok(h.api(ws).get(`/v1/subscriptions/${after.conversion.subscription}`))).collection_method, 'send_invoice');
    await page.close();
  });
});

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { seedDemo, type SeedResult } from '../../src/cli/demo.ts';
import { startHarness, type ApiClient, type Harness } from '../support/harness.ts';

/**
 * `tandem demo` / `npm start`'s demo company, built small (8 accounts, 2 months) and then
 * inspected only through the API: the catalog PRODUCT.md ships, accounts, invoices per month whose
 * totals are their lines, usage charges, a dunning case, a sent quote, PQL scores with
 * explanations and history — and a second run that changes nothing.
 */
const ACCOUNTS = 8;
const MONTHS = 2;

async function all(api: ApiClient, p: string): Promise<any[]> {
  const out: any[] = [];
  let after: string | undefined;
  for (;;) {
    const r = await api.get(`${p}${p.includes('?') ? '&' : '?'}limit=100${after ? `&starting_after=${after}` : ''}`);
    assert.equal(r.status, 200, `${p}: ${JSON.stringify(r.body)}`);
    out.push(...r.body.data);
    if (!r.body.has_more) return out;
    after = r.body.data[r.body.data.length - 1].id;
  }
}

async function counts(api: ApiClient) {
  const accounts = await all(api, '/v1/accounts');
  let cards = 0;
  let events = 0;
  for (const a of accounts) {
    cards += (await all(api, `/v1/payment_methods?account=${a.id}`)).length;
    events += (await all(api, `/v1/accounts/${a.id}/timeline`)).length;
  }
  return {
    plans: (await all(api, '/v1/plans')).length,
    features: (await all(api, '/v1/features')).length,
    metrics: (await all(api, '/v1/billable_metrics')).length,
    accounts: accounts.length,
    contacts: (await all(api, '/v1/contacts')).length,
    subscriptions: (await all(api, '/v1/subscriptions')).length,
    invoices: (await all(api, '/v1/invoices')).length,
    quotes: (await all(api, '/v1/quotes')).length,
    cards,
    events,
  };
}

describe('the demo company', () => {
  let h: Harness;
  let dir: string;
  let first: SeedResult;
  let api: ApiClient;
  const seed = () =>
    seedDemo(h.tandem, h.database, { accounts: ACCOUNTS, months: MONTHS, now: h.clock.now(), credsFile: path.join(dir, 'demo-credentials.json'), match: 'same_size', rebuildComplete: true });

  before(async () => {
    h = await startHarness();
    dir = mkdtempSync(path.join(tmpdir(), 'tandem-demo-'));
    first = await seed();
    api = h.api(first.workspace.creds.secret_key);
  });
  after(async () => {
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is a sandbox whose clock ends today, with its keys saved', async () => {
    assert.ok(first.workspace.created);
    const clock = (await api.get('/v1/test_clock')).body;
    assert.equal(clock.frozen_time, '2026-01-15T00:00:00.000Z');
    const saved = JSON.parse(readFileSync(path.join(dir, 'demo-credentials.json'), 'utf8'));
    assert.equal(saved.workspace_id, first.workspace.creds.workspace_id);
    assert.equal((await h.api(saved.secret_key).get('/v1/workspace')).status, 200);
  });

  it('ships the five plans with their motions and visibilities, and a ladder without dead zones', async () => {
    const plans = new Map((await all(api, '/v1/plans')).map((p) => [p.key, p]));
    const expected = {
      free: ['self_serve', 'public'],
      starter: ['self_serve', 'public'],
      pro: ['self_serve', 'public'],
      business: ['sales_assisted', 'contact_sales'],
      enterprise: ['sales_led', 'quote_only'],
    };
    for (const [key, [motion, visibility]] of Object.entries(expected)) {
      assert.equal(plans.get(key)?.motion, motion, key);
      assert.equal(plans.get(key)?.visibility, visibility, key);
    }
    for (const key of ['starter', 'pro', 'business']) {
      const intervals = new Set(plans.get(key).prices.map((p: any) => p.interval));
      assert.deepEqual([...intervals].sort(), ['month', 'year'], `${key} is sold monthly and annually`);
    }
    const ladder = (await api.get('/v1/pricing_ladder')).body;
    assert.equal(ladder.has_dead_zones, false, JSON.stringify(ladder.dead_zones));
    const paid = ladder.plans.filter((p: any) => p.typical_monthly_amount?.amount > 0);
    assert.deepEqual(
      paid.map((p: any) => p.key),
      ['starter', 'pro', 'business', 'enterprise'],
    );
    const monthly = Object.fromEntries(paid.map((p: any) => [p.key, p.typical_monthly_amount.amount]));
    assert.ok(monthly.starter >= 5_000 && monthly.pro <= 50_000, 'self-serve $50–500/month');
    assert.ok(monthly.business >= 50_000 && monthly.business <= 500_000, 'sales-assisted $500–5K/month');
    assert.ok(monthly.enterprise >= 500_000, 'enterprise $5K+/month');
  });

  it('has the accounts with firmographics, contacts and a mix of segments', async () => {
    const accounts = await all(api, '/v1/accounts');
    assert.equal(accounts.length, ACCOUNTS);
    assert.ok(accounts.every((a) => a.name && a.employees !== null && a.industry));
    assert.ok(accounts.some((a) => a.employees > 500), 'an enterprise evaluator');
    assert.ok(accounts.some((a) => a.employees < 15), 'a small business');
    const contacts = await all(api, '/v1/contacts');
    assert.ok(contacts.length > ACCOUNTS);
    assert.ok(contacts.some((c) => /@(gmail|yahoo|outlook|hotmail|icloud)\.com$/.test(c.email ?? '')), 'free-mail users');
  });

  it('billed several months: invoices whose totals are their lines, usage charges, Net 30 and dunning', async () => {
    const invoices = await all(api, '/v1/invoices');
    const months = new Set(invoices.map((i) => i.period_start?.slice(0, 7)).filter(Boolean));
    assert.ok(months.size >= MONTHS, `invoices for ${[...months].join(', ')}`);
    let usage = 0;
    for (const inv of invoices) {
      const full = (await api.get(`/v1/invoices/${inv.id}`)).body;
      const sum = full.lines.reduce((s: number, l: any) => s + l.amount, 0);
      assert.equal(full.subtotal, sum, `${inv.number}: subtotal is the sum of its lines`);
      assert.equal(full.total, full.subtotal);
      usage += full.lines.filter((l: any) => l.kind === 'usage' && l.amount > 0).length;
    }
    assert.ok(usage > 0, 'some invoice charges API-call overage');
    assert.ok(invoices.some((i) => i.collection_method === 'send_invoice' && i.status === 'paid'), 'a Net 30 invoice paid by transfer');
    const subs = await all(api, '/v1/subscriptions');
    assert.ok(subs.some((s) => s.status === 'past_due'), 'the declining card ends in past_due');
    assert.ok(invoices.some((i) => i.status === 'open' && i.attempt_count >= 2), 'a renewal retried by dunning');
    assert.ok(subs.some((s) => s.interval === 'year') || ACCOUNTS < 9, 'an annual subscription');
  });

  it('has a sent Enterprise quote for the evaluator', async () => {
    const quotes = await all(api, '/v1/quotes');
    assert.equal(quotes.length, 1);
    assert.equal(quotes[0].status, 'sent');
    const plan = (await api.get(`/v1/plans/${quotes[0].plan}`)).body;
    assert.equal(plan.key, 'enterprise');
  });

  it('scored the accounts, with explanations and history', async () => {
    const accounts = await all(api, '/v1/accounts');
    const scores = [];
    for (const a of accounts) scores.push((await api.get(`/v1/accounts/${a.id}/score`)).body);
    const best = scores.sort((x, y) => y.score - x.score)[0];
    assert.ok(best.score > 50, `top score ${best.score}`);
    assert.ok(best.explanation.summary.length > 0 && best.explanation.top_contributors.length > 0);
    const history = await all(api, `/v1/accounts/${best.account}/score/history`);
    assert.ok(history.length >= 3, `${history.length} snapshots`);
  });

  it('a second run finds the same workspace and changes nothing', async () => {
    const before = await counts(api);
    const again = await seed();
    assert.equal(again.workspace.created, false);
    assert.equal(again.workspace.creds.workspace_id, first.workspace.creds.workspace_id);
    assert.deepEqual(await counts(api), before);
    assert.deepEqual(again.summary, first.summary);
  });
});

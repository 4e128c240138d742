import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PDFParse } from 'pdf-parse';
import { expectTotals, scenario, type Scenario } from './dsl.ts';

describe('usage in arrears, plan versions, scheduled starts, documents', () => {
  let s: Scenario;
  before(async () => {
    s = await scenario('2026-04-01T00:00:00Z');
    await s.metric('api_calls', 'API Call');
    await s.metric('gb_stored', 'Storage Measured', 'max', 'gb');
    await s.metric('seats_used', 'Seat Active', 'unique_count', 'user');
  });
  after(() => s.close());

  it('graduated tiers: first 1,000 free, then 0.5¢ up to 10,000, then 0.2¢', async () => {
    await s.plan({
      key: 'api',
      prices: [
        { type: 'flat', unit_amount: 2000 },
        { type: 'usage', billable_metric: 'api_calls', charge_model: 'graduated', tiers: [{ up_to: 1000, unit_amount: 0 }, { up_to: 10000, unit_amount_decimal: '0.5' }, { up_to: null, unit_amount_decimal: '0.2' }] },
      ],
    });
    const c = await s.customer('Caller');
    const sub = await s.subscribe(c, 'api');
    await s.track(c, 'API Call', 12345);
    await s.track(c, 'Other Event', 50);
    // 1,000 × 0 + 9,000 × 0.5¢ = 4,500¢ + 2,345 × 0.2¢ = 469¢ → 4,969¢ usage
    const preview = await s.ok(s.api.get(`/v1/invoices/upcoming?subscription=${sub.id}`));
    await s.advance(sub.current_period_end);
    const inv = await s.invoices(sub.id);
    expectTotals(inv, [2000, 2000 + 4969]);
    const usage = inv[1].lines.find((l: any) => l.kind === 'usage');
    assert.equal(usage.quantity, '12345');
    assert.equal(usage.period.start, sub.current_period_start, 'usage billed for the period that ended');
    assert.equal(preview.total, inv[1].total, 'the upcoming invoice predicted the renewal exactly');
  });

  it('volume tiers price the whole quantity at one tier; package rounds up; minimum tops up', async () => {
    await s.plan({
      key: 'vol',
      prices: [
        { type: 'usage', billable_metric: 'seats_used', charge_model: 'volume', tiers: [{ up_to: 10, unit_amount: 1000 }, { up_to: null, unit_amount: 800 }] },
        { type: 'usage', billable_metric: 'gb_stored', charge_model: 'package', package_size: 100, package_amount: 500 },
        { type: 'usage', billable_metric: 'api_calls', charge_model: 'per_unit', unit_amount_decimal: '0.1', minimum_amount: 1000 },
      ],
    });
    const c = await s.customer('Volume');
    const sub = await s.subscribe(c, 'vol');
    assert.equal((await s.invoices(sub.id)).length, 0, 'nothing in advance for a usage-only plan');
    for (let u = 0; u < 12; u++) await s.track(c, 'Seat Active', 1, { user: `user-${u}` });
    await s.track(c, 'Seat Active', 3, { user: 'user-0' }); // repeats count once
    await s.track(c, 'Storage Measured', 1, { gb: 120 });
    await s.track(c, 'Storage Measured', 1, { gb: 250.5 });
    await s.track(c, 'API Call', 30);
    await s.advance(sub.current_period_end);
    const [inv] = await s.invoices(sub.id);
    const byMetric = Object.fromEntries(inv.lines.map((l: any) => [l.quantity, l.amount]));
    // 12 seats → volume tier 2 for all: 12 × 800 = 9,600
    assert.equal(byMetric['12'], 9600);
    // max 250.5 GB → 3 packages of 100 → 1,500
    assert.equal(byMetric['250.5'], 1500);
    // 30 calls × 0.1¢ = 3¢ → minimum 1,000¢
    assert.equal(byMetric['30'], 1000);
    expectTotals([inv], [9600 + 1500 + 1000]);
  });

  it('a new plan version reprices new subscribers only', async () => {
    const plan = await s.plan({ key: 'versioned', prices: [{ type: 'flat', unit_amount: 9900 }] });
    const early = await s.customer('Early');
    const a = await s.subscribe(early, 'versioned');
    const v2 = await s.ok(s.api.post(`/v1/plans/${plan.id}`, { prices: [{ type: 'flat', unit_amount: 12900 }] }));
    assert.equal(v2.current_version, 2);
    const late = await s.customer('Late');
    const b = await s.subscribe(late, 'versioned');
    await s.advance(a.current_period_end);
    await s.advance(b.current_period_end);
    expectTotals(await s.invoices(a.id), [9900, 9900]);
    expectTotals((await s.invoices(b.id)).slice(0, 1), [12900]);
    // Explicit migration to the new version at renewal.
    await s.change(a.id, { plan_version: v2.plan_version, effective: 'period_end' });
    const sub = await s.subscription(a.id);
    await s.advance(sub.current_period_end);
    assert.equal((await s.invoices(a.id)).at(-1).total, 12900);
  });

  it('a subscription scheduled to start later bills nothing before its start date', async () => {
    await s.plan({ key: 'later', prices: [{ type: 'flat', unit_amount: 5000 }] });
    const c = await s.customer('Future');
    const now = new Date(await s.now());
    const startAt = new Date(now.getTime() + 10 * 86_400_000).toISOString();
    const sub = await s.subscribe(c, 'later', { start_date: startAt });
    assert.equal(sub.status, 'scheduled');
    assert.equal(sub.current_period_start, startAt);
    await s.advance('P9D');
    assert.equal((await s.invoices(sub.id)).length, 0);
    await s.advance('P1D');
    assert.equal((await s.subscription(sub.id)).status, 'active');
    const inv = await s.invoices(sub.id);
    expectTotals(inv, [5000]);
    assert.equal(inv[0].period_start, startAt);
    const past = await s.api.post('/v1/subscriptions', { account: c.id, plan: 'later', start_date: '2020-01-01T00:00:00Z' });
    assert.equal(past.status, 400);
    assert.equal(past.body.error.param, 'start_date');
  });

  it('renders a real PDF and HTML showing the total', async () => {
    await s.plan({ key: 'doc', prices: [{ type: 'flat', unit_amount: 123456 }] });
    const c = await s.customer('Documented');
    const sub = await s.subscribe(c, 'doc');
    const [inv] = await s.invoices(sub.id);
    const pdf = await s.h.tandem.app.inject({ method: 'GET', url: `/v1/invoices/${inv.id}/pdf`, headers: { authorization: `Bearer ${s.ws.secretKey}` } });
    assert.equal(pdf.statusCode, 200);
    assert.equal(pdf.headers['content-type'], 'application/pdf');
    assert.equal(pdf.rawPayload.subarray(0, 5).toString(), '%PDF-');
    const parser = new PDFParse({ data: new Uint8Array(pdf.rawPayload) });
    const text = (await parser.getText()).text;
    await parser.destroy();
    assert.match(text, new RegExp(`Invoice ${inv.number}`));
    assert.match(text, /\$1,234\.56/);
    assert.match(text, /Documented/);
    const html = await s.h.tandem.app.inject({ method: 'GET', url: `/v1/invoices/${inv.id}/html`, headers: { authorization: `Bearer ${s.ws.secretKey}` } });
    assert.match(html.body, /\$1,234\.56/);
  });
});

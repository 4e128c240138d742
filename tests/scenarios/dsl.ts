import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startHarness, type ApiClient, type Harness, type TestWorkspace } from '../support/harness.ts';

/**
 * A small scenario language for billing stories driven by the test clock:
 *
 *   const s = await scenario('2026-01-31T00:00:00Z');
 *   await s.plan({ key: 'pro', prices: [{ type: 'flat', unit_amount: 19900 }] });
 *   const acme = await s.customer('Acme', { card: '4242424242424242' });
 *   const sub = await s.subscribe(acme, 'pro');
 *   await s.advance('P1M');
 *   s.expectInvoices(await s.invoices(sub.id), [19900, 19900]);
 */
export interface Customer {
  id: string;
  externalId: string;
  paymentMethod: string | null;
}

export class Scenario {
  constructor(
    readonly h: Harness,
    readonly ws: TestWorkspace,
  ) {}

  get api(): ApiClient {
    return this.h.api(this.ws);
  }

  async ok<T = any>(p: Promise<{ status: number; body: T }>): Promise<T> {
    const r = await p;
    assert.ok(r.status === 200, `expected 200, got ${r.status}: ${JSON.stringify(r.body)}`);
    return r.body;
  }

  async now(): Promise<string> {
    return (await this.ok(this.api.get('/v1/test_clock'))).frozen_time;
  }

  async metric(key: string, eventName: string, aggregation = 'count', property?: string) {
    return this.ok(this.api.post('/v1/billable_metrics', { key, name: key, event_name: eventName, aggregation, ...(property ? { property } : {}) }));
  }

  async plan(body: Record<string, unknown>) {
    return this.ok(this.api.post('/v1/plans', { currency: 'usd', name: String(body.key), ...body }));
  }

  /**
   * The entitlement tests' catalog: an `api_calls` metric counting 'API Call' events, a limit
   * feature `api_calls` (10 a period, metered by it) and a boolean feature `sso`, both on plan
   * `pro` ($50 a month).
   */
  async entitlementsCatalog() {
    await this.metric('api_calls', 'API Call');
    await this.ok(this.api.post('/v1/features', { key: 'api_calls', name: 'API calls', type: 'limit' }));
    await this.ok(this.api.post('/v1/features', { key: 'sso', name: 'SSO', type: 'boolean' }));
    await this.plan({
      key: 'pro',
      prices: [{ type: 'flat', unit_amount: 5000 }],
      entitlements: [
        { feature_key: 'api_calls', limit: 10, billable_metric: 'api_calls' },
        { feature_key: 'sso', enabled: true },
      ],
    });
  }

  async customer(name: string, opts: { card?: string | null } = {}): Promise<Customer> {
    const externalId = `${name.toLowerCase().replace(/\W+/g, '-')}-${randomUUID().slice(0, 6)}`;
    const acct = await this.ok(this.api.post('/v1/accounts', { name, external_id: externalId }));
    let paymentMethod: string | null = null;
    if (opts.card !== null) {
      const pm = await this.ok(this.api.post('/v1/payment_methods', { account: acct.id, type: 'card', card: { number: opts.card ?? '4242424242424242', exp_month: 12, exp_year: 2040, cvc: '123' } }));
      paymentMethod = pm.id;
    }
    return { id: acct.id, externalId, paymentMethod };
  }

  async subscribe(c: Customer, plan: string, opts: Record<string, unknown> = {}) {
    return this.settled(this.ok(this.api.post('/v1/subscriptions', { account: c.id, plan, ...(c.paymentMethod ? { payment_method: c.paymentMethod } : {}), ...opts })));
  }

  async change(subId: string, body: Record<string, unknown>) {
    return this.settled(this.ok(this.api.post(`/v1/subscriptions/${subId}/change`, body)));
  }

  async cancel(subId: string, body: Record<string, unknown> = {}) {
    return this.settled(this.ok(this.api.post(`/v1/subscriptions/${subId}/cancel`, body)));
  }

  /**
   * Lets the worker run what a request queued for "now" (a card charge after an upgrade), as the
   * server's own worker does right after the response: due jobs run, the clock does not move.
   */
  async settle() {
    await this.h.tandem.runner.drain();
  }

  private async settled<T>(p: Promise<T>): Promise<T> {
    const v = await p;
    await this.settle();
    return v;
  }

  async subscription(subId: string) {
    return this.ok(this.api.get(`/v1/subscriptions/${subId}`));
  }

  /** Moves the workspace's test clock; everything due on the way runs first. */
  async advance(by: string) {
    return this.ok(this.api.post('/v1/test_clock/advance', by.startsWith('P') ? { by } : { to: by }));
  }

  /** Sends `count` track events for the customer at the current test-clock time. */
  async track(c: Customer, event: string, count = 1, properties: Record<string, unknown> = {}) {
    const at = await this.now();
    for (let i = 0; i < count; i += 500) {
      const batch = Array.from({ length: Math.min(500, count - i) }, () => ({
        type: 'track',
        event,
        userId: `u-${c.externalId}`,
        messageId: randomUUID(),
        timestamp: at,
        properties,
        context: { groupId: c.externalId },
      }));
      const r = await this.api.post('/v1/batch', { batch });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    }
  }

  /** Every invoice of a subscription, oldest first, with lines. */
  async invoices(subId: string): Promise<any[]> {
    const list = await this.ok(this.api.get(`/v1/invoices?subscription=${subId}&limit=100`));
    const full = [];
    for (const inv of [...list.data].reverse()) full.push(await this.ok(this.api.get(`/v1/invoices/${inv.id}`)));
    return full;
  }

  /** Domain events of a type, oldest first (the outbox). */
  async events(type: string): Promise<Array<{ type: string; data: any; occurred_at: Date }>> {
    return this.h.database.query(`SELECT type, data, occurred_at FROM events WHERE workspace_id = $1 AND type = $2 ORDER BY id`, [this.ws.id, type]);
  }

  close() {
    return this.h.close();
  }
}

export async function scenario(start: string): Promise<Scenario> {
  const h = await startHarness();
  const ws = await h.workspace({ name: 'Scenario Co', clockStart: start });
  return new Scenario(h, ws);
}

/** Checks each invoice total and that every total is the sum of its lines. */
export function expectTotals(invoices: any[], totals: number[]) {
  assert.deepEqual(
    invoices.map((i) => i.total),
    totals,
  );
  for (const inv of invoices) assert.equal(inv.total, inv.lines.reduce((s: number, l: any) => s + l.amount, 0), `${inv.id} total ≠ sum of lines`);
}

import type { ApiClient } from './harness.ts';

/**
 * Objects of every kind, created through the public API, for the tenant-isolation test: each
 * module adds a seeder so that "another workspace's id answers 404" covers its endpoints.
 */
export type Seeder = (api: ApiClient, ws: { id: string; writeKey: string }) => Promise<void>;

export const seeders: Seeder[] = [
  async (api) => {
    const r = await api.post('/v1/api_keys', { name: 'seeded', scopes: ['read'] });
    if (r.status !== 200) throw new Error(`seed api key: ${r.status} ${JSON.stringify(r.body)}`);
  },
  async (api) => {
    const card = { number: '4242424242424242', exp_month: 12, exp_year: 2035, cvc: '123' };
    const r = await api.post('/v1/payment_methods', { account: 'acct_seeded', type: 'card', card, default: true });
    if (r.status !== 200) throw new Error(`seed payment method: ${r.status} ${JSON.stringify(r.body)}`);
  },
];

// checkout, portal and quotes: a plan, an account, a checkout session, a portal session, a sent quote
seeders.push(async (api) => {
  const must = async (p: Promise<{ status: number; body: any }>, what: string) => {
    const r = await p;
    if (r.status !== 200) throw new Error(`seed ${what}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  await must(api.post('/v1/plans', { key: 'seed-quoted', name: 'Seed Quoted', currency: 'usd', prices: [{ type: 'per_seat', interval: 'year', unit_amount: 12000 }] }), 'plan');
  const acct = await must(api.post('/v1/accounts', { name: 'Seed Buyer' }), 'account');
  await must(api.post('/v1/checkout/sessions', { plan: 'seed-quoted', success_url: 'https://example.com/ok', cancel_url: 'https://example.com/no' }), 'checkout session');
  await must(api.post('/v1/portal/sessions', { account: acct.id, return_url: 'https://example.com/app' }), 'portal session');
  const q = await must(api.post('/v1/quotes', { account: acct.id, plan: 'seed-quoted', interval: 'year', quantity: 5 }), 'quote');
  await must(api.post(`/v1/quotes/${q.id}/submit`, {}), 'quote submit');
  await must(api.post(`/v1/quotes/${q.id}/send`, {}), 'quote send');
});

// scoring: a draft model version, an account with a score and a snapshot, a backtest
seeders.push(async (api) => {
  const must = async (p: Promise<{ status: number; body: any }>, what: string) => {
    const r = await p;
    if (r.status !== 200) throw new Error(`seed ${what}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const models = await must(api.get('/v1/scoring/models'), 'scoring models');
  await must(api.post('/v1/scoring/models', { name: 'Seed draft', config: models.data[0].config }), 'scoring model');
  const acct = await must(api.post('/v1/accounts', { name: 'Seed Scored', employees: 120, industry: 'Software' }), 'account');
  await must(api.get(`/v1/accounts/${acct.id}/score`), 'score');
  await must(api.post('/v1/scoring/backtests', { from: '2025-12-01T00:00:00Z', to: '2025-12-01T00:00:00Z', horizon_days: 7 }), 'backtest');
});

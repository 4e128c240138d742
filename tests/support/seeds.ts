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

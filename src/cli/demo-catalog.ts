import type { DemoApi } from './demo-client.ts';

/**
 * The catalog that ships with the demo company: PRODUCT.md §1's plans per segment.
 *
 *   Free        self_serve      public         $0, clear limits (1,000 API calls/month, 3 projects, 3 seats)
 *   Starter     self_serve      public         $79/month or $790/year, 10,000 API calls included
 *   Pro         self_serve      public         $49/seat/month or $490/seat/year, 100,000 API calls included
 *   Business    sales_assisted  contact_sales  $1,200/month or $12,000/year, SSO, audit log
 *   Enterprise  sales_led       quote_only     $36,000/year platform + $1,200/seat/year, SCIM; typically $5,500/month
 *
 * The ladder is built without dead zones at the default factor (5): Starter $79 → Pro $294
 * (6 typical seats × $49, 3.7x) → Business $1,200 (4.1x) → Enterprise $5,500 (4.6x). Overage on
 * API calls is graduated: Starter pays 0.2¢ per call above 10,000 in a month, so 14,500 calls
 * add 4,500 × 0.2¢ = $9.00 to the next invoice.
 */

export const METRICS = [
  { key: 'api_calls', name: 'API calls', description: 'Requests to the customer-facing API, reported by the SDK in batches', event_name: 'API Call', aggregation: 'sum', property: 'quantity' },
  { key: 'projects', name: 'Projects created', event_name: 'Project Created', aggregation: 'count' },
] as const;

export const FEATURES = [
  { key: 'api_calls', name: 'API calls', type: 'limit' },
  { key: 'projects', name: 'Projects', type: 'limit' },
  { key: 'seats', name: 'Seats', description: 'Members the workspace may invite', type: 'limit' },
  { key: 'sso', name: 'Single sign-on (SAML)', type: 'boolean' },
  { key: 'audit_log', name: 'Audit log', type: 'boolean' },
  { key: 'scim', name: 'SCIM provisioning', type: 'boolean' },
  { key: 'priority_support', name: 'Priority support', type: 'boolean' },
] as const;

export type PlanKey = 'free' | 'starter' | 'pro' | 'business' | 'enterprise';

const apiCalls = (limit: number | null) => ({ feature_key: 'api_calls', limit, period: 'month', billable_metric: 'api_calls' });
const projects = (limit: number | null) => ({ feature_key: 'projects', limit, period: 'none', billable_metric: 'projects' });
const seats = (limit: number | null) => ({ feature_key: 'seats', limit, period: 'none' });
const on = (key: string) => ({ feature_key: key, enabled: true });
const off = (key: string) => ({ feature_key: key, enabled: false });

/** Graduated API-call overage: `included` free per period, then `rate` minor units per call. */
const overage = (interval: 'month' | 'year', included: number, rate: string) => ({
  type: 'usage',
  interval,
  billable_metric: 'api_calls',
  charge_model: 'graduated',
  nickname: 'API calls above the allowance',
  tiers: [
    { up_to: included, unit_amount: 0 },
    { up_to: null, unit_amount_decimal: rate },
  ],
});

export const PLANS: Array<{ key: PlanKey; body: Record<string, unknown> }> = [
  {
    key: 'free',
    body: {
      name: 'Free',
      description: 'Enough to show the product: one small team, clear limits.',
      motion: 'self_serve',
      visibility: 'public',
      // A subscription needs a price: Free is a $0 monthly fee (Stripe's convention), so free
      // accounts hold a subscription and entitlement checks answer with Free's limits.
      prices: [{ type: 'flat', interval: 'month', unit_amount: 0, nickname: 'Free' }],
      entitlements: [apiCalls(1_000), projects(3), seats(3), off('sso'), off('audit_log'), off('scim'), off('priority_support')],
    },
  },
  {
    key: 'starter',
    body: {
      name: 'Starter',
      description: 'For small teams shipping their first integration.',
      motion: 'self_serve',
      visibility: 'public',
      prices: [
        { type: 'flat', interval: 'month', unit_amount: 7_900, nickname: 'Starter monthly' },
        overage('month', 10_000, '0.2'),
        { type: 'flat', interval: 'year', unit_amount: 79_000, nickname: 'Starter annual (2 months free)' },
        overage('year', 120_000, '0.2'),
      ],
      entitlements: [apiCalls(10_000), projects(20), seats(5), off('sso'), off('audit_log'), off('scim'), off('priority_support')],
    },
  },
  {
    key: 'pro',
    body: {
      name: 'Pro',
      description: 'For growing teams: per seat, generous API allowance, priority support.',
      motion: 'self_serve',
      visibility: 'public',
      metadata: { typical_seats: '6' },
      prices: [
        { type: 'per_seat', interval: 'month', unit_amount: 4_900, nickname: 'Pro monthly, per seat' },
        overage('month', 100_000, '0.1'),
        { type: 'per_seat', interval: 'year', unit_amount: 49_000, nickname: 'Pro annual, per seat' },
        overage('year', 1_200_000, '0.1'),
      ],
      entitlements: [apiCalls(100_000), projects(null), seats(null), off('sso'), off('audit_log'), off('scim'), on('priority_support')],
    },
  },
  {
    key: 'business',
    body: {
      name: 'Business',
      description: 'SSO, audit log and an account manager. Talk to sales.',
      motion: 'sales_assisted',
      visibility: 'contact_sales',
      prices: [
        { type: 'flat', interval: 'month', unit_amount: 120_000, nickname: 'Business monthly' },
        overage('month', 1_000_000, '0.05'),
        { type: 'flat', interval: 'year', unit_amount: 1_200_000, nickname: 'Business annual' },
        overage('year', 12_000_000, '0.05'),
      ],
      entitlements: [apiCalls(1_000_000), projects(null), seats(null), on('sso'), on('audit_log'), off('scim'), on('priority_support')],
    },
  },
  {
    key: 'enterprise',
    body: {
      name: 'Enterprise',
      description: 'Custom terms, SCIM, security review, invoicing. Quotes only.',
      motion: 'sales_led',
      visibility: 'quote_only',
      metadata: { typical_monthly_amount: '550000' },
      prices: [
        { type: 'flat', interval: 'year', unit_amount: 3_600_000, nickname: 'Enterprise platform fee' },
        { type: 'per_seat', interval: 'year', unit_amount: 120_000, nickname: 'Enterprise seat' },
      ],
      entitlements: [apiCalls(null), projects(null), seats(null), on('sso'), on('audit_log'), on('scim'), on('priority_support')],
    },
  },
];

export interface CatalogIds {
  plans: Record<PlanKey, { id: string; prices: Array<{ id: string; type: string; interval: string }> }>;
}

/** Creates what is missing (by key) and returns the plans' ids; an existing catalog is left as it is. */
export async function ensureCatalog(api: DemoApi): Promise<CatalogIds> {
  const metrics = new Set((await api.list<{ id: string; key: string }>('/v1/billable_metrics')).map((m) => m.key));
  for (const m of METRICS) if (!metrics.has(m.key)) await api.post('/v1/billable_metrics', m, { idempotencyKey: `demo-metric-${m.key}` });
  const features = new Set((await api.list<{ id: string; key: string }>('/v1/features')).map((f) => f.key));
  for (const f of FEATURES) if (!features.has(f.key)) await api.post('/v1/features', f, { idempotencyKey: `demo-feature-${f.key}` });
  const existing = new Map((await api.list<any>('/v1/plans')).map((p) => [p.key as string, p]));
  const plans = {} as CatalogIds['plans'];
  for (const p of PLANS) {
    const plan = existing.get(p.key) ?? (await api.post('/v1/plans', { key: p.key, currency: 'usd', ...p.body }, { idempotencyKey: `demo-plan-${p.key}` }));
    plans[p.key] = { id: plan.id, prices: plan.prices.map((x: any) => ({ id: x.id, type: x.type, interval: x.interval })) };
  }
  return { plans };
}

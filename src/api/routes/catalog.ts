import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../context.ts';
import { dec } from '../../kernel/decimal.ts';
import {
  AGGREGATIONS,
  archivePlan,
  CHARGE_MODELS,
  createFeature,
  createMetric,
  createPlan,
  FEATURE_TYPES,
  FILTER_OPERATORS,
  INTERVALS,
  LIMIT_PERIODS,
  listFeatures,
  listMetrics,
  listPlans,
  MOTIONS,
  PLAN_STATUSES,
  PRICE_TYPES,
  pricingLadder,
  retrieveFeature,
  retrieveMetric,
  retrievePlan,
  updatePlan,
  VISIBILITIES,
  type BillableMetric,
  type Entitlement,
  type Feature,
  type PlanDetail,
  type Price,
  type PricingLadder,
} from '../../modules/catalog/index.ts';
import { ctxOf } from '../auth.ts';
import { errorResponses, IdParam, iso, listOf, MoneySchema, page, PageQuery, Timestamp } from '../schemas.ts';

// ---- request bodies (shape only; the catalog module checks the business rules and names the param) ----

const Scalar = z.union([z.string(), z.number(), z.boolean()]);
const Metadata = z.record(z.string(), z.string()).describe('Stripe-style string → string metadata. The pricing ladder reads typical_seats, typical_usage.<metric_key> and typical_monthly_amount.');

const TierBody = z.strictObject({
  up_to: z.union([z.number(), z.null(), z.literal('inf')]).describe('Inclusive upper bound; null or "inf" for the last tier'),
  unit_amount: z.number().int().optional().describe('Integer minor units per unit'),
  unit_amount_decimal: z.string().optional().describe('Minor units per unit as a decimal string, e.g. "0.5" (half a cent)'),
  flat_amount: z.number().int().optional().describe('Integer minor units charged once when the quantity reaches the tier'),
});

const PriceBody = z.strictObject({
  type: z.enum(PRICE_TYPES),
  interval: z.enum(INTERVALS).optional(),
  currency: z.string().optional().describe("Defaults to the plan's currency; must equal it"),
  nickname: z.string().max(200).nullable().optional(),
  charge_model: z.enum(CHARGE_MODELS).optional().describe('per_seat: per_unit (default) | graduated | volume; usage: per_unit (default) | graduated | volume | package'),
  unit_amount: z.number().int().optional().describe('Integer minor units: the flat fee, the price per seat, or a whole-unit usage rate'),
  unit_amount_decimal: z.string().optional().describe('Usage per_unit rate in minor units, decimal string: "0.04" = 4/100 of a cent'),
  tiers: z.array(TierBody).optional(),
  package_size: z.number().int().optional(),
  package_amount: z.number().int().optional(),
  minimum_amount: z.number().int().optional().describe('Integer minor units per period the charge is topped up to'),
  billable_metric: z.string().optional().describe('Usage prices: id (bm_…) or key of the billable metric'),
});

const EntitlementBody = z.strictObject({
  feature_key: z.string().min(1),
  enabled: z.boolean().optional(),
  limit: z.number().int().nullable().optional().describe('Limit features: allowance per period, null = unlimited'),
  period: z.enum(LIMIT_PERIODS).optional(),
  billable_metric: z.string().optional(),
});

const PlanFields = {
  name: z.string().min(1).max(200),
  description: z.string().max(2000).nullable().optional(),
  motion: z.enum(MOTIONS).optional(),
  visibility: z.enum(VISIBILITIES).optional(),
  trial_days: z.number().int().min(0).max(730).optional(),
  metadata: Metadata.optional(),
  prices: z.array(PriceBody).optional(),
  entitlements: z.array(EntitlementBody).optional(),
};

const CreatePlanBody = z.strictObject({ key: z.string(), currency: z.string(), ...PlanFields });
const UpdatePlanBody = z.strictObject({ key: z.string().optional(), status: z.enum(PLAN_STATUSES).optional(), ...PlanFields, name: PlanFields.name.optional() });

// ---- responses ------------------------------------------------------------------------------

const TierSchema = z.object({ up_to: z.number().int().nullable(), unit_amount_decimal: z.string(), flat_amount: z.number().int() });

const PriceSchema = z
  .object({
    id: z.string(),
    object: z.literal('price'),
    plan: z.string(),
    plan_version: z.string(),
    nickname: z.string().nullable(),
    type: z.enum(PRICE_TYPES),
    interval: z.enum(INTERVALS),
    currency: z.string(),
    charge_model: z.enum(CHARGE_MODELS).nullable(),
    unit_amount: z.number().int().nullable(),
    unit_amount_decimal: z.string().nullable(),
    tiers: z.array(TierSchema).nullable(),
    package_size: z.number().int().nullable(),
    package_amount: z.number().int().nullable(),
    minimum_amount: z.number().int().nullable(),
    billable_metric: z.string().nullable(),
    created_at: Timestamp,
  })
  .meta({ id: 'Price' });

const EntitlementSchema = z
  .object({
    object: z.literal('entitlement'),
    feature: z.string(),
    feature_key: z.string(),
    feature_type: z.enum(FEATURE_TYPES),
    enabled: z.boolean(),
    limit: z.number().int().nullable(),
    period: z.enum(LIMIT_PERIODS).nullable(),
    billable_metric: z.string().nullable(),
  })
  .meta({ id: 'Entitlement' });

const PlanSchema = z
  .object({
    id: z.string(),
    object: z.literal('plan'),
    key: z.string(),
    name: z.string(),
    description: z.string().nullable(),
    motion: z.enum(MOTIONS),
    visibility: z.enum(VISIBILITIES),
    currency: z.string(),
    status: z.enum(PLAN_STATUSES),
    trial_days: z.number().int(),
    metadata: z.record(z.string(), z.string()),
    current_version: z.number().int(),
    version: z.number().int().describe('The version shown (current unless ?version=N)'),
    plan_version: z.string().describe('Id of the version shown: what a subscription pins'),
    prices: z.array(PriceSchema),
    entitlements: z.array(EntitlementSchema),
    versions: z.array(z.object({ id: z.string(), object: z.literal('plan_version'), version: z.number().int(), current: z.boolean(), created_at: Timestamp })),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .meta({ id: 'Plan' });

const FeatureSchema = z
  .object({ id: z.string(), object: z.literal('feature'), key: z.string(), name: z.string(), description: z.string().nullable(), type: z.enum(FEATURE_TYPES), created_at: Timestamp })
  .meta({ id: 'Feature' });

const MetricSchema = z
  .object({
    id: z.string(),
    object: z.literal('billable_metric'),
    key: z.string(),
    name: z.string(),
    description: z.string().nullable(),
    event_name: z.string(),
    aggregation: z.enum(AGGREGATIONS),
    property: z.string().nullable(),
    filters: z.array(z.object({ property: z.string(), operator: z.enum(FILTER_OPERATORS), values: z.array(z.string()) })),
    created_at: Timestamp,
  })
  .meta({ id: 'BillableMetric' });

const LadderSchema = z
  .object({
    object: z.literal('pricing_ladder'),
    currency: z.string(),
    factor: z.string(),
    plans: z.array(
      z.object({
        plan: z.string(),
        key: z.string(),
        name: z.string(),
        motion: z.enum(MOTIONS),
        visibility: z.enum(VISIBILITIES),
        plan_version: z.string(),
        version: z.number().int(),
        typical_monthly_amount: MoneySchema.nullable(),
        basis: z.enum(['month', 'year', 'metadata', 'free', 'custom']),
      }),
    ),
    dead_zones: z.array(z.object({ from_plan: z.string(), to_plan: z.string(), ratio: z.string(), suggested_amount: MoneySchema, message: z.string() })),
    has_dead_zones: z.boolean(),
  })
  .meta({ id: 'PricingLadder' });

// ---- mapping --------------------------------------------------------------------------------

/** Stripe shows both forms: unit_amount when whole, unit_amount_decimal always when there is a rate. */
function priceOut(p: Price) {
  const decimal = p.unitAmountDecimal ?? (p.unitAmount === null ? null : String(p.unitAmount));
  const whole = p.unitAmount ?? (p.unitAmountDecimal !== null && dec(p.unitAmountDecimal).isInteger() ? dec(p.unitAmountDecimal).toNumber() : null);
  return {
    id: p.id,
    object: 'price' as const,
    plan: p.planId,
    plan_version: p.planVersionId,
    nickname: p.nickname,
    type: p.type,
    interval: p.interval,
    currency: p.currency,
    charge_model: p.chargeModel,
    unit_amount: whole,
    unit_amount_decimal: decimal,
    tiers: p.chargeModel === 'graduated' || p.chargeModel === 'volume' ? p.tiers.map((t) => ({ up_to: t.upTo, unit_amount_decimal: t.unitAmountDecimal, flat_amount: t.flatAmount })) : null,
    package_size: p.packageSize,
    package_amount: p.packageAmount,
    minimum_amount: p.minimumAmount,
    billable_metric: p.billableMetricId,
    created_at: iso(p.createdAt)!,
  };
}

const entitlementOut = (e: Entitlement) => ({
  object: 'entitlement' as const,
  feature: e.featureId,
  feature_key: e.featureKey,
  feature_type: e.featureType,
  enabled: e.enabled,
  limit: e.limit,
  period: e.period,
  billable_metric: e.billableMetricId,
});

function planOut(d: PlanDetail) {
  const p = d.plan;
  return {
    id: p.id,
    object: 'plan' as const,
    key: p.key,
    name: p.name,
    description: p.description,
    motion: p.motion,
    visibility: p.visibility,
    currency: p.currency,
    status: p.status,
    trial_days: p.trialDays,
    metadata: p.metadata,
    current_version: p.currentVersion,
    version: d.version.version,
    plan_version: d.version.id,
    prices: d.version.prices.map(priceOut),
    entitlements: d.version.entitlements.map(entitlementOut),
    versions: d.versions.map((v) => ({ id: v.id, object: 'plan_version' as const, version: v.version, current: v.version === p.currentVersion, created_at: iso(v.createdAt)! })),
    created_at: iso(p.createdAt)!,
    updated_at: iso(p.updatedAt)!,
  };
}

const featureOut = (f: Feature) => ({ id: f.id, object: 'feature' as const, key: f.key, name: f.name, description: f.description, type: f.type, created_at: iso(f.createdAt)! });

const metricOut = (m: BillableMetric) => ({
  id: m.id,
  object: 'billable_metric' as const,
  key: m.key,
  name: m.name,
  description: m.description,
  event_name: m.eventName,
  aggregation: m.aggregation,
  property: m.property,
  filters: m.filters.map((f) => ({ property: f.property, operator: f.operator, values: f.values })),
  created_at: iso(m.createdAt)!,
});

function ladderOut(l: PricingLadder) {
  return {
    object: 'pricing_ladder' as const,
    currency: l.currency,
    factor: l.factor,
    plans: l.entries.map((e) => ({
      plan: e.planId,
      key: e.key,
      name: e.name,
      motion: e.plan.motion,
      visibility: e.plan.visibility,
      plan_version: e.version.id,
      version: e.version.version,
      typical_monthly_amount: e.amount === null ? null : { amount: e.amount, currency: l.currency },
      basis: e.basis,
    })),
    dead_zones: l.deadZones.map((z) => ({ from_plan: z.fromPlan, to_plan: z.toPlan, ratio: z.ratio, suggested_amount: { amount: z.suggestedAmount, currency: l.currency }, message: z.message })),
    has_dead_zones: l.deadZones.length > 0,
  };
}

// ---- routes ---------------------------------------------------------------------------------

export function catalogRoutes(app: FastifyInstance, deps: Deps) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['Catalog'];

  r.post(
    '/v1/plans',
    { schema: { tags, summary: 'Create a plan with its prices and entitlements (version 1)', body: CreatePlanBody, response: { 200: PlanSchema, ...errorResponses } } },
    async (request) => planOut(await createPlan(ctxOf(deps, request), request.body)),
  );

  r.get(
    '/v1/plans',
    {
      schema: {
        tags,
        summary: 'List plans, newest first, each with its current version',
        querystring: PageQuery.extend({ visibility: z.enum(VISIBILITIES).optional(), motion: z.enum(MOTIONS).optional(), status: z.enum(PLAN_STATUSES).optional() }),
        response: { 200: listOf(PlanSchema), ...errorResponses },
      },
    },
    async (request) => {
      const q = request.query;
      const rows = await listPlans(ctxOf(deps, request), { limit: q.limit, startingAfter: q.starting_after, visibility: q.visibility, motion: q.motion, status: q.status });
      return page(rows, q.limit, planOut);
    },
  );

  r.get(
    '/v1/plans/:id',
    {
      schema: {
        tags,
        summary: 'Retrieve a plan (its current version, or ?version=N)',
        params: IdParam,
        querystring: z.object({ version: z.coerce.number().int().min(1).optional() }),
        response: { 200: PlanSchema, ...errorResponses },
      },
    },
    async (request) => planOut(await retrievePlan(ctxOf(deps, request), request.params.id, request.query.version)),
  );

  r.post(
    '/v1/plans/:id',
    {
      schema: {
        tags,
        summary: 'Update a plan; new prices or entitlements create a new version (existing subscribers keep theirs)',
        params: IdParam,
        body: UpdatePlanBody,
        response: { 200: PlanSchema, ...errorResponses },
      },
    },
    async (request) => planOut(await updatePlan(ctxOf(deps, request), request.params.id, request.body)),
  );

  r.post(
    '/v1/plans/:id/archive',
    { schema: { tags, summary: 'Archive a plan: no new subscriptions; existing ones keep their version', params: IdParam, response: { 200: PlanSchema, ...errorResponses } } },
    async (request) => planOut(await archivePlan(ctxOf(deps, request), request.params.id)),
  );

  r.post(
    '/v1/features',
    {
      schema: {
        tags,
        summary: 'Create a feature (boolean or limit)',
        body: z.strictObject({ key: z.string(), name: z.string().min(1).max(200), description: z.string().max(2000).nullable().optional(), type: z.enum(FEATURE_TYPES) }),
        response: { 200: FeatureSchema, ...errorResponses },
      },
    },
    async (request) => featureOut(await createFeature(ctxOf(deps, request), request.body)),
  );

  r.get('/v1/features', { schema: { tags, summary: 'List features, newest first', querystring: PageQuery, response: { 200: listOf(FeatureSchema), ...errorResponses } } }, async (request) => {
    const q = request.query;
    return page(await listFeatures(ctxOf(deps, request), { limit: q.limit, startingAfter: q.starting_after }), q.limit, featureOut);
  });

  r.get('/v1/features/:id', { schema: { tags, summary: 'Retrieve a feature', params: IdParam, response: { 200: FeatureSchema, ...errorResponses } } }, async (request) =>
    featureOut(await retrieveFeature(ctxOf(deps, request), request.params.id)),
  );

  r.post(
    '/v1/billable_metrics',
    {
      schema: {
        tags,
        summary: 'Create a billable metric (count, sum, max, unique_count or latest over an event, with filters)',
        body: z.strictObject({
          key: z.string(),
          name: z.string().min(1).max(200),
          description: z.string().max(2000).nullable().optional(),
          event_name: z.string().min(1).max(200),
          aggregation: z.enum(AGGREGATIONS),
          property: z.string().min(1).max(200).optional(),
          filters: z.array(z.strictObject({ property: z.string().max(200), operator: z.enum(FILTER_OPERATORS), value: Scalar.optional(), values: z.array(Scalar).optional() })).optional(),
        }),
        response: { 200: MetricSchema, ...errorResponses },
      },
    },
    async (request) => metricOut(await createMetric(ctxOf(deps, request), request.body)),
  );

  r.get('/v1/billable_metrics', { schema: { tags, summary: 'List billable metrics, newest first', querystring: PageQuery, response: { 200: listOf(MetricSchema), ...errorResponses } } }, async (request) => {
    const q = request.query;
    return page(await listMetrics(ctxOf(deps, request), { limit: q.limit, startingAfter: q.starting_after }), q.limit, metricOut);
  });

  r.get('/v1/billable_metrics/:id', { schema: { tags, summary: 'Retrieve a billable metric', params: IdParam, response: { 200: MetricSchema, ...errorResponses } } }, async (request) =>
    metricOut(await retrieveMetric(ctxOf(deps, request), request.params.id)),
  );

  r.get(
    '/v1/pricing_ladder',
    {
      schema: {
        tags,
        summary: 'Active plans by typical monthly price, with pricing dead zones flagged',
        querystring: z.object({
          currency: z.string().optional().describe("Default: the workspace's most used plan currency"),
          factor: z.string().optional().describe('A jump between adjacent paid plans above this ratio is a dead zone. Default "5"'),
        }),
        response: { 200: LadderSchema, ...errorResponses },
      },
    },
    async (request) => ladderOut(await pricingLadder(ctxOf(deps, request), request.query)),
  );
}

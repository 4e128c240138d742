import { sql } from 'drizzle-orm';
import { bigint, boolean, check, index, jsonb, numeric, pgTable, primaryKey, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { instant, minor } from './columns.ts';
import { workspaces } from './workspaces.ts';

/**
 * The product catalog: plans, their immutable numbered versions, prices (real columns with
 * CHECKs, tiers in their own table), features, entitlements and billable metrics.
 * Amounts are integer minor units (int8); sub-minor rates are `numeric` (read back as strings).
 */
export const plans = pgTable(
  'plans',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id').notNull().references(() => workspaces.id),
    key: text('key').notNull(),
    name: text('name').notNull(),
    description: text('description'),
    motion: text('motion').notNull(),
    visibility: text('visibility').notNull(),
    currency: text('currency').notNull(),
    status: text('status').notNull().default('active'),
    trialDays: bigint('trial_days', { mode: 'number' }).notNull().default(0),
    metadata: jsonb('metadata').$type<Record<string, string>>().notNull().default({}),
    /** The version new subscriptions get; older versions stay readable for pinned subscribers. */
    currentVersion: bigint('current_version', { mode: 'number' }).notNull().default(1),
    createdAt: instant('created_at').notNull(),
    updatedAt: instant('updated_at').notNull(),
  },
  (t) => [
    uniqueIndex('plans_workspace_key').on(t.workspaceId, t.key),
    index('plans_workspace').on(t.workspaceId, t.id),
    check('plans_motion', sql`${t.motion} IN ('self_serve', 'sales_assisted', 'sales_led')`),
    check('plans_visibility', sql`${t.visibility} IN ('public', 'contact_sales', 'quote_only')`),
    check('plans_status', sql`${t.status} IN ('active', 'archived')`),
    check('plans_trial_days', sql`${t.trialDays} >= 0 AND ${t.trialDays} <= 730`),
    check('plans_current_version', sql`${t.currentVersion} >= 1`),
  ],
);

export const planVersions = pgTable(
  'plan_versions',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id').notNull().references(() => workspaces.id),
    planId: text('plan_id').notNull().references(() => plans.id),
    version: bigint('version', { mode: 'number' }).notNull(),
    createdAt: instant('created_at').notNull(),
  },
  (t) => [uniqueIndex('plan_versions_plan_version').on(t.workspaceId, t.planId, t.version), check('plan_versions_version', sql`${t.version} >= 1`)],
);

export const billableMetrics = pgTable(
  'billable_metrics',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id').notNull().references(() => workspaces.id),
    key: text('key').notNull(),
    name: text('name').notNull(),
    description: text('description'),
    eventName: text('event_name').notNull(),
    aggregation: text('aggregation').notNull(),
    /** The event property aggregated; null only for `count`. */
    property: text('property'),
    createdAt: instant('created_at').notNull(),
  },
  (t) => [
    uniqueIndex('billable_metrics_workspace_key').on(t.workspaceId, t.key),
    index('billable_metrics_event').on(t.workspaceId, t.eventName),
    check('billable_metrics_aggregation', sql`${t.aggregation} IN ('count', 'sum', 'max', 'unique_count', 'latest')`),
    check('billable_metrics_property', sql`${t.aggregation} = 'count' OR ${t.property} IS NOT NULL`),
  ],
);

/** Filters on event properties, ANDed. Values compare as text (what `properties->>'p'` returns). */
export const billableMetricFilters = pgTable(
  'billable_metric_filters',
  {
    workspaceId: text('workspace_id').notNull().references(() => workspaces.id),
    metricId: text('metric_id').notNull().references(() => billableMetrics.id),
    position: bigint('position', { mode: 'number' }).notNull(),
    property: text('property').notNull(),
    operator: text('operator').notNull(),
    values: text('values').array().notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.metricId, t.position] }),
    check('billable_metric_filters_operator', sql`${t.operator} IN ('eq', 'neq', 'in', 'not_in')`),
    check('billable_metric_filters_values', sql`cardinality(${t.values}) >= 1`),
  ],
);

export const prices = pgTable(
  'prices',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id').notNull().references(() => workspaces.id),
    planId: text('plan_id').notNull().references(() => plans.id),
    planVersionId: text('plan_version_id').notNull().references(() => planVersions.id),
    /** Order within the version, as given. */
    position: bigint('position', { mode: 'number' }).notNull(),
    nickname: text('nickname'),
    type: text('type').notNull(),
    interval: text('interval').notNull(),
    currency: text('currency').notNull(),
    /** null for `flat`; per_unit | graduated | volume for per_seat; any of the four for usage. */
    chargeModel: text('charge_model'),
    /** Integer minor units: flat fee, or per-seat unit price. */
    unitAmount: minor('unit_amount'),
    /** Minor units, may be fractional ("0.04" = 4/100 of a cent): usage per_unit rate. */
    unitAmountDecimal: numeric('unit_amount_decimal'),
    packageSize: bigint('package_size', { mode: 'number' }),
    packageAmount: minor('package_amount'),
    minimumAmount: minor('minimum_amount'),
    billableMetricId: text('billable_metric_id').references(() => billableMetrics.id),
    createdAt: instant('created_at').notNull(),
  },
  (t) => [
    index('prices_version').on(t.workspaceId, t.planVersionId, t.position),
    check('prices_type', sql`${t.type} IN ('flat', 'per_seat', 'usage')`),
    check('prices_interval', sql`${t.interval} IN ('month', 'year')`),
    check('prices_charge_model', sql`${t.chargeModel} IS NULL OR ${t.chargeModel} IN ('per_unit', 'graduated', 'volume', 'package')`),
    check(
      'prices_shape',
      sql`(${t.type} = 'flat' AND ${t.chargeModel} IS NULL AND ${t.unitAmount} IS NOT NULL AND ${t.billableMetricId} IS NULL)
       OR (${t.type} = 'per_seat' AND ${t.chargeModel} IN ('per_unit', 'graduated', 'volume') AND ${t.billableMetricId} IS NULL)
       OR (${t.type} = 'usage' AND ${t.chargeModel} IS NOT NULL AND ${t.billableMetricId} IS NOT NULL)`,
    ),
    check('prices_per_unit', sql`${t.chargeModel} IS DISTINCT FROM 'per_unit' OR ${t.unitAmount} IS NOT NULL OR ${t.unitAmountDecimal} IS NOT NULL`),
    check('prices_package', sql`${t.chargeModel} IS DISTINCT FROM 'package' OR (${t.packageSize} IS NOT NULL AND ${t.packageAmount} IS NOT NULL)`),
    check('prices_unit_amount', sql`${t.unitAmount} IS NULL OR ${t.unitAmount} >= 0`),
    check('prices_unit_amount_decimal', sql`${t.unitAmountDecimal} IS NULL OR ${t.unitAmountDecimal} >= 0`),
    check('prices_package_size', sql`${t.packageSize} IS NULL OR ${t.packageSize} > 0`),
    check('prices_package_amount', sql`${t.packageAmount} IS NULL OR ${t.packageAmount} >= 0`),
    check('prices_minimum_amount', sql`${t.minimumAmount} IS NULL OR ${t.minimumAmount} >= 0`),
  ],
);

/** Tiers of a graduated or volume price, in ascending `up_to`; the last one is unbounded (null). */
export const priceTiers = pgTable(
  'price_tiers',
  {
    workspaceId: text('workspace_id').notNull().references(() => workspaces.id),
    priceId: text('price_id').notNull().references(() => prices.id),
    position: bigint('position', { mode: 'number' }).notNull(),
    upTo: bigint('up_to', { mode: 'number' }),
    unitAmountDecimal: numeric('unit_amount_decimal').notNull(),
    flatAmount: minor('flat_amount').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.priceId, t.position] }),
    check('price_tiers_up_to', sql`${t.upTo} IS NULL OR ${t.upTo} > 0`),
    check('price_tiers_unit_amount_decimal', sql`${t.unitAmountDecimal} >= 0`),
    check('price_tiers_flat_amount', sql`${t.flatAmount} >= 0`),
  ],
);

export const features = pgTable(
  'features',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id').notNull().references(() => workspaces.id),
    key: text('key').notNull(),
    name: text('name').notNull(),
    description: text('description'),
    type: text('type').notNull(),
    createdAt: instant('created_at').notNull(),
  },
  (t) => [uniqueIndex('features_workspace_key').on(t.workspaceId, t.key), check('features_type', sql`${t.type} IN ('boolean', 'limit')`)],
);

export const entitlements = pgTable(
  'entitlements',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id').notNull().references(() => workspaces.id),
    planVersionId: text('plan_version_id').notNull().references(() => planVersions.id),
    featureId: text('feature_id').notNull().references(() => features.id),
    /** Boolean features: on or off. Limit features: always true (a limit of 0 means none). */
    enabled: boolean('enabled').notNull(),
    /** Limit features: the allowance per period; null = unlimited. Always null for boolean features. */
    limitValue: bigint('limit_value', { mode: 'number' }),
    /** Limit features: the period the allowance resets over; null for boolean features. */
    period: text('period'),
    /** The metric whose value counts against the limit (e.g. api_calls); null when counted elsewhere (seats). */
    billableMetricId: text('billable_metric_id').references(() => billableMetrics.id),
  },
  (t) => [
    uniqueIndex('entitlements_version_feature').on(t.workspaceId, t.planVersionId, t.featureId),
    check('entitlements_limit', sql`${t.limitValue} IS NULL OR ${t.limitValue} >= 0`),
    check('entitlements_period', sql`${t.period} IS NULL OR ${t.period} IN ('month', 'year', 'none')`),
  ],
);

/**
 * The product catalog's types. A plan has immutable numbered versions; prices and entitlements
 * belong to a version, so a subscription pinned to `plan_version_id` is never silently repriced.
 * Amounts are integer minor units; sub-minor rates are decimal strings in minor units
 * (Stripe's `unit_amount_decimal`: "0.04" is four hundredths of a cent).
 */
export const MOTIONS = ['self_serve', 'sales_assisted', 'sales_led'] as const;
export type Motion = (typeof MOTIONS)[number];

export const VISIBILITIES = ['public', 'contact_sales', 'quote_only'] as const;
export type Visibility = (typeof VISIBILITIES)[number];

export const PLAN_STATUSES = ['active', 'archived'] as const;
export type PlanStatus = (typeof PLAN_STATUSES)[number];

export const PRICE_TYPES = ['flat', 'per_seat', 'usage'] as const;
export type PriceType = (typeof PRICE_TYPES)[number];

export const INTERVALS = ['month', 'year'] as const;
export type Interval = (typeof INTERVALS)[number];

export const CHARGE_MODELS = ['per_unit', 'graduated', 'volume', 'package'] as const;
export type ChargeModel = (typeof CHARGE_MODELS)[number];

export const FEATURE_TYPES = ['boolean', 'limit'] as const;
export type FeatureType = (typeof FEATURE_TYPES)[number];

export const LIMIT_PERIODS = ['month', 'year', 'none'] as const;
export type LimitPeriod = (typeof LIMIT_PERIODS)[number];

export const AGGREGATIONS = ['count', 'sum', 'max', 'unique_count', 'latest'] as const;
export type Aggregation = (typeof AGGREGATIONS)[number];

export const FILTER_OPERATORS = ['eq', 'neq', 'in', 'not_in'] as const;
export type FilterOperator = (typeof FILTER_OPERATORS)[number];

export interface Plan {
  id: string;
  workspaceId: string;
  key: string;
  name: string;
  description: string | null;
  motion: Motion;
  visibility: Visibility;
  currency: string;
  status: PlanStatus;
  trialDays: number;
  metadata: Record<string, string>;
  currentVersion: number;
  createdAt: Date;
  updatedAt: Date;
}

/** One tier. `upTo` is inclusive; null (the last tier only) means "and above". */
export interface Tier {
  upTo: number | null;
  /** Minor units per unit, decimal string: "0.5" = half a cent. */
  unitAmountDecimal: string;
  /** Integer minor units added once when the quantity reaches into this tier. */
  flatAmount: number;
}

export interface Price {
  id: string;
  workspaceId: string;
  planId: string;
  planVersionId: string;
  position: number;
  nickname: string | null;
  type: PriceType;
  interval: Interval;
  currency: string;
  /** null for flat prices. */
  chargeModel: ChargeModel | null;
  /** Integer minor units: the flat fee, or the per-seat unit price. */
  unitAmount: number | null;
  /** Minor units, decimal string: the per-unit usage rate. */
  unitAmountDecimal: string | null;
  tiers: Tier[];
  packageSize: number | null;
  packageAmount: number | null;
  /** Integer minor units per period the charge is topped up to. */
  minimumAmount: number | null;
  billableMetricId: string | null;
  createdAt: Date;
}

export interface Feature {
  id: string;
  workspaceId: string;
  key: string;
  name: string;
  description: string | null;
  type: FeatureType;
  createdAt: Date;
}

export interface Entitlement {
  id: string;
  planVersionId: string;
  featureId: string;
  featureKey: string;
  featureType: FeatureType;
  /** Boolean features: on/off. Limit features: always true. */
  enabled: boolean;
  /** Limit features: allowance per period, null = unlimited. null for boolean features. */
  limit: number | null;
  period: LimitPeriod | null;
  billableMetricId: string | null;
}

export interface PlanVersion {
  id: string;
  workspaceId: string;
  planId: string;
  version: number;
  createdAt: Date;
  prices: Price[];
  entitlements: Entitlement[];
}

/** A plan as the API shows it: one of its versions (the current one unless asked) and the version list. */
export interface PlanDetail {
  plan: Plan;
  version: PlanVersion;
  versions: Array<{ id: string; version: number; createdAt: Date }>;
}

export interface MetricFilter {
  property: string;
  operator: FilterOperator;
  /** Compared with the property's text form (what PostgreSQL's `properties->>'p'` returns). */
  values: string[];
}

export interface BillableMetric {
  id: string;
  workspaceId: string;
  key: string;
  name: string;
  description: string | null;
  eventName: string;
  aggregation: Aggregation;
  property: string | null;
  filters: MetricFilter[];
  createdAt: Date;
}

/** Keys are stable handles used in URLs, code and metadata: lower-case, digits, `_`, `-`, `.`. */
export const KEY_PATTERN = /^[a-z0-9][a-z0-9_.-]{0,63}$/;

/** Upper bounds that keep every computed amount far inside the safe-integer range. */
export const MAX_AMOUNT = 1_000_000_000_000; // 10^12 minor units: $10bn
export const MAX_QUANTITY = 1_000_000_000_000_000; // 10^15 units
/** Sub-minor rates: at most 12 decimal places (Stripe allows 12). */
export const MAX_RATE_SCALE = 12;

/** Plan metadata keys the pricing ladder reads (Stripe-style metadata: string → string). */
export const METADATA_TYPICAL_SEATS = 'typical_seats';
export const METADATA_TYPICAL_USAGE_PREFIX = 'typical_usage.';
export const METADATA_TYPICAL_MONTHLY_AMOUNT = 'typical_monthly_amount';

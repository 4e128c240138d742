import type { Aggregation, ChargeModel, FeatureType, FilterOperator, Interval, LimitPeriod, Motion, PlanStatus, PriceType, Visibility } from './catalog.ts';

/**
 * What callers send (the API bodies, snake_case as in Stripe). The service validates the
 * business rules (tiers ascending, currency, which fields each charge model takes) and names
 * the offending parameter with its path, e.g. `prices.1.tiers.2.up_to`.
 */
export interface TierParams {
  /** Inclusive upper bound; null or "inf" for the last tier. */
  up_to: number | null | 'inf';
  unit_amount?: number;
  unit_amount_decimal?: string;
  flat_amount?: number;
}

export interface PriceParams {
  type: PriceType;
  interval?: Interval;
  currency?: string;
  nickname?: string | null;
  charge_model?: ChargeModel;
  unit_amount?: number;
  unit_amount_decimal?: string;
  tiers?: TierParams[];
  package_size?: number;
  package_amount?: number;
  minimum_amount?: number;
  /** A billable metric's id (bm_…) or key. */
  billable_metric?: string;
}

export interface EntitlementParams {
  feature_key: string;
  /** Boolean features. Default true. */
  enabled?: boolean;
  /** Limit features: required; null = unlimited. */
  limit?: number | null;
  period?: LimitPeriod;
  /** Limit features: the billable metric (id or key) whose usage counts against the limit. */
  billable_metric?: string;
}

export interface CreatePlanParams {
  key: string;
  name: string;
  description?: string | null;
  motion?: Motion;
  visibility?: Visibility;
  currency: string;
  trial_days?: number;
  metadata?: Record<string, string>;
  prices?: PriceParams[];
  entitlements?: EntitlementParams[];
}

export interface UpdatePlanParams {
  key?: string;
  name?: string;
  description?: string | null;
  motion?: Motion;
  visibility?: Visibility;
  status?: PlanStatus;
  trial_days?: number;
  metadata?: Record<string, string>;
  /** Replaces the price list: a new version when it differs from the current one. */
  prices?: PriceParams[];
  /** Replaces the entitlements: a new version when they differ from the current ones. */
  entitlements?: EntitlementParams[];
}

export interface PlanListParams {
  limit: number;
  startingAfter?: string;
  visibility?: Visibility;
  motion?: Motion;
  status?: PlanStatus;
}

export interface CreateFeatureParams {
  key: string;
  name: string;
  description?: string | null;
  type: FeatureType;
}

export interface FilterParams {
  property: string;
  operator: FilterOperator;
  /** eq / neq: one value. */
  value?: string | number | boolean;
  /** in / not_in (or eq/neq with one element). */
  values?: Array<string | number | boolean>;
}

export interface CreateMetricParams {
  key: string;
  name: string;
  description?: string | null;
  event_name: string;
  aggregation: Aggregation;
  property?: string;
  filters?: FilterParams[];
}

export interface PageParams {
  limit: number;
  startingAfter?: string;
}

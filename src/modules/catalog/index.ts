import type { Db } from '../../context.ts';
import { notFound } from '../../kernel/errors.ts';
import * as repo from './catalog.repo.ts';
import type { BillableMetric, Entitlement, Feature, Plan, PlanVersion, Price } from './catalog.ts';

/**
 * The catalog module's public door: plans with immutable versions, prices, features,
 * entitlements, billable metrics, the pure pricing and aggregation functions, and readers for
 * billing/metering/entitlements. Readers take `(db, workspaceId, …)` so they work inside the
 * caller's transaction (pass `tx`), and throw a 404 `resource_missing` for an unknown id or
 * another workspace's id.
 */
export * from './catalog.ts';
export type * from './catalog.params.ts';
export { priceForQuantity, typicalMonthlyAmount, parseQuantity, PRICE_ROUNDING, type PriceComputation, type PriceLine, type PriceTerms, type LadderPrice, type TypicalMonthly, type TypicalMonthlyOptions } from './compute/pricing.ts';
export { aggregate, matchesFilter, matchesFilters, numericValue, propertyText, type AggregateResult, type IgnoredValue, type MeterEvent, type MetricDefinition } from './compute/metrics.ts';
export { DEFAULT_DEAD_ZONE_FACTOR, findDeadZones, orderLadder, ratioString, type DeadZone, type LadderRung } from './compute/ladder.ts';
export { archivePlan, createPlan, listPlans, retrievePlan, updatePlan } from './catalog.service.ts';
export { createFeature, createMetric, listFeatures, listMetrics, retrieveFeature, retrieveMetric } from './definitions.service.ts';
export { pricingLadder, type LadderEntry, type PricingLadder } from './ladder.service.ts';

export async function getPlan(db: Db, workspaceId: string, planId: string): Promise<Plan> {
  const plan = await repo.findPlan(db, workspaceId, planId);
  if (!plan) throw notFound('plan', planId);
  return plan;
}

export async function findPlanByKey(db: Db, workspaceId: string, key: string): Promise<Plan | undefined> {
  return repo.findPlanByKey(db, workspaceId, key);
}

/** A version with its prices (and tiers) and entitlements; what a subscription pins. */
export async function getPlanVersion(db: Db, workspaceId: string, planVersionId: string): Promise<PlanVersion> {
  const v = await repo.findVersionById(db, workspaceId, planVersionId);
  if (!v) throw notFound('plan version', planVersionId);
  return v;
}

/** The version new subscriptions to the plan get. */
export async function getCurrentPlanVersion(db: Db, workspaceId: string, planId: string): Promise<PlanVersion> {
  const plan = await getPlan(db, workspaceId, planId);
  const [v] = await repo.findVersions(db, workspaceId, [{ planId, version: plan.currentVersion }]);
  if (!v) throw notFound('plan version', `${planId} v${plan.currentVersion}`);
  return v;
}

export async function getPrice(db: Db, workspaceId: string, priceId: string): Promise<Price> {
  const p = await repo.findPrice(db, workspaceId, priceId);
  if (!p) throw notFound('price', priceId);
  return p;
}

export async function listPricesForVersion(db: Db, workspaceId: string, planVersionId: string): Promise<Price[]> {
  return repo.listPricesForVersions(db, workspaceId, [planVersionId]);
}

/** A billable metric by id (bm_…) with its filters. */
export async function getMetric(db: Db, workspaceId: string, metricId: string): Promise<BillableMetric> {
  const m = await repo.findMetric(db, workspaceId, metricId);
  if (!m) throw notFound('billable metric', metricId);
  return m;
}

/** Metrics by id or key, several at once (unknown ones are simply absent). */
export const findMetrics = (db: Db, workspaceId: string, idsOrKeys: string[]): Promise<BillableMetric[]> => repo.findMetricsByRefs(db, workspaceId, idsOrKeys);

/** The metrics that count a given event name (metering calls this on ingestion). */
export const listMetricsForEvent = (db: Db, workspaceId: string, eventName: string): Promise<BillableMetric[]> => repo.listMetricsForEvent(db, workspaceId, eventName);

export async function getFeature(db: Db, workspaceId: string, featureId: string): Promise<Feature> {
  const f = await repo.findFeature(db, workspaceId, featureId);
  if (!f) throw notFound('feature', featureId);
  return f;
}

export async function findFeatureByKey(db: Db, workspaceId: string, key: string): Promise<Feature | undefined> {
  const [f] = await repo.findFeaturesByKeys(db, workspaceId, [key]);
  return f;
}

/** A plan version's entitlements (each with its feature key and type), by feature key. 404 for an unknown version. */
export async function getEntitlements(db: Db, workspaceId: string, planVersionId: string): Promise<Entitlement[]> {
  // One query on the hot path (entitlement checks); the existence check only when there are none.
  const ents = await repo.listEntitlementsForVersions(db, workspaceId, [planVersionId]);
  if (ents.length === 0 && !(await repo.findVersionHeader(db, workspaceId, planVersionId))) throw notFound('plan version', planVersionId);
  return ents;
}

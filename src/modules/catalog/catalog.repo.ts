import { and, asc, desc, eq, inArray, lt, or, type SQL } from 'drizzle-orm';
import type { Db } from '../../context.ts';
import { billableMetricFilters, billableMetrics, entitlements, features, planVersions, plans, prices, priceTiers } from '../../db/schema/index.ts';
import { notFound } from '../../kernel/errors.ts';
import type { BillableMetric, Entitlement, Feature, LimitPeriod, MetricFilter, Plan, PlanVersion, Price, Tier } from './catalog.ts';
import type { EntitlementSpec, PriceSpec } from './catalog.validate.ts';
import type { PageParams, PlanListParams } from './catalog.params.ts';

/** Catalog queries. Every function takes the workspace id and filters by it. */

// ---- plans -------------------------------------------------------------------------------

export async function findPlan(db: Db, workspaceId: string, id: string): Promise<Plan | undefined> {
  const [row] = await db.select().from(plans).where(and(eq(plans.workspaceId, workspaceId), eq(plans.id, id))).limit(1);
  return row as Plan | undefined;
}

export async function findPlanByKey(db: Db, workspaceId: string, key: string): Promise<Plan | undefined> {
  const [row] = await db.select().from(plans).where(and(eq(plans.workspaceId, workspaceId), eq(plans.key, key))).limit(1);
  return row as Plan | undefined;
}

export async function listPlans(db: Db, workspaceId: string, q: PlanListParams): Promise<Plan[]> {
  const conds: SQL[] = [eq(plans.workspaceId, workspaceId)];
  if (q.startingAfter) conds.push(lt(plans.id, q.startingAfter));
  if (q.visibility) conds.push(eq(plans.visibility, q.visibility));
  if (q.motion) conds.push(eq(plans.motion, q.motion));
  if (q.status) conds.push(eq(plans.status, q.status));
  return (await db.select().from(plans).where(and(...conds)).orderBy(desc(plans.id)).limit(q.limit + 1)) as Plan[];
}

/** Every active plan of the workspace (the pricing ladder reads them all). */
export async function listActivePlans(db: Db, workspaceId: string): Promise<Plan[]> {
  return (await db.select().from(plans).where(and(eq(plans.workspaceId, workspaceId), eq(plans.status, 'active'))).orderBy(asc(plans.id))) as Plan[];
}

export async function insertPlan(db: Db, plan: Plan): Promise<Plan> {
  const [row] = await db.insert(plans).values(plan).returning();
  return row as Plan;
}

export async function updatePlan(db: Db, workspaceId: string, id: string, patch: Partial<Omit<Plan, 'id' | 'workspaceId'>>): Promise<Plan> {
  const [row] = await db.update(plans).set(patch).where(and(eq(plans.workspaceId, workspaceId), eq(plans.id, id))).returning();
  if (!row) throw notFound('plan', id);
  return row as Plan;
}

// ---- versions, prices, tiers, entitlements -------------------------------------------------

export interface NewVersion {
  id: string;
  workspaceId: string;
  planId: string;
  version: number;
  createdAt: Date;
  prices: Array<PriceSpec & { id: string }>;
  entitlements: Array<EntitlementSpec & { id: string }>;
}

/** Writes a version with its prices, tiers and entitlements (multi-row inserts). */
export async function insertVersion(db: Db, v: NewVersion): Promise<void> {
  await db.insert(planVersions).values({ id: v.id, workspaceId: v.workspaceId, planId: v.planId, version: v.version, createdAt: v.createdAt });
  if (v.prices.length > 0) {
    await db.insert(prices).values(
      v.prices.map((p) => ({
        id: p.id,
        workspaceId: v.workspaceId,
        planId: v.planId,
        planVersionId: v.id,
        position: p.position,
        nickname: p.nickname,
        type: p.type,
        interval: p.interval,
        currency: p.currency,
        chargeModel: p.chargeModel,
        unitAmount: p.unitAmount,
        unitAmountDecimal: p.unitAmountDecimal,
        packageSize: p.packageSize,
        packageAmount: p.packageAmount,
        minimumAmount: p.minimumAmount,
        billableMetricId: p.billableMetricId,
        createdAt: v.createdAt,
      })),
    );
    const tiers = v.prices.flatMap((p) =>
      p.tiers.map((t, position) => ({ workspaceId: v.workspaceId, priceId: p.id, position, upTo: t.upTo, unitAmountDecimal: t.unitAmountDecimal, flatAmount: t.flatAmount })),
    );
    if (tiers.length > 0) await db.insert(priceTiers).values(tiers);
  }
  if (v.entitlements.length > 0) {
    await db.insert(entitlements).values(
      v.entitlements.map((e) => ({
        id: e.id,
        workspaceId: v.workspaceId,
        planVersionId: v.id,
        featureId: e.featureId,
        enabled: e.enabled,
        limitValue: e.limit,
        period: e.period,
        billableMetricId: e.billableMetricId,
      })),
    );
  }
}

type PriceRow = typeof prices.$inferSelect;

function toPrice(row: PriceRow, tiers: Tier[]): Price {
  return { ...(row as Omit<Price, 'tiers'>), tiers };
}

/** Prices (with tiers) matching a condition, in version order. */
async function loadPrices(db: Db, workspaceId: string, where: SQL): Promise<Price[]> {
  const rows = await db.select().from(prices).where(and(eq(prices.workspaceId, workspaceId), where)).orderBy(asc(prices.planVersionId), asc(prices.position));
  if (rows.length === 0) return [];
  const tierRows = await db
    .select()
    .from(priceTiers)
    .where(and(eq(priceTiers.workspaceId, workspaceId), inArray(priceTiers.priceId, rows.map((r) => r.id))))
    .orderBy(asc(priceTiers.priceId), asc(priceTiers.position));
  const byPrice = new Map<string, Tier[]>();
  for (const t of tierRows) {
    const list = byPrice.get(t.priceId) ?? [];
    list.push({ upTo: t.upTo, unitAmountDecimal: t.unitAmountDecimal, flatAmount: t.flatAmount });
    byPrice.set(t.priceId, list);
  }
  return rows.map((r) => toPrice(r, byPrice.get(r.id) ?? []));
}

export async function findPrice(db: Db, workspaceId: string, id: string): Promise<Price | undefined> {
  const [p] = await loadPrices(db, workspaceId, eq(prices.id, id));
  return p;
}

export async function listPricesForVersions(db: Db, workspaceId: string, versionIds: string[]): Promise<Price[]> {
  if (versionIds.length === 0) return [];
  return loadPrices(db, workspaceId, inArray(prices.planVersionId, versionIds));
}

export async function listEntitlementsForVersions(db: Db, workspaceId: string, versionIds: string[]): Promise<Entitlement[]> {
  if (versionIds.length === 0) return [];
  const rows = await db
    .select({ e: entitlements, f: { key: features.key, type: features.type } })
    .from(entitlements)
    .innerJoin(features, eq(features.id, entitlements.featureId))
    .where(and(eq(entitlements.workspaceId, workspaceId), inArray(entitlements.planVersionId, versionIds)))
    .orderBy(asc(features.key));
  return rows.map(({ e, f }) => ({
    id: e.id,
    planVersionId: e.planVersionId,
    featureId: e.featureId,
    featureKey: f.key,
    featureType: f.type as Entitlement['featureType'],
    enabled: e.enabled,
    limit: e.limitValue,
    period: e.period as LimitPeriod | null,
    billableMetricId: e.billableMetricId,
  }));
}

type VersionRow = typeof planVersions.$inferSelect;

/** Versions with their prices and entitlements, loaded in three queries whatever their number. */
export async function hydrateVersions(db: Db, workspaceId: string, rows: VersionRow[]): Promise<PlanVersion[]> {
  const ids = rows.map((r) => r.id);
  const [ps, es] = [await listPricesForVersions(db, workspaceId, ids), await listEntitlementsForVersions(db, workspaceId, ids)];
  return rows.map((r) => ({
    ...r,
    prices: ps.filter((p) => p.planVersionId === r.id),
    entitlements: es.filter((e) => e.planVersionId === r.id),
  }));
}

export async function findVersionById(db: Db, workspaceId: string, id: string): Promise<PlanVersion | undefined> {
  const rows = await db.select().from(planVersions).where(and(eq(planVersions.workspaceId, workspaceId), eq(planVersions.id, id))).limit(1);
  const [v] = await hydrateVersions(db, workspaceId, rows);
  return v;
}

export async function findVersionHeader(db: Db, workspaceId: string, id: string): Promise<VersionRow | undefined> {
  const [row] = await db.select().from(planVersions).where(and(eq(planVersions.workspaceId, workspaceId), eq(planVersions.id, id))).limit(1);
  return row;
}

/** Specific versions of several plans: `pairs` of (plan id, version number). */
export async function findVersions(db: Db, workspaceId: string, pairs: Array<{ planId: string; version: number }>): Promise<PlanVersion[]> {
  if (pairs.length === 0) return [];
  const rows = await db
    .select()
    .from(planVersions)
    .where(and(eq(planVersions.workspaceId, workspaceId), or(...pairs.map((p) => and(eq(planVersions.planId, p.planId), eq(planVersions.version, p.version))))));
  return hydrateVersions(db, workspaceId, rows);
}

export async function listVersionHeaders(db: Db, workspaceId: string, planIds: string[]): Promise<VersionRow[]> {
  if (planIds.length === 0) return [];
  return db
    .select()
    .from(planVersions)
    .where(and(eq(planVersions.workspaceId, workspaceId), inArray(planVersions.planId, planIds)))
    .orderBy(asc(planVersions.planId), asc(planVersions.version));
}

// ---- features ----------------------------------------------------------------------------

export async function insertFeature(db: Db, f: Feature): Promise<Feature> {
  const [row] = await db.insert(features).values(f).returning();
  return row as Feature;
}

export async function findFeature(db: Db, workspaceId: string, id: string): Promise<Feature | undefined> {
  const [row] = await db.select().from(features).where(and(eq(features.workspaceId, workspaceId), eq(features.id, id))).limit(1);
  return row as Feature | undefined;
}

export async function findFeaturesByKeys(db: Db, workspaceId: string, keys: string[]): Promise<Feature[]> {
  if (keys.length === 0) return [];
  return (await db.select().from(features).where(and(eq(features.workspaceId, workspaceId), inArray(features.key, keys)))) as Feature[];
}

export async function listFeatures(db: Db, workspaceId: string, page: PageParams): Promise<Feature[]> {
  const where = page.startingAfter ? and(eq(features.workspaceId, workspaceId), lt(features.id, page.startingAfter)) : eq(features.workspaceId, workspaceId);
  return (await db.select().from(features).where(where).orderBy(desc(features.id)).limit(page.limit + 1)) as Feature[];
}

// ---- billable metrics --------------------------------------------------------------------

type MetricRow = typeof billableMetrics.$inferSelect;

async function withFilters(db: Db, workspaceId: string, rows: MetricRow[]): Promise<BillableMetric[]> {
  if (rows.length === 0) return [];
  const fs = await db
    .select()
    .from(billableMetricFilters)
    .where(and(eq(billableMetricFilters.workspaceId, workspaceId), inArray(billableMetricFilters.metricId, rows.map((r) => r.id))))
    .orderBy(asc(billableMetricFilters.metricId), asc(billableMetricFilters.position));
  return rows.map((r) => ({
    ...(r as Omit<BillableMetric, 'filters'>),
    filters: fs.filter((f) => f.metricId === r.id).map((f): MetricFilter => ({ property: f.property, operator: f.operator as MetricFilter['operator'], values: f.values })),
  }));
}

export async function insertMetric(db: Db, m: BillableMetric): Promise<void> {
  const { filters, ...row } = m;
  await db.insert(billableMetrics).values(row);
  if (filters.length > 0) {
    await db.insert(billableMetricFilters).values(filters.map((f, position) => ({ workspaceId: m.workspaceId, metricId: m.id, position, ...f })));
  }
}

export async function findMetric(db: Db, workspaceId: string, id: string): Promise<BillableMetric | undefined> {
  const rows = await db.select().from(billableMetrics).where(and(eq(billableMetrics.workspaceId, workspaceId), eq(billableMetrics.id, id))).limit(1);
  return (await withFilters(db, workspaceId, rows))[0];
}

/** Metrics referenced by id or by key (a price's `billable_metric` may be either). */
export async function findMetricsByRefs(db: Db, workspaceId: string, refs: string[]): Promise<BillableMetric[]> {
  if (refs.length === 0) return [];
  const rows = await db
    .select()
    .from(billableMetrics)
    .where(and(eq(billableMetrics.workspaceId, workspaceId), or(inArray(billableMetrics.id, refs), inArray(billableMetrics.key, refs))));
  return withFilters(db, workspaceId, rows);
}

export async function findMetricsByIds(db: Db, workspaceId: string, ids: string[]): Promise<BillableMetric[]> {
  if (ids.length === 0) return [];
  const rows = await db.select().from(billableMetrics).where(and(eq(billableMetrics.workspaceId, workspaceId), inArray(billableMetrics.id, ids)));
  return withFilters(db, workspaceId, rows);
}

export async function listMetrics(db: Db, workspaceId: string, page: PageParams): Promise<BillableMetric[]> {
  const where = page.startingAfter ? and(eq(billableMetrics.workspaceId, workspaceId), lt(billableMetrics.id, page.startingAfter)) : eq(billableMetrics.workspaceId, workspaceId);
  const rows = await db.select().from(billableMetrics).where(where).orderBy(desc(billableMetrics.id)).limit(page.limit + 1);
  return withFilters(db, workspaceId, rows);
}

export async function listMetricsForEvent(db: Db, workspaceId: string, eventName: string): Promise<BillableMetric[]> {
  const rows = await db
    .select()
    .from(billableMetrics)
    .where(and(eq(billableMetrics.workspaceId, workspaceId), eq(billableMetrics.eventName, eventName)))
    .orderBy(asc(billableMetrics.id));
  return withFilters(db, workspaceId, rows);
}

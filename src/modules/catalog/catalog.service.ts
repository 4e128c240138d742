import { and, eq } from 'drizzle-orm';
import type { Ctx, Db } from '../../context.ts';
import { plans } from '../../db/schema/index.ts';
import { publish } from '../../jobs/outbox.ts';
import { AppError, notFound } from '../../kernel/errors.ts';
import { newId } from '../../kernel/ids.ts';
import { recordAudit } from '../workspaces/index.ts';
import * as repo from './catalog.repo.ts';
import type { Entitlement, Plan, PlanDetail, Price } from './catalog.ts';
import type { CreatePlanParams, EntitlementParams, PlanListParams, PriceParams, UpdatePlanParams } from './catalog.params.ts';
import { checkCurrency, checkKey, checkMetadata, normalizeEntitlements, normalizePrices, type EntitlementSpec, type PriceSpec } from './catalog.validate.ts';

/**
 * Plans and their versions. Prices and entitlements belong to an immutable version: changing
 * them writes version n+1 and makes it current; versions ≤ n stay as they were, so a
 * subscription pinned to a `plan_version_id` keeps its price. Name, description, visibility,
 * motion, trial days and metadata are plan-level and change in place.
 */

export function isUniqueViolation(e: unknown): boolean {
  const code = (e as { code?: string })?.code ?? (e as { cause?: { code?: string } })?.cause?.code;
  return code === '23505';
}

const keyTaken = (kind: string, key: string) => new AppError({ code: 'key_taken', message: `A ${kind} with key '${key}' already exists.`, param: 'key' });

/** Looks up every feature and metric the input mentions, in two queries. */
async function resolveRefs(tx: Db, workspaceId: string, prices: PriceParams[] | undefined, ents: EntitlementParams[] | undefined) {
  const metricRefs = [...(prices ?? []), ...(ents ?? [])].map((x) => x.billable_metric).filter((r): r is string => r !== undefined);
  const metrics = await repo.findMetricsByRefs(tx, workspaceId, [...new Set(metricRefs)]);
  const features = await repo.findFeaturesByKeys(tx, workspaceId, [...new Set((ents ?? []).map((e) => e.feature_key))]);
  return {
    metric: (ref: string) => metrics.find((m) => m.id === ref) ?? metrics.find((m) => m.key === ref),
    feature: (key: string) => features.find((f) => f.key === key),
  };
}

/** The fields of a price that define what it charges, in a fixed order (for comparisons and audit). */
export function priceSpecOf(p: PriceSpec | Price): PriceSpec {
  return {
    position: p.position,
    nickname: p.nickname,
    type: p.type,
    interval: p.interval,
    currency: p.currency,
    chargeModel: p.chargeModel,
    unitAmount: p.unitAmount,
    unitAmountDecimal: p.unitAmountDecimal,
    tiers: p.tiers.map((t) => ({ upTo: t.upTo, unitAmountDecimal: t.unitAmountDecimal, flatAmount: t.flatAmount })),
    packageSize: p.packageSize,
    packageAmount: p.packageAmount,
    minimumAmount: p.minimumAmount,
    billableMetricId: p.billableMetricId,
  };
}

function entitlementSpecOf(e: EntitlementSpec | Entitlement): EntitlementSpec {
  return { featureId: e.featureId, featureKey: e.featureKey, featureType: e.featureType, enabled: e.enabled, limit: e.limit, period: e.period, billableMetricId: e.billableMetricId };
}

const sameSpecs = <T>(a: T[], b: T[]) => JSON.stringify(a) === JSON.stringify(b);
const byFeature = (list: EntitlementSpec[]) => [...list].sort((x, y) => x.featureId.localeCompare(y.featureId));

/** What the audit log keeps of a plan: its plan-level fields and the version's terms. */
function snapshot(d: PlanDetail) {
  return { plan: d.plan, version: d.version.version, plan_version_id: d.version.id, prices: d.version.prices.map(priceSpecOf), entitlements: d.version.entitlements.map(entitlementSpecOf) };
}

/** Loads a plan with one of its versions (the current one by default) and its version list. */
export async function loadPlanDetail(db: Db, workspaceId: string, plan: Plan, versionNumber?: number): Promise<PlanDetail> {
  const want = versionNumber ?? plan.currentVersion;
  const [version] = await repo.findVersions(db, workspaceId, [{ planId: plan.id, version: want }]);
  if (!version) throw new AppError({ code: 'resource_missing', message: `Plan ${plan.id} has no version ${want}.`, param: 'version' });
  const headers = await repo.listVersionHeaders(db, workspaceId, [plan.id]);
  return { plan, version, versions: headers.map((h) => ({ id: h.id, version: h.version, createdAt: h.createdAt })) };
}

async function writeVersion(tx: Db, ctx: Ctx, planId: string, version: number, prices: PriceSpec[], ents: EntitlementSpec[]): Promise<string> {
  const id = newId('plv');
  await repo.insertVersion(tx, {
    id,
    workspaceId: ctx.workspaceId,
    planId,
    version,
    createdAt: ctx.asOf,
    prices: prices.map((p) => ({ ...p, id: newId('price') })),
    entitlements: ents.map((e) => ({ ...e, id: newId('ent') })),
  });
  return id;
}

export async function createPlan(ctx: Ctx, params: CreatePlanParams): Promise<PlanDetail> {
  checkKey(params.key);
  const currency = checkCurrency(params.currency);
  const metadata = checkMetadata(params.metadata);
  try {
    return await ctx.deps.database.db.transaction(async (tx) => {
      if (await repo.findPlanByKey(tx, ctx.workspaceId, params.key)) throw keyTaken('plan', params.key);
      const refs = await resolveRefs(tx, ctx.workspaceId, params.prices, params.entitlements);
      const prices = normalizePrices(params.prices, { currency, metric: refs.metric });
      const ents = normalizeEntitlements(params.entitlements, refs);
      const plan = await repo.insertPlan(tx, {
        id: newId('plan'),
        workspaceId: ctx.workspaceId,
        key: params.key,
        name: params.name,
        description: params.description ?? null,
        motion: params.motion ?? 'self_serve',
        visibility: params.visibility ?? 'public',
        currency,
        status: 'active',
        trialDays: params.trial_days ?? 0,
        metadata,
        currentVersion: 1,
        createdAt: ctx.asOf,
        updatedAt: ctx.asOf,
      });
      await writeVersion(tx, ctx, plan.id, 1, prices, ents);
      const detail = await loadPlanDetail(tx, ctx.workspaceId, plan);
      await recordAudit(tx, ctx, { action: 'plan.created', entityType: 'plan', entityId: plan.id, after: snapshot(detail) });
      await publish(tx, ctx, 'plan.created', { plan: plan.id, key: plan.key, version: 1, plan_version: detail.version.id });
      return detail;
    });
  } catch (e) {
    if (isUniqueViolation(e)) throw keyTaken('plan', params.key);
    throw e;
  }
}

/**
 * Updates a plan. `prices` and `entitlements`, when given, replace the current version's; if the
 * result differs from the current version, version n+1 is written and becomes current (an
 * identical resubmission changes nothing). The plan row is locked first so two concurrent edits
 * make versions n+1 and n+2, never two n+1.
 */
export async function updatePlan(ctx: Ctx, id: string, params: UpdatePlanParams): Promise<PlanDetail> {
  if (params.key !== undefined) checkKey(params.key);
  const metadata = params.metadata === undefined ? undefined : checkMetadata(params.metadata);
  try {
    return await ctx.deps.database.db.transaction(async (tx) => {
      const [locked] = await tx.select().from(plans).where(and(eq(plans.workspaceId, ctx.workspaceId), eq(plans.id, id))).for('update');
      if (!locked) throw notFound('plan', id);
      const plan = locked as Plan;
      const before = await loadPlanDetail(tx, ctx.workspaceId, plan);
      const termsGiven = params.prices !== undefined || params.entitlements !== undefined;
      const willBeArchived = (params.status ?? plan.status) === 'archived';
      if (termsGiven && willBeArchived) {
        throw new AppError({ code: 'state_conflict', message: `Plan ${id} is archived; reactivate it (status: "active") to change its prices or entitlements.`, param: params.prices !== undefined ? 'prices' : 'entitlements' });
      }
      if (params.key !== undefined && params.key !== plan.key && (await repo.findPlanByKey(tx, ctx.workspaceId, params.key))) throw keyTaken('plan', params.key);

      let currentVersion = plan.currentVersion;
      let newVersionId: string | null = null;
      if (termsGiven) {
        const refs = await resolveRefs(tx, ctx.workspaceId, params.prices, params.entitlements);
        const currentPrices = before.version.prices.map(priceSpecOf);
        const currentEnts = byFeature(before.version.entitlements.map(entitlementSpecOf));
        const prices = params.prices === undefined ? currentPrices : normalizePrices(params.prices, { currency: plan.currency, metric: refs.metric }).map(priceSpecOf);
        const ents = params.entitlements === undefined ? currentEnts : byFeature(normalizeEntitlements(params.entitlements, refs).map(entitlementSpecOf));
        if (!sameSpecs(prices, currentPrices) || !sameSpecs(ents, currentEnts)) {
          currentVersion = plan.currentVersion + 1;
          newVersionId = await writeVersion(tx, ctx, plan.id, currentVersion, prices, ents);
        }
      }
      const patch = {
        key: params.key ?? plan.key,
        name: params.name ?? plan.name,
        description: params.description === undefined ? plan.description : params.description,
        motion: params.motion ?? plan.motion,
        visibility: params.visibility ?? plan.visibility,
        status: params.status ?? plan.status,
        trialDays: params.trial_days ?? plan.trialDays,
        metadata: metadata ?? plan.metadata,
        currentVersion,
      };
      const unchanged = (Object.keys(patch) as Array<keyof typeof patch>).every((k) => JSON.stringify(patch[k]) === JSON.stringify(plan[k]));
      if (unchanged) return before; // nothing to write, nothing to audit
      const updated = await repo.updatePlan(tx, ctx.workspaceId, id, { ...patch, updatedAt: ctx.asOf });
      const after = await loadPlanDetail(tx, ctx.workspaceId, updated);
      if (newVersionId) {
        await recordAudit(tx, ctx, {
          action: 'plan_version.created',
          entityType: 'plan_version',
          entityId: newVersionId,
          before: { plan: id, version: before.version.version, plan_version_id: before.version.id },
          after: { plan: id, version: currentVersion, plan_version_id: newVersionId },
        });
      }
      const action = updated.status !== plan.status ? (updated.status === 'archived' ? 'plan.archived' : 'plan.unarchived') : 'plan.updated';
      await recordAudit(tx, ctx, { action, entityType: 'plan', entityId: id, before: snapshot(before), after: snapshot(after) });
      await publish(tx, ctx, action, { plan: id, key: updated.key, version: currentVersion, plan_version: after.version.id, previous_version: newVersionId ? before.version.version : null });
      return after;
    });
  } catch (e) {
    if (isUniqueViolation(e)) throw keyTaken('plan', params.key ?? id);
    throw e;
  }
}

export const archivePlan = (ctx: Ctx, id: string) => updatePlan(ctx, id, { status: 'archived' });

export async function retrievePlan(ctx: Ctx, id: string, version?: number): Promise<PlanDetail> {
  const db = ctx.deps.database.db;
  const plan = await repo.findPlan(db, ctx.workspaceId, id);
  if (!plan) throw notFound('plan', id);
  return loadPlanDetail(db, ctx.workspaceId, plan, version);
}

/** A page of plans (limit + 1 rows, for `has_more`), each with its current version, in five queries. */
export async function listPlans(ctx: Ctx, q: PlanListParams): Promise<PlanDetail[]> {
  const db = ctx.deps.database.db;
  const rows = await repo.listPlans(db, ctx.workspaceId, q);
  const versions = await repo.findVersions(db, ctx.workspaceId, rows.map((p) => ({ planId: p.id, version: p.currentVersion })));
  const headers = await repo.listVersionHeaders(db, ctx.workspaceId, rows.map((p) => p.id));
  return rows.map((plan) => ({
    plan,
    version: versions.find((v) => v.planId === plan.id)!,
    versions: headers.filter((h) => h.planId === plan.id).map((h) => ({ id: h.id, version: h.version, createdAt: h.createdAt })),
  }));
}

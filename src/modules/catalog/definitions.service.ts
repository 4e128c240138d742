import type { Ctx } from '../../context.ts';
import { AppError, notFound } from '../../kernel/errors.ts';
import { newId } from '../../kernel/ids.ts';
import { backfillMetricRollups } from '../metering/index.ts';
import { recordAudit } from '../workspaces/index.ts';
import * as repo from './catalog.repo.ts';
import { isUniqueViolation } from './catalog.service.ts';
import type { BillableMetric, Feature } from './catalog.ts';
import type { CreateFeatureParams, CreateMetricParams, PageParams } from './catalog.params.ts';
import { checkKey, normalizeMetric } from './catalog.validate.ts';

/**
 * Features and billable metrics: workspace-wide definitions that plan versions refer to.
 * Neither is editable in its defining fields once created — a metric whose aggregation changed
 * would silently reprice every usage price built on it; make a new metric instead.
 */

const keyTaken = (kind: string, key: string) => new AppError({ code: 'key_taken', message: `A ${kind} with key '${key}' already exists.`, param: 'key' });

export async function createFeature(ctx: Ctx, params: CreateFeatureParams): Promise<Feature> {
  checkKey(params.key);
  try {
    return await ctx.deps.database.db.transaction(async (tx) => {
      if ((await repo.findFeaturesByKeys(tx, ctx.workspaceId, [params.key])).length > 0) throw keyTaken('feature', params.key);
      const feature = await repo.insertFeature(tx, {
        id: newId('feat'),
        workspaceId: ctx.workspaceId,
        key: params.key,
        name: params.name,
        description: params.description ?? null,
        type: params.type,
        createdAt: ctx.asOf,
      });
      await recordAudit(tx, ctx, { action: 'feature.created', entityType: 'feature', entityId: feature.id, after: feature });
      return feature;
    });
  } catch (e) {
    if (isUniqueViolation(e)) throw keyTaken('feature', params.key);
    throw e;
  }
}

export async function retrieveFeature(ctx: Ctx, id: string): Promise<Feature> {
  const f = await repo.findFeature(ctx.deps.database.db, ctx.workspaceId, id);
  if (!f) throw notFound('feature', id);
  return f;
}

export const listFeatures = (ctx: Ctx, page: PageParams) => repo.listFeatures(ctx.deps.database.db, ctx.workspaceId, page);

export async function createMetric(ctx: Ctx, params: CreateMetricParams): Promise<BillableMetric> {
  const { property, filters } = normalizeMetric(params);
  try {
    return await ctx.deps.database.db.transaction(async (tx) => {
      if ((await repo.findMetricsByRefs(tx, ctx.workspaceId, [params.key])).some((m) => m.key === params.key)) throw keyTaken('billable metric', params.key);
      const metric: BillableMetric = {
        id: newId('bm'),
        workspaceId: ctx.workspaceId,
        key: params.key,
        name: params.name,
        description: params.description ?? null,
        eventName: params.event_name,
        aggregation: params.aggregation,
        property,
        filters,
        createdAt: ctx.asOf,
      };
      await repo.insertMetric(tx, metric);
      // Events already stored for this metric enter its usage rollups with it (same transaction).
      await backfillMetricRollups(tx, ctx.workspaceId, metric.id);
      await recordAudit(tx, ctx, { action: 'billable_metric.created', entityType: 'billable_metric', entityId: metric.id, after: metric });
      return metric;
    });
  } catch (e) {
    if (isUniqueViolation(e)) throw keyTaken('billable metric', params.key);
    throw e;
  }
}

export async function retrieveMetric(ctx: Ctx, id: string): Promise<BillableMetric> {
  const m = await repo.findMetric(ctx.deps.database.db, ctx.workspaceId, id);
  if (!m) throw notFound('billable metric', id);
  return m;
}

export const listMetrics = (ctx: Ctx, page: PageParams) => repo.listMetrics(ctx.deps.database.db, ctx.workspaceId, page);

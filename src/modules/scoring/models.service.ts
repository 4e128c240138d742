/**
 * Scoring models as versioned configuration. A workspace gets the default model (PRODUCT.md's)
 * as version 1 the first time scoring is used. A version is a draft until it is activated or put
 * in shadow; from then on its config never changes. Activating archives the previous active
 * version and recomputes every account; a shadow version is scored beside the active one (same
 * events, own scores and history) but never routes anything.
 */
import { sql } from 'drizzle-orm';
import type { Ctx, Db } from '../../context.ts';
import { enqueue } from '../../jobs/queue.ts';
import { AppError, notFound } from '../../kernel/errors.ts';
import { newId } from '../../kernel/ids.ts';
import { execIn, execOn } from '../events/index.ts';
import { recordAudit } from '../workspaces/index.ts';
import { armScoring, startSweep } from './schedule.ts';
import * as repo from './scoring.repo.ts';
import { DEFAULT_MODEL, DEFAULT_MODEL_NAME, modelProblems, ModelConfigSchema, type ModelConfig, type ModelConfigInput, type ScoringModel } from './scoring.ts';

export function modelView(m: ScoringModel) {
  return { id: m.id, version: m.version, name: m.name, description: m.description, status: m.status, created_at: m.createdAt.toISOString(), activated_at: m.activatedAt?.toISOString() ?? null };
}

/** Parses and checks a config; every problem is reported with its path. */
export function validateConfig(input: unknown, param = 'config'): ModelConfig {
  const parsed = ModelConfigSchema.safeParse(input);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    const path = [param, ...first.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))].join('').replace(/\.\[/g, '[');
    throw new AppError({ code: 'parameter_invalid', message: `${path}: ${first.message}`, param: path });
  }
  const problems = modelProblems(parsed.data);
  if (problems.length) {
    throw new AppError({ code: 'parameter_invalid', message: problems.map((p) => `${param}.${p.path}: ${p.message}`).join('; '), param: `${param}.${problems[0].path}` });
  }
  return parsed.data;
}

/**
 * The running models (active first, then shadow), creating the default model on first use.
 * Safe under concurrency: the unique indexes make a second creation a no-op.
 */
export async function ensureModels(ctx: Ctx): Promise<ScoringModel[]> {
  const exec = execOn(ctx.deps.database);
  const running = await repo.runningModels(exec, ctx.workspaceId);
  if (running.some((m) => m.status === 'active')) return running;
  await ctx.deps.database.db.transaction(async (tx) => {
    const t = execIn(tx);
    const version = (await repo.maxVersion(t, ctx.workspaceId)) + 1;
    const model: ScoringModel = {
      id: newId('smod'),
      workspaceId: ctx.workspaceId,
      version,
      name: DEFAULT_MODEL_NAME,
      description: 'PQL = 40% usage + 35% fit + 25% behavior; > 70 Sales Assist; > 90 with enterprise fit Enterprise.',
      status: 'active',
      config: DEFAULT_MODEL,
      createdAt: ctx.asOf,
      activatedAt: ctx.asOf,
      archivedAt: null,
    };
    if (await repo.insertModel(t, model)) {
      await recordAudit(tx, { ...ctx, actor: { type: 'system', id: 'scoring.default_model' } }, { action: 'scoring_model.created', entityType: 'scoring_model', entityId: model.id, after: modelView(model) });
      await armScoring(tx, ctx);
      await startSweep(tx, ctx);
    }
  });
  return repo.runningModels(exec, ctx.workspaceId);
}

export async function listModels(ctx: Ctx, q: { limit: number; startingAfter?: string }): Promise<ScoringModel[]> {
  await ensureModels(ctx);
  return repo.listModels(execOn(ctx.deps.database), ctx.workspaceId, q);
}

export async function getModel(ctx: Ctx, id: string): Promise<ScoringModel> {
  const m = await repo.findModel(execOn(ctx.deps.database), ctx.workspaceId, id);
  if (!m) throw notFound('scoring model', id);
  return m;
}

async function recomputeSoon(tx: Db, ctx: Ctx, model: ScoringModel): Promise<void> {
  await enqueue(tx, { workspaceId: ctx.workspaceId, kind: 'scoring.recompute', runAt: ctx.asOf, payload: { reason: `model ${model.id} ${model.status}` }, dedupeKey: `scoring.recompute:${model.id}:${model.status}:${ctx.asOf.toISOString()}` });
}

/** Archives the current holder of `status` ('active' or 'shadow') so `model` can take it. */
async function vacate(tx: Db, ctx: Ctx, status: 'active' | 'shadow', except: string): Promise<void> {
  const t = execIn(tx);
  for (const m of await repo.runningModels(t, ctx.workspaceId)) {
    if (m.status !== status || m.id === except) continue;
    const after = await repo.updateModel(t, ctx.workspaceId, m.id, { status: 'archived', archivedAt: ctx.asOf });
    await recordAudit(tx, ctx, { action: 'scoring_model.archived', entityType: 'scoring_model', entityId: m.id, before: modelView(m), after: modelView(after) });
  }
}

export interface CreateModelInput {
  name: string;
  description?: string | null;
  config: ModelConfigInput;
  activate?: boolean;
  shadow?: boolean;
}

export async function createModel(ctx: Ctx, input: CreateModelInput): Promise<ScoringModel> {
  const config = validateConfig(input.config);
  if (input.activate && input.shadow) throw new AppError({ code: 'parameter_invalid', message: 'A model is either activated or run in shadow, not both.', param: 'shadow' });
  await ensureModels(ctx);
  return ctx.deps.database.db.transaction(async (tx) => {
    const t = execIn(tx);
    await tx.execute(lockModels(ctx.workspaceId));
    const status = input.activate ? 'active' : input.shadow ? 'shadow' : 'draft';
    if (status !== 'draft') await vacate(tx, ctx, status, '');
    const model: ScoringModel = {
      id: newId('smod'),
      workspaceId: ctx.workspaceId,
      version: (await repo.maxVersion(t, ctx.workspaceId)) + 1,
      name: input.name,
      description: input.description ?? null,
      status,
      config,
      createdAt: ctx.asOf,
      activatedAt: status === 'active' ? ctx.asOf : null,
      archivedAt: null,
    };
    await repo.insertModel(t, model);
    await recordAudit(tx, ctx, { action: 'scoring_model.created', entityType: 'scoring_model', entityId: model.id, after: { ...modelView(model), config } });
    if (status !== 'draft') await recomputeSoon(tx, ctx, model);
    return model;
  });
}

/** Drafts change freely; `shadow` moves a draft or archived version into shadow (or a shadow one out). Config of a non-draft: 409. */
export async function updateModel(ctx: Ctx, id: string, input: { name?: string; description?: string | null; config?: ModelConfigInput; shadow?: boolean }): Promise<ScoringModel> {
  const config = input.config === undefined ? undefined : validateConfig(input.config);
  return ctx.deps.database.db.transaction(async (tx) => {
    const t = execIn(tx);
    await tx.execute(lockModels(ctx.workspaceId));
    const before = await repo.findModel(t, ctx.workspaceId, id, true);
    if (!before) throw notFound('scoring model', id);
    if (config && before.status !== 'draft') {
      throw new AppError({ code: 'scoring_model_immutable', message: `Scoring model ${id} (version ${before.version}) is ${before.status}; its config never changes. Create a new version instead.`, param: 'config' });
    }
    let status = before.status;
    if (input.shadow === true && before.status !== 'shadow') {
      if (before.status === 'active') throw new AppError({ code: 'state_conflict', message: `Scoring model ${id} is the active model; it cannot also run in shadow.`, param: 'shadow' });
      await vacate(tx, ctx, 'shadow', id);
      status = 'shadow';
    } else if (input.shadow === false && before.status === 'shadow') {
      status = 'archived';
    }
    const after = await repo.updateModel(t, ctx.workspaceId, id, {
      name: input.name,
      description: input.description,
      config,
      status,
      archivedAt: status === 'archived' && before.status !== 'archived' ? ctx.asOf : undefined,
    });
    await recordAudit(tx, ctx, { action: 'scoring_model.updated', entityType: 'scoring_model', entityId: id, before: { ...modelView(before), config: before.config }, after: { ...modelView(after), config: after.config } });
    if (status === 'shadow' && before.status !== 'shadow') await recomputeSoon(tx, ctx, after);
    return after;
  });
}

/** Makes a version the active one (the previous active version is archived) and recomputes every account under it. */
export async function activateModel(ctx: Ctx, id: string): Promise<ScoringModel> {
  await ensureModels(ctx);
  return ctx.deps.database.db.transaction(async (tx) => {
    const t = execIn(tx);
    await tx.execute(lockModels(ctx.workspaceId));
    const before = await repo.findModel(t, ctx.workspaceId, id, true);
    if (!before) throw notFound('scoring model', id);
    if (before.status === 'active') return before;
    await vacate(tx, ctx, 'active', id);
    const after = await repo.updateModel(t, ctx.workspaceId, id, { status: 'active', activatedAt: ctx.asOf, archivedAt: null });
    await recordAudit(tx, ctx, { action: 'scoring_model.activated', entityType: 'scoring_model', entityId: id, before: modelView(before), after: modelView(after) });
    await recomputeSoon(tx, ctx, after);
    return after;
  });
}

/** Serialises model changes within a workspace (version numbers, one active, one shadow). */
const lockModels = (workspaceId: string) => sql`SELECT pg_advisory_xact_lock(hashtext(${`scoring_models:${workspaceId}`}))`;

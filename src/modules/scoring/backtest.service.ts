/**
 * Backtests: how well would a model version have predicted real conversions?
 *
 * Point-in-time replay: at each cutoff D (from `from` to `to`, every `step_days`) every account
 * that existed before D is scored with the events whose timestamp < D and the firmographics known
 * before D (the same set-based query as live scoring, with asOf = D: nothing after D can leak in),
 * then labelled by whether an outcome happened in [D, D + horizon). An account that already became
 * paying before D is left out of that cutoff when the only outcome is becoming paying.
 * The report: precision and recall at the model's thresholds, AUC, lift by decile, calibration;
 * two versions side by side when two are given.
 */
import type { Ctx } from '../../context.ts';
import { toDate } from '../../db/sql.ts';
import { enqueue } from '../../jobs/queue.ts';
import { DAY_MS } from '../../kernel/dates.ts';
import { AppError, notFound } from '../../kernel/errors.ts';
import { newId } from '../../kernel/ids.ts';
import { execIn, execOn } from '../events/index.ts';
import { recordAudit } from '../workspaces/index.ts';
import { accuracyReport, type AccuracyReport, type Observation } from './compute/metrics.ts';
import { aggregateSpecs, evaluate } from './compute/score.ts';
import { refreshFirmographics } from './firmographics.service.ts';
import { ensureModels } from './models.service.ts';
import { loadOutcomes, OUTCOMES, type Outcome } from './outcomes.ts';
import * as repo from './scoring.repo.ts';
import { measureBulk } from './scoring.sql.ts';
import { EMPTY_FIRMOGRAPHICS, type ScoringModel } from './scoring.ts';

export const MAX_CUTOFFS = 200;

export interface BacktestParams {
  from: Date;
  to: Date;
  stepDays: number;
  horizonDays: number;
  outcomes: Outcome[];
  modelIds: string[];
  includeObservations: boolean;
}

export interface Backtest {
  id: string;
  status: 'pending' | 'running' | 'succeeded' | 'failed';
  params: Record<string, unknown>;
  report: Record<string, unknown> | null;
  error: string | null;
  createdAt: Date;
  completedAt: Date | null;
}

export function cutoffs(p: Pick<BacktestParams, 'from' | 'to' | 'stepDays'>): Date[] {
  const out: Date[] = [];
  for (let t = p.from.getTime(); t <= p.to.getTime(); t += p.stepDays * DAY_MS) out.push(new Date(t));
  return out;
}

function paramsJson(p: BacktestParams) {
  return { from: p.from.toISOString(), to: p.to.toISOString(), step_days: p.stepDays, horizon_days: p.horizonDays, outcomes: p.outcomes, models: p.modelIds, include_observations: p.includeObservations };
}

function backtestFrom(r: Record<string, unknown>): Backtest {
  const j = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v);
  return {
    id: r.id as string,
    status: r.status as Backtest['status'],
    params: j(r.params) as Record<string, unknown>,
    report: (j(r.report) as Record<string, unknown> | null) ?? null,
    error: (r.error as string | null) ?? null,
    createdAt: toDate(r.created_at),
    completedAt: r.completed_at ? toDate(r.completed_at) : null,
  };
}

export async function createBacktest(ctx: Ctx, input: Omit<BacktestParams, 'modelIds'> & { modelIds?: string[] }): Promise<Backtest> {
  if (input.from.getTime() > input.to.getTime()) throw new AppError({ code: 'parameter_invalid', message: "'from' must not be after 'to'.", param: 'from' });
  const labelsEnd = input.to.getTime() + input.horizonDays * DAY_MS;
  if (labelsEnd > ctx.asOf.getTime()) {
    throw new AppError({ code: 'parameter_invalid', message: `Outcomes are known until now (${ctx.asOf.toISOString()}); 'to' + horizon (${new Date(labelsEnd).toISOString()}) must not be later.`, param: 'to' });
  }
  if (cutoffs({ ...input }).length > MAX_CUTOFFS) throw new AppError({ code: 'parameter_invalid', message: `At most ${MAX_CUTOFFS} cutoffs: widen step_days or narrow the range.`, param: 'step_days' });
  const running = await ensureModels(ctx);
  const exec = execOn(ctx.deps.database);
  const modelIds = input.modelIds?.length ? input.modelIds : running.map((m) => m.id);
  if (modelIds.length > 2) throw new AppError({ code: 'parameter_invalid', message: 'Compare at most two model versions.', param: 'models' });
  for (const id of modelIds) if (!(await repo.findModel(exec, ctx.workspaceId, id))) throw notFound('scoring model', id, 'models');
  const params: BacktestParams = { ...input, modelIds };
  const id = newId('sbt');
  return ctx.deps.database.db.transaction(async (tx) => {
    const [row] = await execIn(tx)(
      `INSERT INTO scoring_backtests (id, workspace_id, status, params, created_at) VALUES ($1, $2, 'pending', $3::jsonb, $4::timestamptz) RETURNING *`,
      [id, ctx.workspaceId, JSON.stringify(paramsJson(params)), ctx.asOf.toISOString()],
    );
    await enqueue(tx, { workspaceId: ctx.workspaceId, kind: 'scoring.backtest', runAt: ctx.asOf, payload: { backtest_id: id }, dedupeKey: `scoring.backtest:${id}`, maxAttempts: 1 });
    await recordAudit(tx, ctx, { action: 'scoring_backtest.created', entityType: 'scoring_backtest', entityId: id, after: paramsJson(params) });
    return backtestFrom(row);
  });
}

export async function getBacktest(ctx: Ctx, id: string): Promise<Backtest> {
  const [r] = await execOn(ctx.deps.database)('SELECT * FROM scoring_backtests WHERE workspace_id = $1 AND id = $2', [ctx.workspaceId, id]);
  if (!r) throw notFound('backtest', id);
  return backtestFrom(r);
}

async function setBacktest(ctx: Ctx, id: string, patch: { status: Backtest['status']; report?: unknown; error?: string }) {
  await execOn(ctx.deps.database)(
    `UPDATE scoring_backtests SET status = $3, report = coalesce($4::jsonb, report), error = $5, completed_at = CASE WHEN $3 IN ('succeeded', 'failed') THEN $6::timestamptz END
     WHERE workspace_id = $1 AND id = $2`,
    [ctx.workspaceId, id, patch.status, patch.report === undefined ? null : JSON.stringify(patch.report), patch.error ?? null, ctx.asOf.toISOString()],
  );
}

/** The job: runs the replay and stores the report (or the failure). */
export async function runBacktest(ctx: Ctx, id: string): Promise<void> {
  const bt = await getBacktest(ctx, id);
  if (bt.status !== 'pending') return;
  await setBacktest(ctx, id, { status: 'running' });
  try {
    const p = bt.params as { from: string; to: string; step_days: number; horizon_days: number; outcomes: Outcome[]; models: string[]; include_observations: boolean };
    const report = await replay(ctx, {
      from: new Date(p.from),
      to: new Date(p.to),
      stepDays: p.step_days,
      horizonDays: p.horizon_days,
      outcomes: p.outcomes,
      modelIds: p.models,
      includeObservations: p.include_observations,
    });
    await setBacktest(ctx, id, { status: 'succeeded', report });
  } catch (e) {
    await setBacktest(ctx, id, { status: 'failed', error: e instanceof Error ? e.message : String(e) });
  }
}

export interface ModelReport extends AccuracyReport {
  model: { id: string; version: number; name: string; status: string };
  observations_list?: Array<{ account: string; cutoff: string; score: number; label: boolean }>;
}

export async function replay(ctx: Ctx, p: BacktestParams) {
  const exec = execOn(ctx.deps.database);
  const models: ScoringModel[] = [];
  for (const id of p.modelIds) models.push((await repo.findModel(exec, ctx.workspaceId, id))!);
  // Accounts never enriched get their firmographics recorded now; used only where nothing older is known.
  const { facts } = await refreshFirmographics(ctx);
  const outcomes = await loadOutcomes(ctx, p.outcomes);
  const horizon = p.horizonDays * DAY_MS;
  const onlyPaying = p.outcomes.length === 1 && p.outcomes[0] === 'became_paying';
  const perModel = models.map(() => ({ obs: [] as Observation[], list: [] as Array<{ account: string; cutoff: string; score: number; label: boolean }> }));
  const points = cutoffs(p);
  for (const cutoff of points) {
    const t = cutoff.getTime();
    const cohort = facts.filter((f) => {
      if (f.createdAt.getTime() >= t) return false;
      const firstPaid = outcomes.get(f.id)?.find((o) => o.kind === 'became_paying');
      return !(onlyPaying && firstPaid && firstPaid.at.getTime() < t);
    });
    if (cohort.length === 0) continue;
    const firmographics = await repo.firmographicsAsOf(exec, ctx.workspaceId, cutoff);
    const labels = new Map(cohort.map((f) => [f.id, (outcomes.get(f.id) ?? []).some((o) => o.at.getTime() >= t && o.at.getTime() < t + horizon)]));
    for (const [i, model] of models.entries()) {
      const aggs = await measureBulk(ctx.deps.database.db, { workspaceId: ctx.workspaceId, asOf: cutoff, specs: aggregateSpecs(model.config) });
      for (const f of cohort) {
        const r = evaluate(model.config, { aggregates: aggs.get(f.id) ?? {}, firmographics: firmographics.get(f.id) ?? EMPTY_FIRMOGRAPHICS });
        const label = labels.get(f.id)!;
        perModel[i].obs.push({ score: r.total, label });
        if (p.includeObservations) perModel[i].list.push({ account: f.id, cutoff: cutoff.toISOString(), score: r.total, label });
      }
    }
  }
  const reports: ModelReport[] = models.map((m, i) => ({
    model: { id: m.id, version: m.version, name: m.name, status: m.status },
    ...accuracyReport(perModel[i].obs, [m.config.thresholds.sales_assist, m.config.thresholds.enterprise]),
    ...(p.includeObservations ? { observations_list: perModel[i].list } : {}),
  }));
  const counts = Object.fromEntries(OUTCOMES.filter((o) => p.outcomes.includes(o)).map((o) => [o, [...outcomes.values()].reduce((n, l) => n + l.filter((e) => e.kind === o).length, 0)]));
  return {
    cutoffs: points.length,
    horizon_days: p.horizonDays,
    outcomes_found: counts,
    models: reports,
    comparison: reports.length === 2 ? compare(reports[0], reports[1]) : null,
    notes: [
      'Scores at each cutoff use only events with timestamp before the cutoff and firmographics known before it (or, when none was recorded yet, the earliest recorded).',
      'Outcome "opportunity won" is not available yet: there is no opportunities table; it joins with the hand-off module.',
    ],
  };
}

const delta = (a: number | null, b: number | null) => (a === null || b === null ? null : Math.round((b - a) * 10_000) / 10_000);

/** Side by side: the second version minus the first. */
function compare(a: ModelReport, b: ModelReport) {
  return {
    baseline: a.model.id,
    challenger: b.model.id,
    auc_delta: delta(a.auc, b.auc),
    top_decile_lift_delta: delta(a.top_decile_lift, b.top_decile_lift),
    thresholds: a.thresholds.map((t, i) => ({
      baseline_threshold: t.threshold,
      challenger_threshold: b.thresholds[i]?.threshold ?? null,
      precision_delta: delta(t.precision, b.thresholds[i]?.precision ?? null),
      recall_delta: delta(t.recall, b.thresholds[i]?.recall ?? null),
    })),
  };
}

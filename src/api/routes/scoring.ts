import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../context.ts';
import { parseInstant } from '../../kernel/dates.ts';
import { AppError } from '../../kernel/errors.ts';
import {
  activateModel,
  CATEGORIES,
  createBacktest,
  createModel,
  explainContribution,
  explainScore,
  getAccountScore,
  getBacktest,
  getModel,
  LEVELS,
  listModels,
  ModelConfigSchema,
  MODEL_STATUSES,
  OUTCOMES,
  scoreHistory,
  updateModel,
  type AccountScore,
  type Backtest,
  type ScoreSnapshot,
  type ScoringModel,
} from '../../modules/scoring/index.ts';
import { ctxOf } from '../auth.ts';
import { errorResponses, IdParam, iso, listOf, page, PageQuery, Timestamp } from '../schemas.ts';

const tags = ['Scoring'];
const Raw = z.union([z.number(), z.string(), z.array(z.string()), z.null()]);
const SubScores = z.object({ usage: z.number(), fit: z.number(), behavior: z.number() });
const ModelRef = z.object({ id: z.string(), version: z.number().int() });

const ModelSchema = z
  .object({
    id: z.string(),
    object: z.literal('scoring_model'),
    version: z.number().int(),
    name: z.string(),
    description: z.string().nullable(),
    status: z.enum(MODEL_STATUSES).describe('draft (editable) → active or shadow (immutable from then on) → archived'),
    config: z.record(z.string(), z.unknown()).describe('See ScoringModelConfig'),
    created_at: Timestamp,
    activated_at: Timestamp.nullable(),
  })
  .meta({ id: 'ScoringModel' });

const modelOut = (m: ScoringModel) => ({
  id: m.id,
  object: 'scoring_model' as const,
  version: m.version,
  name: m.name,
  description: m.description,
  status: m.status,
  config: m.config as unknown as Record<string, unknown>,
  created_at: iso(m.createdAt)!,
  activated_at: iso(m.activatedAt),
});

const SignalOut = z.object({
  key: z.string(),
  label: z.string(),
  category: z.enum(CATEGORIES),
  raw: Raw.describe('what was measured: a count, a ratio, employees, an industry, a tech stack'),
  base_points: z.number().describe('points from the bands / function, capped, before decay'),
  points: z.number(),
  max_points: z.number(),
  days_since_last: z.number().int().nullable(),
  explanation: z.string(),
});

const ScoreSchema = z
  .object({
    object: z.literal('account_score'),
    account: z.string(),
    model: ModelRef,
    score: z.number().describe('PQL, 0–100, one decimal'),
    level: z.enum(LEVELS).describe('none, sales_assist (score above the Sales Assist threshold) or enterprise (above the Enterprise threshold with enterprise fit)'),
    sub_scores: SubScores,
    weights: SubScores.describe('percent'),
    enterprise_fit: z.object({ qualified: z.boolean(), met: z.array(z.string()), employees: z.number().nullable(), teams: z.number(), enterprise_feature_events: z.number(), procurement_events: z.number() }),
    disqualified_by: z.string().nullable(),
    signals: z.array(SignalOut),
    explanation: z.object({ summary: z.string(), top_contributors: z.array(z.string()), held_back_by: z.array(z.string()) }),
    computed_at: Timestamp,
    changed_at: Timestamp,
    shadow: z.object({ model: ModelRef, score: z.number(), level: z.enum(LEVELS), sub_scores: SubScores }).nullable().describe('the shadow model version scored beside the active one'),
  })
  .meta({ id: 'AccountScore' });

function scoreOut(model: ScoringModel, s: AccountScore, shadow: { model: ScoringModel; score: AccountScore } | null) {
  const byKey = new Map(model.config.signals.map((x) => [x.key, x]));
  const ex = explainScore(model.config, s);
  return {
    object: 'account_score' as const,
    account: s.accountId,
    model: { id: model.id, version: model.version },
    score: s.total,
    level: s.level,
    sub_scores: { usage: s.usage, fit: s.fit, behavior: s.behavior },
    weights: model.config.weights,
    enterprise_fit: { qualified: s.enterpriseFit, met: s.indicators.met, employees: s.indicators.employees, teams: s.indicators.teams, enterprise_feature_events: s.indicators.enterprise_feature_events, procurement_events: s.indicators.procurement_events },
    disqualified_by: s.disqualifiedBy,
    signals: s.contributions
      .filter((c) => byKey.has(c.key))
      .map((c) => {
        const sig = byKey.get(c.key)!;
        return { key: c.key, label: sig.label, category: c.category, raw: c.raw, base_points: c.base, points: c.points, max_points: sig.max_points, days_since_last: c.days_since_last, explanation: explainContribution(sig, c) };
      }),
    explanation: ex,
    computed_at: iso(s.computedAt)!,
    changed_at: iso(s.changedAt)!,
    shadow: shadow ? { model: { id: shadow.model.id, version: shadow.model.version }, score: shadow.score.total, level: shadow.score.level, sub_scores: { usage: shadow.score.usage, fit: shadow.score.fit, behavior: shadow.score.behavior } } : null,
  };
}

const SnapshotSchema = z
  .object({
    id: z.string(),
    object: z.literal('score_snapshot'),
    account: z.string(),
    model: ModelRef,
    score: z.number(),
    level: z.enum(LEVELS),
    sub_scores: SubScores,
    enterprise_fit: z.boolean(),
    disqualified_by: z.string().nullable(),
    signals: z.array(z.object({ key: z.string(), category: z.enum(CATEGORIES), raw: Raw, points: z.number() })),
    reason: z.enum(['signup', 'event', 'recompute', 'firmographics', 'read']),
    computed_at: Timestamp,
  })
  .meta({ id: 'ScoreSnapshot' });

const snapshotOut = (s: ScoreSnapshot) => ({
  id: s.id,
  object: 'score_snapshot' as const,
  account: s.accountId,
  model: { id: s.modelId, version: s.modelVersion },
  score: s.total,
  level: s.level,
  sub_scores: { usage: s.usage, fit: s.fit, behavior: s.behavior },
  enterprise_fit: s.enterpriseFit,
  disqualified_by: s.disqualifiedBy,
  signals: s.contributions.map((c) => ({ key: c.key, category: c.category, raw: c.raw, points: c.points })),
  reason: s.reason,
  computed_at: iso(s.computedAt)!,
});

const BacktestSchema = z
  .object({
    id: z.string(),
    object: z.literal('scoring_backtest'),
    status: z.enum(['pending', 'running', 'succeeded', 'failed']),
    params: z.record(z.string(), z.unknown()),
    report: z.record(z.string(), z.unknown()).nullable().describe('per model: precision/recall at the thresholds, AUC, lift by decile, calibration; comparison when two'),
    error: z.string().nullable(),
    created_at: Timestamp,
    completed_at: Timestamp.nullable(),
  })
  .meta({ id: 'ScoringBacktest' });

const backtestOut = (b: Backtest) => ({ id: b.id, object: 'scoring_backtest' as const, status: b.status, params: b.params, report: b.report, error: b.error, created_at: iso(b.createdAt)!, completed_at: iso(b.completedAt) });

const instant = (v: string, param: string) => {
  const d = parseInstant(v);
  if (!d) throw new AppError({ code: 'parameter_invalid', message: `'${param}' must be an ISO 8601 instant such as 2026-01-01T00:00:00Z; got '${v}'.`, param });
  return d;
};

export function scoringRoutes(app: FastifyInstance, deps: Deps) {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get('/v1/scoring/models', { schema: { tags, summary: 'List scoring model versions, newest first (the default model is created on first use)', querystring: PageQuery, response: { 200: listOf(ModelSchema), ...errorResponses } } }, async (request) => {
    const rows = await listModels(ctxOf(deps, request), { limit: request.query.limit, startingAfter: request.query.starting_after });
    return page(rows, request.query.limit, modelOut);
  });

  r.post(
    '/v1/scoring/models',
    {
      schema: {
        tags,
        summary: 'Create a scoring model version (a draft unless activated or run in shadow)',
        body: z.object({ name: z.string().min(1).max(200), description: z.string().max(2000).nullish(), config: ModelConfigSchema, activate: z.boolean().optional(), shadow: z.boolean().optional() }),
        response: { 200: ModelSchema, ...errorResponses },
      },
    },
    async (request) => {
      const b = request.body;
      return modelOut(await createModel(ctxOf(deps, request), { name: b.name, description: b.description, config: b.config, activate: b.activate, shadow: b.shadow }));
    },
  );

  r.get('/v1/scoring/models/:id', { schema: { tags, summary: 'A scoring model version with its config', params: IdParam, response: { 200: ModelSchema, ...errorResponses } } }, async (request) =>
    modelOut(await getModel(ctxOf(deps, request), request.params.id)),
  );

  r.post(
    '/v1/scoring/models/:id',
    {
      schema: {
        tags,
        summary: 'Update a draft; or move a version into shadow (shadow: true) or out of it (false)',
        params: IdParam,
        body: z.object({ name: z.string().min(1).max(200).optional(), description: z.string().max(2000).nullish(), config: ModelConfigSchema.optional(), shadow: z.boolean().optional() }),
        response: { 200: ModelSchema, ...errorResponses },
      },
    },
    async (request) => {
      const b = request.body;
      return modelOut(await updateModel(ctxOf(deps, request), request.params.id, { name: b.name, description: b.description, config: b.config, shadow: b.shadow }));
    },
  );

  r.post('/v1/scoring/models/:id/activate', { schema: { tags, summary: 'Make this version the active model (the previous one is archived; every account is rescored)', params: IdParam, response: { 200: ModelSchema, ...errorResponses } } }, async (request) =>
    modelOut(await activateModel(ctxOf(deps, request), request.params.id)),
  );

  r.get('/v1/accounts/:id/score', { schema: { tags, summary: "The account's PQL score with its breakdown and a plain-language explanation", params: IdParam, response: { 200: ScoreSchema, ...errorResponses } } }, async (request) => {
    const v = await getAccountScore(ctxOf(deps, request), request.params.id);
    return scoreOut(v.model, v.score, v.shadow);
  });

  r.get(
    '/v1/accounts/:id/score/history',
    {
      schema: {
        tags,
        summary: "How the account's score changed, newest first (a snapshot each time its points changed)",
        params: IdParam,
        querystring: PageQuery.extend({ model: z.string().optional().describe('a model version id; default: the active one') }),
        response: { 200: listOf(SnapshotSchema), ...errorResponses },
      },
    },
    async (request) => {
      const q = request.query;
      const h = await scoreHistory(ctxOf(deps, request), request.params.id, { limit: q.limit, startingAfter: q.starting_after, modelId: q.model });
      return page(h.snapshots, q.limit, snapshotOut);
    },
  );

  r.post(
    '/v1/scoring/backtests',
    {
      schema: {
        tags,
        summary: 'Backtest model versions against real conversions (runs as a job; poll GET /v1/scoring/backtests/{id})',
        body: z.object({
          from: z.string().describe('first cutoff (ISO 8601)'),
          to: z.string().describe('last cutoff; to + horizon must be in the past'),
          step_days: z.number().int().min(1).max(365).default(7),
          horizon_days: z.number().int().min(1).max(365).default(30),
          outcomes: z.array(z.enum(OUTCOMES)).min(1).default([...OUTCOMES]),
          models: z.array(z.string()).max(2).optional().describe('one or two model version ids; default: the active (and shadow) version'),
          include_observations: z.boolean().default(false),
        }),
        response: { 200: BacktestSchema, ...errorResponses },
      },
    },
    async (request) => {
      const b = request.body;
      const bt = await createBacktest(ctxOf(deps, request), {
        from: instant(b.from, 'from'),
        to: instant(b.to, 'to'),
        stepDays: b.step_days,
        horizonDays: b.horizon_days,
        outcomes: [...new Set(b.outcomes)],
        modelIds: b.models,
        includeObservations: b.include_observations,
      });
      return backtestOut(bt);
    },
  );

  r.get('/v1/scoring/backtests/:id', { schema: { tags, summary: 'A backtest: status and, once done, its report', params: IdParam, response: { 200: BacktestSchema, ...errorResponses } } }, async (request) =>
    backtestOut(await getBacktest(ctxOf(deps, request), request.params.id)),
  );
}

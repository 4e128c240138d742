/**
 * Computing and reading scores. One path for every trigger (an event, signup, the daily
 * recompute, a read): refresh firmographics → measure events set-based → evaluate (pure) →
 * write what changed. A snapshot is written only when the points changed; crossing a threshold
 * under the active model publishes `score.threshold_crossed` once per crossing.
 */
import { sql } from 'drizzle-orm';
import type { Ctx } from '../../context.ts';
import { publish } from '../../jobs/outbox.ts';
import { notFound } from '../../kernel/errors.ts';
import { newId } from '../../kernel/ids.ts';
import { getAccount } from '../accounts/index.ts';
import { execIn, execOn } from '../events/index.ts';
import { explainScore } from './compute/explain.ts';
import { aggregateSpecs, evaluate } from './compute/score.ts';
import { currentFirmographics, refreshFirmographics } from './firmographics.service.ts';
import { ensureModels } from './models.service.ts';
import * as repo from './scoring.repo.ts';
import { measureBulk } from './scoring.sql.ts';
import { EMPTY_FIRMOGRAPHICS, LEVEL_RANK, type AccountScore, type Level, type ScoreResult, type ScoreSnapshot, type ScoringModel, type SnapshotReason } from './scoring.ts';

const CHUNK = 5000;

export interface RescoreStats {
  accounts: number;
  /** Accounts with at least one event inside some window (the daily recompute re-arms while > 0). */
  withEvents: number;
  changed: number;
  snapshots: number;
  crossings: number;
}

/** Rescores these accounts (all live accounts when absent) under every running model. */
export async function rescore(ctx: Ctx, opts: { accountIds?: readonly string[]; reason: SnapshotReason }): Promise<RescoreStats> {
  const stats: RescoreStats = { accounts: 0, withEvents: 0, changed: 0, snapshots: 0, crossings: 0 };
  if (opts.accountIds && opts.accountIds.length === 0) return stats;
  const models = await ensureModels(ctx);
  const clock = ctx.deps.clock;
  const t0 = clock.now().getTime();
  // Events alone do not change firmographics: the per-event path re-reads them only where stale.
  const { ids, firmographics } = opts.reason === 'event' && opts.accountIds ? await currentFirmographics(ctx, opts.accountIds) : await refreshed(ctx, opts.accountIds);
  stats.accounts = ids.length;
  if (ids.length === 0) return stats;
  const phases = { firmographics_ms: clock.now().getTime() - t0, measure_ms: 0, evaluate_ms: 0, write_ms: 0 };
  for (const model of models) {
    let t = clock.now().getTime();
    const input = { workspaceId: ctx.workspaceId, asOf: ctx.asOf, specs: aggregateSpecs(model.config) };
    const aggs = await measureBulk(ctx.deps.database.db, opts.accountIds ? { ...input, accountIds: ids } : input);
    stats.withEvents = Math.max(stats.withEvents, aggs.size);
    phases.measure_ms += clock.now().getTime() - t;
    t = clock.now().getTime();
    const results = ids.map((id) => ({ accountId: id, result: evaluate(model.config, { aggregates: aggs.get(id) ?? {}, firmographics: firmographics.get(id) ?? EMPTY_FIRMOGRAPHICS }) }));
    phases.evaluate_ms += clock.now().getTime() - t;
    t = clock.now().getTime();
    for (let i = 0; i < results.length; i += CHUNK) {
      const s = await writeChunk(ctx, model, results.slice(i, i + CHUNK), opts.reason);
      stats.changed += s.changed;
      stats.snapshots += s.snapshots;
      stats.crossings += s.crossings;
    }
    phases.write_ms += clock.now().getTime() - t;
  }
  ctx.deps.log[opts.accountIds ? 'debug' : 'info']({ workspace: ctx.workspaceId, reason: opts.reason, ...stats, ...phases }, 'scoring: rescored');
  return stats;
}

async function refreshed(ctx: Ctx, accountIds?: readonly string[]) {
  const r = await refreshFirmographics(ctx, accountIds);
  return { ids: r.facts.map((f) => f.id), firmographics: r.firmographics };
}

/**
 * Writes one chunk in one transaction, against the current rows read under a per-workspace lock
 * (an event rescore and the daily recompute never interleave their writes). A row computed for a
 * later instant than ours wins: a slow full recompute never overwrites a fresher event rescore.
 */
async function writeChunk(ctx: Ctx, model: ScoringModel, chunk: Array<{ accountId: string; result: ScoreResult }>, reason: SnapshotReason) {
  return ctx.deps.database.db.transaction(async (tx) => {
    const t = execIn(tx);
    await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtext(${`scoring_scores:${ctx.workspaceId}`}))`);
    const ids = chunk.map((c) => c.accountId);
    const current = await repo.loadScoreStates(t, ctx.workspaceId, model.id, ids);
    const active = model.status === 'active';
    const prior = active ? await repo.priorLevels(t, ctx.workspaceId, ids.filter((id) => !current.has(id)), model.id) : new Map<string, Level>();
    const writes: repo.ScoreWrite[] = [];
    const snaps: repo.ScoreWrite[] = [];
    const crossings: Array<{ accountId: string; result: ScoreResult; previous: repo.ScoreState | undefined; previousLevel: Level }> = [];
    for (const { accountId, result } of chunk) {
      const cur = current.get(accountId);
      if (cur && cur.computedAt.getTime() > ctx.asOf.getTime()) continue;
      const inputsHash = repo.inputsHash(result);
      if (cur && cur.inputsHash === inputsHash) continue;
      const pointsHash = repo.pointsHash(result);
      const pointsChanged = !cur || cur.pointsHash !== pointsHash;
      const w = { accountId, result, changedAt: pointsChanged ? ctx.asOf : cur!.changedAt, pointsHash, inputsHash };
      writes.push(w);
      if (pointsChanged) snaps.push(w);
      const previousLevel: Level = cur?.level ?? prior.get(accountId) ?? 'none';
      if (active && LEVEL_RANK[result.level] > LEVEL_RANK[previousLevel]) crossings.push({ accountId, result, previous: cur, previousLevel });
    }
    await repo.upsertScores(t, { workspaceId: ctx.workspaceId, modelId: model.id, computedAt: ctx.asOf, rows: writes });
    await repo.insertSnapshots(t, { workspaceId: ctx.workspaceId, modelId: model.id, modelVersion: model.version, reason, computedAt: ctx.asOf, ids: snaps.map(() => newId('ssnap')), rows: snaps });
    for (const c of crossings) await publish(tx, ctx, 'score.threshold_crossed', crossingEvent(model, c));
    return { changed: writes.length, snapshots: snaps.length, crossings: crossings.length };
  });
}

function crossingEvent(model: ScoringModel, c: { accountId: string; result: ScoreResult; previous: repo.ScoreState | undefined; previousLevel: Level }) {
  const r = c.result;
  const explanation = explainScore(model.config, r);
  return {
    account: c.accountId,
    threshold: r.level,
    threshold_value: r.level === 'enterprise' ? model.config.thresholds.enterprise : model.config.thresholds.sales_assist,
    previous_level: c.previousLevel,
    score: r.total,
    previous_score: c.previous?.total ?? null,
    sub_scores: { usage: r.usage, fit: r.fit, behavior: r.behavior },
    enterprise_fit: r.enterpriseFit,
    enterprise_indicators: r.indicators.met,
    model: { id: model.id, version: model.version },
    summary: explanation.summary,
    top_contributors: explanation.top_contributors,
  };
}

export interface ScoreView {
  accountId: string;
  model: ScoringModel;
  score: AccountScore;
  shadow: { model: ScoringModel; score: AccountScore } | null;
}

/** The account's current score (computed now if it has none yet), with the shadow model's beside it. */
export async function getAccountScore(ctx: Ctx, id: string): Promise<ScoreView> {
  const account = await getAccount(ctx, id);
  const exec = execOn(ctx.deps.database);
  const load = async () => {
    const models = await ensureModels(ctx);
    return Promise.all(models.map(async (m) => ({ model: m, score: (await repo.loadScores(exec, ctx.workspaceId, m.id, [account.id])).get(account.id) })));
  };
  let found = await load();
  if (found.some((f) => !f.score)) {
    await rescore(ctx, { accountIds: [account.id], reason: 'read' });
    found = await load();
  }
  const active = found.find((f) => f.model.status === 'active')!;
  const shadow = found.find((f) => f.model.status === 'shadow');
  return { accountId: account.id, model: active.model, score: active.score!, shadow: shadow?.score ? { model: shadow.model, score: shadow.score } : null };
}

/** How the account's score changed over time under one model version (the active one by default), newest first. */
export async function scoreHistory(ctx: Ctx, id: string, q: { limit: number; startingAfter?: string; modelId?: string }): Promise<{ accountId: string; model: ScoringModel; snapshots: ScoreSnapshot[] }> {
  const account = await getAccount(ctx, id);
  const exec = execOn(ctx.deps.database);
  const models = await ensureModels(ctx);
  let model = models.find((m) => m.status === 'active')!;
  if (q.modelId) {
    const m = await repo.findModel(exec, ctx.workspaceId, q.modelId);
    if (!m) throw notFound('scoring model', q.modelId, 'model');
    model = m;
  }
  const snapshots = await repo.listSnapshots(exec, ctx.workspaceId, { accountId: account.id, modelId: model.id, limit: q.limit, startingAfter: q.startingAfter });
  return { accountId: account.id, model, snapshots };
}

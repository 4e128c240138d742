/**
 * Computing and reading scores. One path for every trigger (an event, signup, the daily
 * recompute, a read): refresh firmographics → measure events set-based → evaluate (pure) →
 * write what changed. A snapshot is written only when the points changed; crossing a threshold
 * under the active model publishes `score.threshold_crossed` once per crossing.
 */
import type { Ctx } from '../../context.ts';
import { publishMany } from '../../jobs/outbox.ts';
import { notFound } from '../../kernel/errors.ts';
import { newId } from '../../kernel/ids.ts';
import { getAccount } from '../accounts/index.ts';
import { execIn, execOn } from '../events/index.ts';
import { explainScore } from './compute/explain.ts';
import { aggregateSpecs, evaluate, inputsKey, pointsKey, type Aggregates } from './compute/score.ts';
import { currentFirmographics, refreshFirmographics } from './firmographics.service.ts';
import { ensureModels } from './models.service.ts';
import * as repo from './scoring.repo.ts';
import { measureAll, measureSliced } from './scoring.sql.ts';
import { EMPTY_FIRMOGRAPHICS, LEVEL_RANK, type AccountScore, type Level, type ScoreResult, type ScoreSnapshot, type ScoringModel, type SnapshotReason } from './scoring.ts';

const CHUNK = 5000;
/** Chunk writes in flight at once on PostgreSQL (the machine this is tuned on has 2 cores). */
const WRITERS = 2;
/**
 * Write-lock groups per workspace: a writer locks the groups of the accounts it writes, so the
 * full recompute's chunks (one group each) are written side by side while an event rescore
 * still never interleaves with a write of the same account.
 */
const LOCK_GROUPS = 16;

/** An account's lock group: FNV-1a of its id, mod LOCK_GROUPS (stable across processes). */
function lockGroup(accountId: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < accountId.length; i++) h = Math.imul(h ^ accountId.charCodeAt(i), 0x01000193);
  return (h >>> 0) % LOCK_GROUPS;
}

/** Account ids by lock group, in group order, keeping their order within a group. */
function groupedByLock(ids: readonly string[]): string[][] {
  const groups: string[][] = Array.from({ length: LOCK_GROUPS }, () => []);
  for (const id of ids) groups[lockGroup(id)].push(id);
  return groups.filter((g) => g.length > 0);
}

/** Splits each list into chunks of at most CHUNK, of even size (6,300 → 3,150 + 3,150, not 5,000 + 1,300). */
function* chunksOf(lists: readonly string[][]): Generator<string[]> {
  for (const list of lists) {
    const parts = Math.ceil(list.length / CHUNK);
    const size = Math.ceil(list.length / parts);
    for (let i = 0; i < list.length; i += size) yield list.slice(i, i + size);
  }
}

export interface RescoreStats {
  accounts: number;
  /** Accounts with at least one event inside some window (the daily recompute re-arms while > 0). */
  withEvents: number;
  changed: number;
  snapshots: number;
  crossings: number;
  /**
   * How long the measure kept two connections busy at once (`measureSliced`: a large batch's two
   * halves), by the process clock. The pacing counts it as time spent (register.ts `flushDirty`).
   */
  measureOverlapMs: number;
}

/** Rescores these accounts (all live accounts when absent) under every running model. */
export async function rescore(ctx: Ctx, opts: { accountIds?: readonly string[]; reason: SnapshotReason }): Promise<RescoreStats> {
  const stats: RescoreStats = { accounts: 0, withEvents: 0, changed: 0, snapshots: 0, crossings: 0, measureOverlapMs: 0 };
  if (opts.accountIds && opts.accountIds.length === 0) return stats;
  const models = await ensureModels(ctx);
  const clock = ctx.deps.clock;
  const t0 = clock.now().getTime();
  const phases = { firmographics_ms: 0, measure_ms: 0, evaluate_ms: 0, write_ms: 0 };
  const measureFor = (model: ScoringModel) => {
    const input = { workspaceId: ctx.workspaceId, asOf: ctx.asOf, specs: aggregateSpecs(model.config) };
    // The requested accounts, live or not (a few extra rows at most): the measure need not wait for the live set.
    if (!opts.accountIds) return measureAll(ctx.deps.database, input);
    return measureSliced(ctx.deps.database, { ...input, accountIds: opts.accountIds }, () => clock.now().getTime()).then((m) => {
      stats.measureOverlapMs += m.overlapMs;
      return m.aggregates;
    });
  };
  // Events alone do not change firmographics: the per-event path re-reads them only where stale.
  const firmographicsFor = () => (opts.reason === 'event' && opts.accountIds ? currentFirmographics(ctx, opts.accountIds) : refreshed(ctx, opts.accountIds));
  // On PostgreSQL the first model's measure (seconds of set-based SQL over all accounts) runs
  // beside the firmographics refresh (mostly JavaScript); PGlite has one connection: in turn.
  const overlap = ctx.deps.database.kind === 'postgres' && models.length > 0;
  let measuring: Promise<Map<string, Aggregates>> | undefined = overlap ? measureFor(models[0]) : undefined;
  measuring?.catch(() => {}); // awaited below; a failure of the refresh first must not leave it unhandled
  let firm: Awaited<ReturnType<typeof firmographicsFor>>;
  try {
    firm = await firmographicsFor();
  } catch (e) {
    await measuring?.catch(() => {});
    throw e;
  }
  const { ids, firmographics } = firm;
  phases.firmographics_ms = clock.now().getTime() - t0;
  stats.accounts = ids.length;
  if (ids.length === 0) {
    await measuring;
    return stats;
  }
  // The accounts in write chunks: the full recompute's grouped by lock group (a chunk locks one
  // group), a batch of accounts as it comes.
  const chunkIds = opts.accountIds ? [ids] : groupedByLock(ids);
  for (const [m, model] of models.entries()) {
    let t = clock.now().getTime();
    const aggs = await (m === 0 && measuring ? measuring : measureFor(model));
    measuring = undefined;
    stats.withEvents = Math.max(stats.withEvents, aggs.size);
    phases.measure_ms += clock.now().getTime() - t;
    // Pipelined: a chunk is evaluated (JavaScript) while earlier chunks' writes run in the
    // database — on PostgreSQL up to WRITERS at once over their own connections (each chunk
    // holds the write locks of its accounts' groups only, and a chunk of the full recompute is
    // one group), so writing uses both cores; PGlite (one connection): one at a time.
    const writers = ctx.deps.database.kind === 'postgres' ? WRITERS : 1;
    const inFlight = new Set<Promise<void>>();
    let failed: unknown;
    for (const ids of chunksOf(chunkIds)) {
      t = clock.now().getTime();
      const chunk = ids.map((id) => scored(id, evaluate(model.config, { aggregates: aggs.get(id) ?? {}, firmographics: firmographics.get(id) ?? EMPTY_FIRMOGRAPHICS })));
      phases.evaluate_ms += clock.now().getTime() - t;
      while (inFlight.size >= writers) await Promise.race(inFlight);
      if (failed) break;
      const w0 = clock.now().getTime();
      const write: Promise<void> = writeChunk(ctx, model, chunk, opts.reason)
        .then((s) => {
          stats.changed += s.changed;
          stats.snapshots += s.snapshots;
          stats.crossings += s.crossings;
          phases.write_ms += clock.now().getTime() - w0;
        })
        .catch((e) => {
          failed ??= e;
        })
        .finally(() => inFlight.delete(write));
      inFlight.add(write);
    }
    await Promise.all(inFlight);
    if (failed) throw failed;
  }
  ctx.deps.log[opts.accountIds ? 'debug' : 'info']({ workspace: ctx.workspaceId, reason: opts.reason, ...stats, ...phases }, 'scoring: rescored');
  return stats;
}

interface Scored {
  accountId: string;
  result: ScoreResult;
  pointsHash: string;
  inputsHash: string;
}

/** A result with its fingerprints (computed outside the write transaction; the points key once). */
function scored(accountId: string, result: ScoreResult): Scored {
  const points = pointsKey(result);
  return { accountId, result, pointsHash: repo.md5(points), inputsHash: repo.md5(inputsKey(result, points)) };
}

async function refreshed(ctx: Ctx, accountIds?: readonly string[]) {
  const r = await refreshFirmographics(ctx, accountIds);
  return { ids: r.facts.map((f) => f.id), firmographics: r.firmographics };
}

/**
 * Writes one chunk in one transaction, against the current rows read under the write locks of
 * its accounts' groups, taken in group order (an event rescore and the daily recompute never
 * interleave their writes of an account; two writers never wait on each other in a cycle). A
 * row computed for a later instant than ours wins: a slow full recompute never overwrites a
 * fresher event rescore.
 */
async function writeChunk(ctx: Ctx, model: ScoringModel, chunk: readonly Scored[], reason: SnapshotReason) {
  return ctx.deps.database.db.transaction(async (tx) => {
    const t = execIn(tx);
    const ids = chunk.map((c) => c.accountId);
    // One statement; unnest yields the groups in array order, so they are locked in ascending order.
    const groups = [...new Set(ids.map(lockGroup))].sort((a, b) => a - b);
    await t('SELECT pg_advisory_xact_lock(hashtext($1 || g)) FROM unnest($2::int[]) AS g', [`scoring_scores:${ctx.workspaceId}:`, groups]);
    const current = await repo.loadScoreStates(t, ctx.workspaceId, model.id, ids);
    const active = model.status === 'active';
    const prior = active ? await repo.priorLevels(t, ctx.workspaceId, ids.filter((id) => !current.has(id)), model.id) : new Map<string, Level>();
    const writes: repo.ScoreWrite[] = [];
    const crossings: Array<{ accountId: string; result: ScoreResult; previous: repo.ScoreState | undefined; previousLevel: Level }> = [];
    for (const { accountId, result, pointsHash, inputsHash } of chunk) {
      const cur = current.get(accountId);
      if (cur && cur.computedAt.getTime() > ctx.asOf.getTime()) continue;
      if (cur && cur.inputsHash === inputsHash) continue;
      const pointsChanged = !cur || cur.pointsHash !== pointsHash;
      writes.push({ accountId, result, changedAt: pointsChanged ? ctx.asOf : cur!.changedAt, pointsHash, inputsHash, snapshotId: pointsChanged ? newId('ssnap') : null });
      const previousLevel: Level = cur?.level ?? prior.get(accountId) ?? 'none';
      if (active && LEVEL_RANK[result.level] > LEVEL_RANK[previousLevel]) crossings.push({ accountId, result, previous: cur, previousLevel });
    }
    await repo.writeScores(t, { workspaceId: ctx.workspaceId, modelId: model.id, modelVersion: model.version, reason, computedAt: ctx.asOf, rows: writes });
    await publishMany(tx, ctx, crossings.map((c) => ({ type: 'score.threshold_crossed', data: crossingEvent(model, c) })));
    return { changed: writes.length, snapshots: writes.filter((w) => w.snapshotId).length, crossings: crossings.length };
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

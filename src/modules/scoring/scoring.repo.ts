/**
 * Scoring's queries, every one scoped by workspace. Raw parameterised SQL through `Exec` (see
 * events' execIn/execOn) so one text serves inside and outside a transaction, and batches travel
 * as arrays through unnest(): a full recompute writes thousands of scores per statement.
 */
import { hash } from 'node:crypto';
import { keySet, toDate, toDateOrNull } from '../../db/sql.ts';
import type { Exec } from '../events/index.ts';
import { compactContributions, compactIndicators, expandContributions, expandIndicators } from './compute/score.ts';
import type { ModelConfig } from './model.schema.ts';
import type { AccountScore, Firmographics, Level, ModelStatus, ScoreResult, ScoreSnapshot, ScoringModel, SnapshotReason } from './scoring.ts';

const iso = (d: Date) => d.toISOString();
const json = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v);

function modelFrom(r: Record<string, unknown>): ScoringModel {
  return {
    id: r.id as string,
    workspaceId: r.workspace_id as string,
    version: Number(r.version),
    name: r.name as string,
    description: (r.description as string | null) ?? null,
    status: r.status as ModelStatus,
    config: json(r.config) as ModelConfig,
    createdAt: toDate(r.created_at),
    activatedAt: toDateOrNull(r.activated_at),
    archivedAt: toDateOrNull(r.archived_at),
  };
}

export async function insertModel(exec: Exec, m: ScoringModel): Promise<boolean> {
  const r = await exec(
    `INSERT INTO scoring_models (id, workspace_id, version, name, description, status, config, created_at, activated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8::timestamptz, $9::timestamptz) ON CONFLICT DO NOTHING RETURNING id`,
    [m.id, m.workspaceId, m.version, m.name, m.description, m.status, JSON.stringify(m.config), iso(m.createdAt), m.activatedAt ? iso(m.activatedAt) : null],
  );
  return r.length > 0;
}

export async function findModel(exec: Exec, workspaceId: string, id: string, forUpdate = false): Promise<ScoringModel | undefined> {
  const [r] = await exec(`SELECT * FROM scoring_models WHERE workspace_id = $1 AND id = $2${forUpdate ? ' FOR UPDATE' : ''}`, [workspaceId, id]);
  return r ? modelFrom(r) : undefined;
}

export async function listModels(exec: Exec, workspaceId: string, q: { limit: number; startingAfter?: string }): Promise<ScoringModel[]> {
  const found = await exec(
    `SELECT * FROM scoring_models WHERE workspace_id = $1 AND ($3::text IS NULL OR id COLLATE "C" < $3::text) ORDER BY id COLLATE "C" DESC LIMIT $2`,
    [workspaceId, q.limit + 1, q.startingAfter ?? null],
  );
  return found.map(modelFrom);
}

/** The active model and the shadow model, if any. */
export async function runningModels(exec: Exec, workspaceId: string): Promise<ScoringModel[]> {
  const found = await exec(`SELECT * FROM scoring_models WHERE workspace_id = $1 AND status IN ('active', 'shadow') ORDER BY status`, [workspaceId]);
  return found.map(modelFrom);
}

export async function maxVersion(exec: Exec, workspaceId: string): Promise<number> {
  const [r] = await exec<{ v: number | null }>('SELECT max(version) AS v FROM scoring_models WHERE workspace_id = $1', [workspaceId]);
  return Number(r?.v ?? 0);
}

export async function updateModel(exec: Exec, workspaceId: string, id: string, patch: { name?: string; description?: string | null; config?: ModelConfig; status?: ModelStatus; activatedAt?: Date; archivedAt?: Date | null }): Promise<ScoringModel> {
  const [r] = await exec(
    `UPDATE scoring_models SET name = coalesce($3, name), description = CASE WHEN $4::boolean THEN $5 ELSE description END,
       config = coalesce($6::jsonb, config), status = coalesce($7, status),
       activated_at = coalesce($8::timestamptz, activated_at), archived_at = CASE WHEN $9::boolean THEN $10::timestamptz ELSE archived_at END
     WHERE workspace_id = $1 AND id = $2 RETURNING *`,
    [
      workspaceId,
      id,
      patch.name ?? null,
      patch.description !== undefined,
      patch.description ?? null,
      patch.config ? JSON.stringify(patch.config) : null,
      patch.status ?? null,
      patch.activatedAt ? iso(patch.activatedAt) : null,
      patch.archivedAt !== undefined,
      patch.archivedAt ? iso(patch.archivedAt) : null,
    ],
  );
  return modelFrom(r);
}

function resultFrom(r: Record<string, unknown>): ScoreResult {
  return {
    total: Number(r.total),
    usage: Number(r.usage),
    fit: Number(r.fit),
    behavior: Number(r.behavior),
    level: r.level as Level,
    enterpriseFit: Boolean(r.enterprise_fit),
    disqualifiedBy: (r.disqualified_by as string | null) ?? null,
    contributions: expandContributions(json(r.signals)),
    indicators: expandIndicators(json(r.indicators)),
  };
}

/** Current scores of these accounts with their breakdown (the read path): one key lookup per account whatever the statistics (see accountFacts). */
export async function loadScores(exec: Exec, workspaceId: string, modelId: string, accountIds: readonly string[]): Promise<Map<string, AccountScore>> {
  const found = await exec(
    `SELECT s.* FROM ${keySet('$3')}
     CROSS JOIN LATERAL (SELECT * FROM scoring_scores s WHERE s.workspace_id = $1 AND s.model_id = $2 AND s.account_id = keys.k OFFSET 0) s`,
    [workspaceId, modelId, [...accountIds]],
  );
  return new Map(
    found.map((r) => [r.account_id as string, { ...resultFrom(r), accountId: r.account_id as string, modelId, computedAt: toDate(r.computed_at), changedAt: toDate(r.changed_at) }]),
  );
}

/**
 * For accounts without a score under `modelId`: their level under the most recently computed
 * archived version, so activating a new version does not announce every qualified account again.
 * One probe of the (workspace, account) index per account (the per-event rescore asks this for
 * every account it scores for the first time).
 */
export async function priorLevels(exec: Exec, workspaceId: string, accountIds: readonly string[], modelId: string): Promise<Map<string, Level>> {
  if (accountIds.length === 0) return new Map();
  const found = await exec<{ account_id: string; level: Level }>(
    `SELECT keys.k AS account_id, p.level FROM ${keySet('$2')},
            LATERAL (SELECT s.level FROM scoring_scores s
                     JOIN scoring_models m ON m.workspace_id = s.workspace_id AND m.id = s.model_id AND m.status = 'archived'
                     WHERE s.workspace_id = $1 AND s.account_id = keys.k AND s.model_id <> $3
                     ORDER BY s.computed_at DESC LIMIT 1) p`,
    [workspaceId, [...accountIds], modelId],
  );
  return new Map(found.map((r) => [r.account_id, r.level]));
}

/** One-shot (no native Hash object per call: see workspaces `hashKey`). */
export const md5 = (s: string) => hash('md5', s, 'hex');

/** What a rescore compares against: the fingerprints and the routing state, without the breakdown. */
export interface ScoreState {
  pointsHash: string;
  inputsHash: string;
  level: Level;
  total: number;
  computedAt: Date;
  changedAt: Date;
}

/**
 * The stored states, read under the caller's per-workspace advisory lock (the only writer of
 * scoring_scores takes it, and the statement's snapshot is taken after it): no FOR UPDATE, which
 * would stamp every row read — 100,000 tuple writes per full recompute that changes a few.
 */
export async function loadScoreStates(exec: Exec, workspaceId: string, modelId: string, accountIds: readonly string[]): Promise<Map<string, ScoreState>> {
  const found = await exec(
    // One key lookup per account whatever the statistics (see accountFacts).
    `SELECT s.account_id, s.points_hash, s.inputs_hash, s.level, s.total, s.computed_at, s.changed_at
     FROM ${keySet('$3')}
     CROSS JOIN LATERAL (SELECT * FROM scoring_scores s WHERE s.workspace_id = $1 AND s.model_id = $2 AND s.account_id = keys.k OFFSET 0) s`,
    [workspaceId, modelId, [...accountIds]],
  );
  return new Map(
    found.map((r) => [
      r.account_id as string,
      { pointsHash: r.points_hash as string, inputsHash: r.inputs_hash as string, level: r.level as Level, total: Number(r.total), computedAt: toDate(r.computed_at), changedAt: toDate(r.changed_at) },
    ]),
  );
}

export interface ScoreWrite {
  accountId: string;
  result: ScoreResult;
  changedAt: Date;
  pointsHash: string;
  inputsHash: string;
  /** The snapshot to record with it (its points changed), or null. */
  snapshotId: string | null;
}

/**
 * A batch of scores as ONE jsonb parameter (jsonb_to_recordset) rather than parallel text[]
 * arrays of escaped JSON: no per-element escaping and re-parsing (~20% less time per 5,000-row
 * write in a same-run comparison).
 */
const ROW_TYPE = `t(a text, total numeric, usage numeric, fit numeric, behavior numeric, level text, ef boolean, dq text, signals jsonb, ind jsonb, changed timestamptz, ph text, ih text, id text)`;
const rowsJson = (rows: readonly ScoreWrite[]) =>
  JSON.stringify(
    rows.map((w) => ({
      a: w.accountId,
      total: w.result.total,
      usage: w.result.usage,
      fit: w.result.fit,
      behavior: w.result.behavior,
      level: w.result.level,
      ef: w.result.enterpriseFit,
      dq: w.result.disqualifiedBy,
      signals: compactContributions(w.result.contributions),
      ind: compactIndicators(w.result.indicators),
      changed: iso(w.changedAt),
      ph: w.pointsHash,
      ih: w.inputsHash,
      id: w.snapshotId,
    })),
  );

/**
 * Upserts the scores and inserts the snapshots of those that carry one, in ONE statement over
 * one parameter: the batch is serialized and parsed once, not once per table (at 100,000
 * accounts that was 2 × ~6 MB of JSON per 5,000-row chunk).
 */
export async function writeScores(exec: Exec, input: { workspaceId: string; modelId: string; modelVersion: number; reason: SnapshotReason; computedAt: Date; rows: readonly ScoreWrite[] }): Promise<void> {
  if (input.rows.length === 0) return;
  await exec(
    `WITH t AS MATERIALIZED (SELECT * FROM jsonb_to_recordset($6::jsonb) AS ${ROW_TYPE}),
     up AS (
       INSERT INTO scoring_scores (workspace_id, model_id, account_id, total, usage, fit, behavior, level, enterprise_fit, disqualified_by, signals, indicators,
         points_hash, inputs_hash, computed_at, changed_at)
       SELECT $1, $2, t.a, t.total, t.usage, t.fit, t.behavior, t.level, t.ef, t.dq, t.signals, t.ind, t.ph, t.ih, $5::timestamptz, t.changed FROM t
       ON CONFLICT (workspace_id, model_id, account_id) DO UPDATE SET total = EXCLUDED.total, usage = EXCLUDED.usage, fit = EXCLUDED.fit,
         behavior = EXCLUDED.behavior, level = EXCLUDED.level, enterprise_fit = EXCLUDED.enterprise_fit, disqualified_by = EXCLUDED.disqualified_by,
         signals = EXCLUDED.signals, indicators = EXCLUDED.indicators, points_hash = EXCLUDED.points_hash, inputs_hash = EXCLUDED.inputs_hash,
         computed_at = EXCLUDED.computed_at, changed_at = EXCLUDED.changed_at)
     INSERT INTO scoring_snapshots (id, workspace_id, model_id, model_version, reason, computed_at, account_id, total, usage, fit, behavior, level, enterprise_fit, disqualified_by, signals, indicators)
     SELECT t.id, $1, $2, $3, $4, $5::timestamptz, t.a, t.total, t.usage, t.fit, t.behavior, t.level, t.ef, t.dq, t.signals, t.ind FROM t WHERE t.id IS NOT NULL`,
    [input.workspaceId, input.modelId, input.modelVersion, input.reason, iso(input.computedAt), rowsJson(input.rows)],
  );
}

export async function listSnapshots(exec: Exec, workspaceId: string, q: { accountId: string; modelId: string; limit: number; startingAfter?: string }): Promise<ScoreSnapshot[]> {
  const found = await exec(
    `SELECT * FROM scoring_snapshots WHERE workspace_id = $1 AND account_id = $2 AND model_id = $3 AND ($5::text IS NULL OR id COLLATE "C" < $5::text)
     ORDER BY id COLLATE "C" DESC LIMIT $4`,
    [workspaceId, q.accountId, q.modelId, q.limit + 1, q.startingAfter ?? null],
  );
  return found.map((r) => ({
    ...resultFrom(r),
    id: r.id as string,
    accountId: r.account_id as string,
    modelId: r.model_id as string,
    modelVersion: Number(r.model_version),
    reason: r.reason as SnapshotReason,
    computedAt: toDate(r.computed_at),
  }));
}

function firmographicsFrom(r: Record<string, unknown>): Firmographics {
  return {
    domain: (r.domain as string | null) ?? null,
    employees: r.employees === null || r.employees === undefined ? null : Number(r.employees),
    industry: (r.industry as string | null) ?? null,
    country: (r.country as string | null) ?? null,
    techStack: (json(r.tech_stack) as string[]) ?? [],
    sources: (json(r.sources) as Record<string, string>) ?? {},
  };
}

/** The latest firmographics known strictly before `before` (default: now, i.e. the latest), per account. */
export async function latestFirmographics(exec: Exec, workspaceId: string, q: { accountIds?: readonly string[]; before?: Date } = {}): Promise<Map<string, Firmographics & { knownAt: Date }>> {
  const before = q.before ? iso(q.before) : null;
  // A few accounts: one key lookup each, whatever the statistics (see accountFacts).
  const found = q.accountIds
    ? await exec(
        `SELECT f.* FROM ${keySet('$2')}
         CROSS JOIN LATERAL (SELECT * FROM scoring_firmographics f
                             WHERE f.workspace_id = $1 AND f.account_id = keys.k AND ($3::timestamptz IS NULL OR f.known_at < $3::timestamptz)
                             ORDER BY f.known_at DESC LIMIT 1) f`,
        [workspaceId, [...q.accountIds], before],
      )
    : await exec(
        `SELECT DISTINCT ON (account_id) * FROM scoring_firmographics
         WHERE workspace_id = $1 AND ($2::timestamptz IS NULL OR known_at < $2::timestamptz)
         ORDER BY account_id, known_at DESC`,
        [workspaceId, before],
      );
  return new Map(found.map((r) => [r.account_id as string, { ...firmographicsFrom(r), knownAt: toDate(r.known_at) }]));
}

/**
 * Firmographics as known at `at`: the latest row recorded before it; for an account with none
 * that old, its earliest row (company facts, not behavior: the closest we have).
 */
export async function firmographicsAsOf(exec: Exec, workspaceId: string, at: Date): Promise<Map<string, Firmographics>> {
  const found = await exec(
    `SELECT DISTINCT ON (account_id) * FROM scoring_firmographics WHERE workspace_id = $1
     ORDER BY account_id, (known_at < $2::timestamptz) DESC, CASE WHEN known_at < $2::timestamptz THEN known_at END DESC NULLS LAST, known_at`,
    [workspaceId, iso(at)],
  );
  return new Map(found.map((r) => [r.account_id as string, firmographicsFrom(r)]));
}

export async function insertFirmographics(exec: Exec, workspaceId: string, knownAt: Date, rows: ReadonlyArray<{ accountId: string; f: Firmographics }>): Promise<void> {
  if (rows.length === 0) return;
  await exec(
    `INSERT INTO scoring_firmographics (workspace_id, account_id, known_at, domain, employees, industry, country, tech_stack, sources)
     SELECT $1, t.a, $2::timestamptz, t.domain, t.employees, t.industry, t.country, t.tech::jsonb, t.sources::jsonb
     FROM unnest($3::text[], $4::text[], $5::int[], $6::text[], $7::text[], $8::text[], $9::text[]) AS t(a, domain, employees, industry, country, tech, sources)
     ON CONFLICT (workspace_id, account_id, known_at) DO UPDATE SET domain = EXCLUDED.domain, employees = EXCLUDED.employees, industry = EXCLUDED.industry,
       country = EXCLUDED.country, tech_stack = EXCLUDED.tech_stack, sources = EXCLUDED.sources`,
    [
      workspaceId,
      iso(knownAt),
      rows.map((r) => r.accountId),
      rows.map((r) => r.f.domain),
      rows.map((r) => r.f.employees),
      rows.map((r) => r.f.industry),
      rows.map((r) => r.f.country),
      rows.map((r) => JSON.stringify(r.f.techStack)),
      rows.map((r) => JSON.stringify(r.f.sources)),
    ],
  );
}

export interface AccountFacts {
  id: string;
  createdAt: Date;
  employees: number | null;
  industry: string | null;
  country: string | null;
  techStack: string[] | null;
  domain: string | null;
}

function techFromTraits(v: unknown): string[] | null {
  if (Array.isArray(v)) return v.filter((x) => typeof x === 'string' && x.trim()).map((x) => String(x).trim());
  if (typeof v === 'string' && v.trim()) return v.split(/[,;]/).map((x) => x.trim()).filter(Boolean);
  return null;
}

const FACTS = `a.id, a.created_at, a.employees, a.industry, a.country,
  coalesce(a.traits -> 'tech_stack', a.traits -> 'technologies', a.traits -> 'techStack') AS tech, d.domain`;

/**
 * Live accounts with what scoring needs from them (firmographics set by group traits or the API,
 * tech stack traits, a domain: its claimed one first, then the oldest). Reads the accounts
 * module's tables directly: the full recompute needs every account in one statement, which no
 * per-account reader gives.
 *
 * A few accounts (a flush's batch) are one lookup each, account and domain, whatever the
 * statistics: in one statement with the all-accounts form, `bench ingest` (auto_explain) logged
 * 407 accounts read by a scan of the workspace's accounts, filtered, each joined to every domain
 * row by a nested loop (82,621 rows discarded by its join filter; 225,443 at worst) — the plan
 * statistics taken while the tables were nearly empty give.
 */
export async function accountFacts(exec: Exec, workspaceId: string, accountIds?: readonly string[]): Promise<AccountFacts[]> {
  const found = accountIds
    ? await exec(
        `SELECT ${FACTS}
         FROM ${keySet('$2')}
         CROSS JOIN LATERAL (SELECT * FROM accounts a WHERE a.workspace_id = $1 AND a.id = keys.k AND a.status = 'active' OFFSET 0) a
         LEFT JOIN LATERAL (SELECT domain FROM account_domains
                            WHERE workspace_id = $1 AND account_id = a.id
                            ORDER BY claimed DESC, created_at, domain LIMIT 1) d ON true
         ORDER BY a.id COLLATE "C"`,
        [workspaceId, [...accountIds]],
      )
    : await exec(
        `SELECT ${FACTS}
         FROM accounts a
         LEFT JOIN (SELECT DISTINCT ON (account_id) account_id, domain FROM account_domains WHERE workspace_id = $1
                    ORDER BY account_id, claimed DESC, created_at, domain) d ON d.account_id = a.id
         WHERE a.workspace_id = $1 AND a.status = 'active'
         ORDER BY a.id COLLATE "C"`,
        [workspaceId],
      );
  return found.map((r) => ({
    id: r.id as string,
    createdAt: toDate(r.created_at),
    employees: r.employees === null || r.employees === undefined ? null : Number(r.employees),
    industry: (r.industry as string | null) ?? null,
    country: (r.country as string | null) ?? null,
    techStack: techFromTraits(json(r.tech)),
    domain: (r.domain as string | null) ?? null,
  }));
}

/** Which of these accounts are live, with when each last changed (firmographics may be stale after it). */
export async function liveAccounts(exec: Exec, workspaceId: string, accountIds: readonly string[]): Promise<Map<string, Date>> {
  const found = await exec<{ id: string; updated_at: unknown }>(
    // One key lookup per account whatever the statistics (see accountFacts).
    `SELECT a.id, a.updated_at FROM ${keySet('$2')}
     CROSS JOIN LATERAL (SELECT id, updated_at FROM accounts a WHERE a.workspace_id = $1 AND a.id = keys.k AND a.status = 'active' OFFSET 0) a`,
    [workspaceId, [...accountIds]],
  );
  return new Map(found.map((r) => [r.id, toDate(r.updated_at)]));
}

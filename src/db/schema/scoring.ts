import { sql } from 'drizzle-orm';
import { boolean, check, index, integer, jsonb, numeric, pgTable, primaryKey, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { instant } from './columns.ts';

/**
 * PQL scoring. A model is versioned configuration (`scoring_models`): at most one active and one
 * shadow version per workspace; a version's config never changes once it left 'draft'.
 */
export const scoringModels = pgTable(
  'scoring_models',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id').notNull(),
    version: integer('version').notNull(),
    name: text('name').notNull(),
    description: text('description'),
    status: text('status').notNull(),
    config: jsonb('config').$type<Record<string, unknown>>().notNull(),
    createdAt: instant('created_at').notNull(),
    activatedAt: instant('activated_at'),
    archivedAt: instant('archived_at'),
  },
  (t) => [
    uniqueIndex('scoring_models_version').on(t.workspaceId, t.version),
    uniqueIndex('scoring_models_one_active').on(t.workspaceId).where(sql`${t.status} = 'active'`),
    uniqueIndex('scoring_models_one_shadow').on(t.workspaceId).where(sql`${t.status} = 'shadow'`),
    index('scoring_models_list').on(t.workspaceId, t.id),
    check('scoring_models_status', sql`${t.status} IN ('draft', 'shadow', 'active', 'archived')`),
    check('scoring_models_version_positive', sql`${t.version} >= 1`),
  ],
);

/**
 * The current score of each account under each running model version (active and shadow): what
 * `GET /v1/accounts/{id}/score` reads, and the state threshold crossings are detected against.
 * Scores are points, not money: numeric(5,1), rounded half away from zero.
 */
export const scoringScores = pgTable(
  'scoring_scores',
  {
    workspaceId: text('workspace_id').notNull(),
    modelId: text('model_id').notNull(),
    accountId: text('account_id').notNull(),
    total: numeric('total', { precision: 5, scale: 1 }).notNull(),
    usage: numeric('usage', { precision: 5, scale: 1 }).notNull(),
    fit: numeric('fit', { precision: 5, scale: 1 }).notNull(),
    behavior: numeric('behavior', { precision: 5, scale: 1 }).notNull(),
    level: text('level').notNull(),
    enterpriseFit: boolean('enterprise_fit').notNull(),
    disqualifiedBy: text('disqualified_by'),
    /** Every signal, compact: [key, category, raw, points before decay, points, days since the latest match]. */
    signals: jsonb('signals').$type<unknown[]>().notNull(),
    /** Enterprise indicators: [employees, teams, enterprise feature events, procurement events, met]. */
    indicators: jsonb('indicators').$type<unknown[]>().notNull(),
    /** Fingerprints: of the points (a change writes a snapshot) and of all inputs (no change, no write). */
    pointsHash: text('points_hash').notNull(),
    inputsHash: text('inputs_hash').notNull(),
    /** The instant the score was computed for (the job's clock). */
    computedAt: instant('computed_at').notNull(),
    /** Last instant the score's points changed (a snapshot was written then). */
    changedAt: instant('changed_at').notNull(),
  },
  (t) => [
    primaryKey({ name: 'scoring_scores_pk', columns: [t.workspaceId, t.modelId, t.accountId] }),
    index('scoring_scores_account').on(t.workspaceId, t.accountId),
    check('scoring_scores_level', sql`${t.level} IN ('none', 'sales_assist', 'enterprise')`),
    check('scoring_scores_range', sql`${t.total} BETWEEN 0 AND 100 AND ${t.usage} BETWEEN 0 AND 100 AND ${t.fit} BETWEEN 0 AND 100 AND ${t.behavior} BETWEEN 0 AND 100`),
  ],
);

/** A score as it changed: written only when the points changed, never on an identical rescore. */
export const scoringSnapshots = pgTable(
  'scoring_snapshots',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id').notNull(),
    accountId: text('account_id').notNull(),
    modelId: text('model_id').notNull(),
    modelVersion: integer('model_version').notNull(),
    total: numeric('total', { precision: 5, scale: 1 }).notNull(),
    usage: numeric('usage', { precision: 5, scale: 1 }).notNull(),
    fit: numeric('fit', { precision: 5, scale: 1 }).notNull(),
    behavior: numeric('behavior', { precision: 5, scale: 1 }).notNull(),
    level: text('level').notNull(),
    enterpriseFit: boolean('enterprise_fit').notNull(),
    disqualifiedBy: text('disqualified_by'),
    signals: jsonb('signals').$type<unknown[]>().notNull(),
    indicators: jsonb('indicators').$type<unknown[]>().notNull(),
    reason: text('reason').notNull(),
    computedAt: instant('computed_at').notNull(),
  },
  (t) => [
    index('scoring_snapshots_account').on(t.workspaceId, t.accountId, t.modelId, t.id),
    check('scoring_snapshots_level', sql`${t.level} IN ('none', 'sales_assist', 'enterprise')`),
    check('scoring_snapshots_reason', sql`${t.reason} IN ('signup', 'event', 'recompute', 'firmographics', 'read')`),
  ],
);

/**
 * Firmographics as known over time (fit inputs), one row per change: the backtest reads the row
 * known before its cutoff. Group traits / API fields win over enrichment, field by field.
 */
export const scoringFirmographics = pgTable(
  'scoring_firmographics',
  {
    workspaceId: text('workspace_id').notNull(),
    accountId: text('account_id').notNull(),
    knownAt: instant('known_at').notNull(),
    domain: text('domain'),
    employees: integer('employees'),
    industry: text('industry'),
    country: text('country'),
    techStack: jsonb('tech_stack').$type<string[]>().notNull(),
    /** Where each field came from: 'account' (group traits or the API) or the provider's name. */
    sources: jsonb('sources').$type<Record<string, string>>().notNull(),
  },
  (t) => [
    primaryKey({ name: 'scoring_firmographics_pk', columns: [t.workspaceId, t.accountId, t.knownAt] }),
    check('scoring_firmographics_employees', sql`${t.employees} IS NULL OR ${t.employees} >= 0`),
  ],
);

/** Enrichment lookups by domain, kept for a TTL so a provider is asked once per domain per TTL. */
export const enrichmentCache = pgTable(
  'enrichment_cache',
  {
    workspaceId: text('workspace_id').notNull(),
    provider: text('provider').notNull(),
    domain: text('domain').notNull(),
    found: boolean('found').notNull(),
    data: jsonb('data').$type<Record<string, unknown>>(),
    fetchedAt: instant('fetched_at').notNull(),
    expiresAt: instant('expires_at').notNull(),
  },
  (t) => [primaryKey({ name: 'enrichment_cache_pk', columns: [t.workspaceId, t.provider, t.domain] })],
);

/**
 * Accounts touched by new events, waiting for the debounced rescore of their workspace.
 * `ready_at` is when a flush may take the account: its first mark, or the end of its hold
 * (scoring_holds) when that is later — a copy kept by the marking and by `holdAccounts`, so a
 * flush reads the accounts that are ready through the (workspace, ready_at) index, not every
 * dirty account with a look-up of its hold (see scoring/work.repo.ts `takeDirty`).
 */
export const scoringDirtyAccounts = pgTable(
  'scoring_dirty_accounts',
  {
    workspaceId: text('workspace_id').notNull(),
    accountId: text('account_id').notNull(),
    markedAt: instant('marked_at').notNull(),
    readyAt: instant('ready_at').notNull(),
  },
  (t) => [primaryKey({ name: 'scoring_dirty_accounts_pk', columns: [t.workspaceId, t.accountId] }), index('scoring_dirty_accounts_ready').on(t.workspaceId, t.readyAt)],
);

/**
 * Pacing of the per-event rescore (see scoring/schedule.ts): when a flush batch rescored an
 * account (`rescored_at`) shortly after another had, no flush takes it again before `until`
 * (workspace time: the workspace's hot release, scoring_state.hot_release_at); its dirty mark
 * waits in scoring_dirty_accounts meanwhile. At most one row per account, overwritten by each
 * flush batch.
 */
export const scoringHolds = pgTable(
  'scoring_holds',
  {
    workspaceId: text('workspace_id').notNull(),
    accountId: text('account_id').notNull(),
    until: instant('until').notNull(),
    rescoredAt: instant('rescored_at').notNull(),
  },
  (t) => [primaryKey({ name: 'scoring_holds_pk', columns: [t.workspaceId, t.accountId] })],
);

/**
 * Per-workspace bookkeeping: the sweep's watermark (last product event id seen), when the
 * hook-driven flush and the sweep last ran (a sweep that sees flushes only moves its watermark),
 * and when the hot accounts held by the pacing are released (`hot_release_at`, see
 * scoring/work.repo.ts `holdAccounts`).
 */
export const scoringState = pgTable('scoring_state', {
  workspaceId: text('workspace_id').primaryKey(),
  sweepWatermark: text('sweep_watermark'),
  lastRecomputeAt: instant('last_recompute_at'),
  lastFlushAt: instant('last_flush_at'),
  lastSweepAt: instant('last_sweep_at'),
  hotReleaseAt: instant('hot_release_at'),
  updatedAt: instant('updated_at').notNull(),
});

/** Backtests: created pending, run as a job, the report stored with the row. */
export const scoringBacktests = pgTable(
  'scoring_backtests',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id').notNull(),
    status: text('status').notNull(),
    params: jsonb('params').$type<Record<string, unknown>>().notNull(),
    report: jsonb('report').$type<Record<string, unknown>>(),
    error: text('error'),
    createdAt: instant('created_at').notNull(),
    completedAt: instant('completed_at'),
  },
  (t) => [
    index('scoring_backtests_list').on(t.workspaceId, t.id),
    check('scoring_backtests_status', sql`${t.status} IN ('pending', 'running', 'succeeded', 'failed')`),
  ],
);

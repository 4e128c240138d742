import type { Ctx, Db } from '../../context.ts';
import { dec } from '../../kernel/decimal.ts';
import { notFound } from '../../kernel/errors.ts';
import { rows, sql, toDate } from '../../db/sql.ts';
import { LIVE_STATUSES, type Subscription } from '../billing/index.ts';
import { findFeatureByKey, findMetrics, getEntitlements, getPlan, type BillableMetric, type Entitlement, type Feature } from '../catalog/index.ts';
import { usageForPeriods } from '../metering/index.ts';
import { limitWindow, type EntitlementCheck } from './entitlements.ts';
import { followersDrop, followersRefresh } from './followers.ts';
import { TickBatcher, type Waiter } from './tick-batch.ts';
import { cached, fresh, MAX_ENTRIES_PER_WORKSPACE, peek, REFRESH_AFTER_MS, REFRESH_ALONG_MS, type CacheOpts, type Slot } from './slot-cache.ts';

/**
 * Entitlement checks, answered from an in-process cache that stays correct as events arrive.
 *
 * What is cached, per workspace:
 * - the account's *state*, per account reference: the live account id it resolves to and its
 *   live subscription (one statement for all the accounts whose state is read in the same turn
 *   of the event loop — see `flushStates`);
 * - the *catalog* of a plan version, shared by all its subscribers: the plan's key, the version's
 *   entitlements and their metrics (plan versions are immutable; the TTL still bounds it);
 * - *usage*, per (live account, metric, window): the value of the one shared aggregation
 *   (`usageForPeriods`);
 * - *features*, per key (found ones only: a feature created a moment ago is never answered 404).
 * The limit arithmetic of an answer (remaining, percent) is memoized per (limit, used).
 * The answer itself (window, used, remaining, percent) is computed per check from those, so a
 * window that rolls over (a new month of an annual subscription) is a new usage key at once.
 *
 * Correctness rules and how they hold:
 * 1. A check after an ingest acknowledged by THIS process sees the new events: ingestion calls
 *    `refreshAccounts` (registry.afterIngest) after commit and waits for it before it answers.
 *    It re-reads the touched accounts' usage entries that are in use, in one statement per
 *    metric, and stores the results; reads are ordered, so a read that started before the commit
 *    never overwrites one that started after it, and a check that joins a read in flight joins
 *    one that started after the last acknowledged ingest. Meanwhile checks are answered from the
 *    previous value — correct, since the new events are not acknowledged yet — so an ingest
 *    never makes checks wait: usage is maintained at ingest, incrementally per touched account.
 * 2. Any other write through this process's API (subscriptions, plans, merges, test-clock
 *    advances, …) drops the workspace's cached states and usage (`invalidateWorkspace`, called
 *    by the route layer before the write's response is sent).
 * 3. Test clocks: entries are valid on the workspace clock only within TTL of the instant they
 *    were computed for, and never at or past the end of the subscription period they were
 *    computed in — a test clock moved by days recomputes, and so does a live workspace whose
 *    period just ended (until the renewal commits, the old period is what the database holds).
 * 4. Several API processes on one PostgreSQL: what another process writes (its ingestion, a
 *    subscription change, a renewal job) is invisible to this process's cache until the entry
 *    expires: no answer is served from data read more than TTL (TANDEM_ENTITLEMENT_CACHE_MS,
 *    1000 ms by default, wall clock) earlier — the age counts from when the read started. That
 *    is the staleness bound across processes. To keep hot keys from ever missing, an entry
 *    older than 60 % of the TTL that is asked for is recomputed in the background while the
 *    still-valid one is served (refresh-ahead). A refresh-ahead of an account's state or usage
 *    takes along every other entry of the workspace past half of that age (30 % of the TTL), in
 *    the same statement: the entries' ages fall into step, so 200 accounts × 3 checks asked
 *    5,000 times a second cost a few statements a second instead of ~one per account per 0.6 s
 *    (which were ~700 statements a second, a third of the database's CPU time and much of this
 *    process's).
 * Concurrent misses for the same key share one computation (single flight).
 */

interface Metered {
  metric: BillableMetric;
  /** Identity of the aggregation (event, aggregation, property, filters): part of the usage key. */
  sig: string;
}

interface PlanCatalog {
  planKey: string;
  ents: Map<string, Entitlement>;
  metrics: Map<string, Metered>;
}

/** What a check needs of the live subscription. */
type LiveSub = Pick<Subscription, 'id' | 'status' | 'planId' | 'planVersionId' | 'interval' | 'anchorDay' | 'currentPeriodStart' | 'currentPeriodEnd' | 'createdAt'>;

interface AccountState {
  accountId: string;
  sub: LiveSub | null;
  /** "plan id|plan version id" of the subscription: the key of its catalog. */
  catalogKey: string | null;
}

/**
 * One usage key of one account. Reads are numbered in the order they start; a result is stored
 * only over an older one, so a slow read never overwrites what a later read (one started after
 * an ingest committed) found.
 */
interface UsageEntry {
  spec: UsageSpec;
  /** The window as the answer shows it (ISO strings), made once. */
  period: { start: string; end: string };
  value?: string;
  /** Wall-clock ms when the read of `value` started. */
  wallAt: number;
  seq: number;
  pending?: Promise<string>;
}

interface UsageSpec {
  metered: Metered;
  accountId: string;
  start: Date;
  end: Date;
}

/** Everything cached for one workspace; replaced as a whole by `invalidateWorkspace`. */
interface WorkspaceCache {
  states: Map<string, Slot<AccountState>>;
  catalogs: Map<string, Slot<PlanCatalog>>;
  /** By live account id, then usage key. */
  usage: Map<string, Map<string, UsageEntry>>;
  features: Map<string, Slot<Feature>>;
}

const workspaces = new Map<string, WorkspaceCache>();

function wsCache(workspaceId: string): WorkspaceCache {
  let c = workspaces.get(workspaceId);
  if (!c) workspaces.set(workspaceId, (c = { states: new Map(), catalogs: new Map(), usage: new Map(), features: new Map() }));
  return c;
}

/**
 * Events of these accounts were committed (by this process), and the ingestion waits for this
 * before it answers: every usage entry of theirs in use (read within the TTL, or being read) is
 * recomputed now, in one statement per metric, and stored when done. Until then the previous
 * value may still answer — the new events are not acknowledged yet — but once this resolves
 * every check sees them. Entries not in use are dropped; so are those whose recomputation fails.
 */
export async function refreshAccounts(workspaceId: string, accountIds: Iterable<string>, db: Db, wallAt: number): Promise<void> {
  const ids = [...accountIds];
  const c = workspaces.get(workspaceId);
  const reads: Promise<unknown>[] = [];
  for (const a of c ? ids : []) {
    const u = c!.usage.get(a);
    if (!u) continue;
    for (const [key, e] of u) {
      if (e.pending || (e.value !== undefined && fresh(wallAt, e.wallAt))) reads.push(startUsage(db, workspaceId, e, wallAt).catch(() => undefined));
      else u.delete(key);
    }
    if (!u.size) c!.usage.delete(a);
  }
  await Promise.all(reads);
  // Then the followers' answers, built from what was just read.
  await followersRefresh(workspaceId, ids);
}

/**
 * Something other than events changed in the workspace (a subscription, a plan, a merge, its
 * clock): forget it all, here and in the followers; the write answers once they have.
 */
export function invalidateWorkspace(workspaceId: string): Promise<void> {
  workspaces.delete(workspaceId);
  return followersDrop(workspaceId);
}

/** Forget every workspace (here and in the followers). */
export function clearEntitlementCache(): Promise<void> {
  workspaces.clear();
  return followersDrop(null);
}

/** Percent with two decimals, as a string: 80000 of 100000 → "80.00". */
function percent(used: string, limit: number): string | null {
  if (limit <= 0) return null;
  return dec(used).times(100).dividedBy(limit).toDecimalPlaces(2).toFixed(2);
}

// ---- state -------------------------------------------------------------------------------

/**
 * States read in the same turn of the event loop, per database and workspace, go out as ONE
 * statement: each reference → the live account it resolves to (merges keep `merged_into` one
 * hop long, naming a live account) → the newest subscription in a live status of that account or
 * of an account merged into it (a merge keeps the merged account's subscription running, under its
 * old id). A read-only query on the accounts' and
 * billing's tables, kept here because it is the hot path of every cache refresh: hundreds of
 * accounts a second become a few statements instead of two round trips each.
 */
const states = new TickBatcher<string, AccountState>((db, workspaceId, waiters) => {
  const refs = [...new Set(waiters.map((w) => w.input))];
  rows<Record<string, unknown>>(
    db,
    sql`SELECT q.ref, coalesce(a.merged_into, a.id) AS account_id, s.id AS sub_id, s.status, s.plan_id, s.plan_version_id, s.interval, s.anchor_day,
               s.current_period_start, s.current_period_end, s.created_at
        FROM unnest(${sql.param(refs)}::text[]) AS q(ref)
        JOIN accounts a ON a.workspace_id = ${workspaceId} AND a.id = q.ref
        LEFT JOIN LATERAL (
          SELECT * FROM subscriptions s
          WHERE s.workspace_id = ${workspaceId} AND s.status = ANY(${sql.param([...LIVE_STATUSES])}::text[])
            AND (s.account_id = coalesce(a.merged_into, a.id)
                 OR s.account_id IN (SELECT m.id FROM accounts m WHERE m.workspace_id = ${workspaceId} AND m.merged_into = coalesce(a.merged_into, a.id)))
          ORDER BY s.id DESC LIMIT 1) s ON true`,
  ).then(
    (found) => {
      const byRef = new Map(found.map((r) => [r.ref as string, r]));
      for (const it of waiters) {
        const r = byRef.get(it.input);
        if (!r) {
          it.reject(notFound('account', it.input, 'account'));
          continue;
        }
        const sub: LiveSub | null = r.sub_id
          ? {
              id: r.sub_id as string,
              status: r.status as Subscription['status'],
              planId: r.plan_id as string,
              planVersionId: r.plan_version_id as string,
              interval: r.interval as Subscription['interval'],
              anchorDay: Number(r.anchor_day),
              currentPeriodStart: toDate(r.current_period_start),
              currentPeriodEnd: toDate(r.current_period_end),
              createdAt: toDate(r.created_at),
            }
          : null;
        it.resolve({ accountId: r.account_id as string, sub, catalogKey: sub ? `${sub.planId}|${sub.planVersionId}` : null });
      }
    },
    (e: unknown) => waiters.forEach((it) => it.reject(e)),
  );
});

function loadState(ctx: Ctx, accountRef: string): Promise<AccountState> {
  return states.load(ctx.deps.database.db, ctx.workspaceId, accountRef);
}

/** The catalog of a plan version, by catalog key ("plan id|plan version id"). */
async function loadCatalog(ctx: Ctx, key: string): Promise<PlanCatalog> {
  const db = ctx.deps.database.db;
  const [planId, planVersionId] = key.split('|');
  const [plan, ents] = await Promise.all([getPlan(db, ctx.workspaceId, planId), getEntitlements(db, ctx.workspaceId, planVersionId)]);
  const metricIds = [...new Set(ents.map((e) => e.billableMetricId).filter((m): m is string => Boolean(m)))];
  const metrics = new Map<string, Metered>();
  for (const m of metricIds.length ? await findMetrics(db, ctx.workspaceId, metricIds) : []) {
    metrics.set(m.id, { metric: m, sig: JSON.stringify([m.id, m.eventName, m.aggregation, m.property, m.filters]) });
  }
  return { planKey: plan.key, ents: new Map(ents.map((e) => [e.featureKey, e])), metrics };
}

/** Not past the end of the period it was computed in; a period already over (its renewal not committed yet) gives no bound but the TTL. */
const periodBound = (st: AccountState, asOf: number) => {
  const end = st.sub?.currentPeriodEnd.getTime();
  return end !== undefined && end > asOf ? end : Infinity;
};

const stateOpts: CacheOpts<AccountState> = { load: loadState, fresh: false, until: periodBound, refreshAlong: true };
const stateFreshOpts: CacheOpts<AccountState> = { ...stateOpts, fresh: true };

function stateOf(ctx: Ctx, accountRef: string, readFresh: boolean): Promise<AccountState> {
  return cached(ctx, wsCache(ctx.workspaceId).states, accountRef, readFresh ? stateFreshOpts : stateOpts);
}

function stateNow(ctx: Ctx, accountRef: string): AccountState | undefined {
  return peek(ctx, wsCache(ctx.workspaceId).states, accountRef, stateOpts);
}

const catalogOpts: CacheOpts<PlanCatalog> = { load: loadCatalog, fresh: false };
const catalogFreshOpts: CacheOpts<PlanCatalog> = { ...catalogOpts, fresh: true };

function catalogOf(ctx: Ctx, key: string, readFresh: boolean): Promise<PlanCatalog> {
  return cached(ctx, wsCache(ctx.workspaceId).catalogs, key, readFresh ? catalogFreshOpts : catalogOpts);
}

function catalogNow(ctx: Ctx, key: string, readFresh: boolean): PlanCatalog | undefined {
  return readFresh ? undefined : peek(ctx, wsCache(ctx.workspaceId).catalogs, key, catalogOpts);
}

const featureOpts: CacheOpts<Feature> = { load: loadFeature, fresh: false };
const featureFreshOpts: CacheOpts<Feature> = { ...featureOpts, fresh: true };

function featureOf(ctx: Ctx, key: string, readFresh: boolean): Promise<Feature> {
  return cached(ctx, wsCache(ctx.workspaceId).features, key, readFresh ? featureFreshOpts : featureOpts);
}

function featureNow(ctx: Ctx, key: string): Feature | undefined {
  return peek(ctx, wsCache(ctx.workspaceId).features, key, featureOpts);
}

async function loadFeature(ctx: Ctx, key: string): Promise<Feature> {
  const feature = await findFeatureByKey(ctx.deps.database.db, ctx.workspaceId, key);
  if (!feature) throw notFound('feature', key, 'feature');
  return feature;
}

// ---- usage -------------------------------------------------------------------------------

/** Usage loads due in the same turn of the event loop go out together: one statement per metric. */
const usages = new TickBatcher<UsageSpec, string>((db, workspaceId, waiters) => {
  const byMetric = new Map<string, Waiter<UsageSpec, string>[]>();
  for (const it of waiters) {
    const list = byMetric.get(it.input.metered.sig);
    if (list) list.push(it);
    else byMetric.set(it.input.metered.sig, [it]);
  }
  for (const items of byMetric.values()) {
    const periods = items.map((it, i) => ({ key: String(i), accountId: it.input.accountId, start: it.input.start, end: it.input.end }));
    usageForPeriods(db, { workspaceId, metric: items[0].input.metered.metric, periods }).then(
      (values) => items.forEach((it, i) => it.resolve(values.get(String(i)) ?? '0')),
      (e: unknown) => items.forEach((it) => it.reject(e)),
    );
  }
});

function loadUsage(db: Db, workspaceId: string, spec: UsageSpec): Promise<string> {
  return usages.load(db, workspaceId, spec);
}

let readSeq = 0;

/**
 * Reads one usage key (the read starts no earlier than `wallAt`) and stores the value unless a
 * later read already did. Readers that join `e.pending` get this read's value. A failed read
 * drops what an earlier one stored.
 */
function startUsage(db: Db, workspaceId: string, e: UsageEntry, wallAt: number): Promise<string> {
  const seq = ++readSeq;
  const p = loadUsage(db, workspaceId, e.spec).then(
    (value) => {
      if (e.pending === p) e.pending = undefined;
      if (seq > e.seq) Object.assign(e, { value, wallAt, seq });
      return value;
    },
    (err: unknown) => {
      if (e.pending === p) e.pending = undefined;
      if (seq > e.seq) Object.assign(e, { value: undefined, seq });
      throw err;
    },
  );
  e.pending = p;
  p.catch(() => undefined);
  return p;
}

/** The usage entry of (metric, account, window), created empty when new. */
function usageEntry(ctx: Ctx, metered: Metered, accountId: string, window: { start: Date; end: Date }): UsageEntry {
  const c = wsCache(ctx.workspaceId);
  let u = c.usage.get(accountId);
  if (!u) {
    if (c.usage.size >= MAX_ENTRIES_PER_WORKSPACE) c.usage.clear();
    c.usage.set(accountId, (u = new Map()));
  }
  const key = `${metered.sig}|${window.start.getTime()}|${window.end.getTime()}`;
  let e = u.get(key);
  if (!e) u.set(key, (e = { spec: { metered, accountId, start: window.start, end: window.end }, period: periodOf(window), wallAt: 0, seq: 0 }));
  return e;
}

/** The cached usage of `e` if it may be served now (starting a refresh-ahead when it is old), else undefined. */
function usageNow(ctx: Ctx, e: UsageEntry): string | undefined {
  const wall = ctx.deps.clock.now().getTime();
  if (e.value === undefined || !fresh(wall, e.wallAt)) return undefined;
  if (!e.pending && wall - e.wallAt >= REFRESH_AFTER_MS) {
    const db = ctx.deps.database.db;
    startUsage(db, ctx.workspaceId, e, wall);
    // Along with it, every other usage entry of the workspace in use and past REFRESH_ALONG_MS (same statement per metric).
    for (const entries of wsCache(ctx.workspaceId).usage.values()) {
      for (const o of entries.values()) {
        if (o !== e && !o.pending && o.value !== undefined && wall - o.wallAt >= REFRESH_ALONG_MS && fresh(wall, o.wallAt)) startUsage(db, ctx.workspaceId, o, wall);
      }
    }
  }
  return e.value;
}

/** The cached usage of `e` (see `usageNow`), else the read in flight, else a new read. */
function usageOf(ctx: Ctx, e: UsageEntry): Promise<string> {
  const now = usageNow(ctx, e);
  if (now !== undefined) return Promise.resolve(now);
  // A read in flight started after the last ingest this process acknowledged for the account
  // (refreshAccounts replaces it), so joining it is as good as starting one.
  return e.pending ?? startUsage(ctx.deps.database.db, ctx.workspaceId, e, ctx.deps.clock.now().getTime());
}

// ---- the check ---------------------------------------------------------------------------

/**
 * The answer if every part of it (account state, feature, plan catalog, usage) is cached and
 * servable now, else undefined (then `checkEntitlement` reads what is missing). The same answer
 * `checkEntitlement` gives, computed by the same `answer`: the hot path of the check route, in
 * the turn of the event loop that parsed the request.
 */
export function checkEntitlementNow(ctx: Ctx, accountRef: string, featureKey: string): EntitlementCheck | undefined {
  const state = stateNow(ctx, accountRef);
  const feature = state && featureNow(ctx, featureKey);
  if (!feature) return undefined;
  const r = answer(ctx, state, feature, false, undefined, true);
  return r === NOT_CACHED ? undefined : (r as EntitlementCheck);
}

/**
 * Account and feature are read side by side; when both are missing the account's 404 is the
 * answer (whichever read fails first). `fresh`: every part is read from the database now.
 */
export async function checkEntitlement(ctx: Ctx, accountRef: string, featureKey: string, opts: { fresh?: boolean } = {}): Promise<EntitlementCheck> {
  return (await checkWithState(ctx, accountRef, featureKey, Boolean(opts.fresh))).check;
}

/**
 * `checkEntitlement`, with the workspace instant (ms) from which its answer must not be served:
 * the end of the subscription's period or of the limit's window, whichever comes first
 * (Infinity without either). For a holder of answers outside this cache (the check process).
 */
export async function checkEntitlementBounded(ctx: Ctx, accountRef: string, featureKey: string, opts: { fresh?: boolean } = {}): Promise<{ check: EntitlementCheck; until: number }> {
  const { state, check } = await checkWithState(ctx, accountRef, featureKey, Boolean(opts.fresh));
  const asOf = ctx.asOf.getTime();
  const windowEnd = check.period ? Date.parse(check.period.end) : Infinity;
  return { check, until: Math.min(periodBound(state, asOf), windowEnd > asOf ? windowEnd : Infinity) };
}

async function checkWithState(ctx: Ctx, accountRef: string, featureKey: string, readFresh: boolean): Promise<{ state: AccountState; check: EntitlementCheck }> {
  const [state, feature] = await Promise.allSettled([stateOf(ctx, accountRef, readFresh), featureOf(ctx, featureKey, readFresh)]);
  if (state.status === 'rejected') throw state.reason;
  if (feature.status === 'rejected') throw feature.reason;
  return { state: state.value, check: await answer(ctx, state.value, feature.value, readFresh) };
}

/** `answer` with `peekOnly` when a part is not cached (a settled promise nobody awaits). */
const NOT_CACHED: Promise<EntitlementCheck> = Promise.resolve(null as unknown as EntitlementCheck);

/**
 * The answer from the account's state and the feature: synchronous when the plan's catalog and
 * the usage are cached (or not needed), else a promise that reads what is missing. `peekOnly`:
 * start no read (but refresh-aheads) — a part that is not cached gives NOT_CACHED.
 */
function answer(ctx: Ctx, state: AccountState, feature: Pick<Feature, 'id' | 'key' | 'type'>, readFresh: boolean, known?: PlanCatalog, peekOnly = false): EntitlementCheck | Promise<EntitlementCheck> {
  const sub = state.sub;
  if (!sub || !state.catalogKey) return checkOf(state, feature, null, { reason: 'no_active_subscription' });
  const catalog = known ?? catalogNow(ctx, state.catalogKey, readFresh);
  if (!catalog) return peekOnly ? NOT_CACHED : catalogOf(ctx, state.catalogKey, readFresh).then((c) => answer(ctx, state, feature, readFresh, c));
  const ent = catalog.ents.get(feature.key);
  if (!ent || ent.featureId !== feature.id) return checkOf(state, feature, catalog, { reason: 'not_in_plan' });
  if (feature.type === 'boolean') return checkOf(state, feature, catalog, { allowed: ent.enabled, reason: ent.enabled ? null : 'feature_disabled' });
  const window = limitWindow(ent.period, sub, ctx.asOf);
  const metered = ent.billableMetricId ? catalog.metrics.get(ent.billableMetricId) : undefined;
  if (!metered) return checkOf(state, feature, catalog, { allowed: true, limit: ent.limit, period: periodOf(window), reason: 'no_meter' });
  if (readFresh) {
    const spec: UsageSpec = { metered, accountId: state.accountId, start: window.start, end: window.end };
    return loadUsage(ctx.deps.database.db, ctx.workspaceId, spec).then((used) => limitAnswer(state, feature, catalog, ent, periodOf(window), used));
  }
  const e = usageEntry(ctx, metered, state.accountId, window);
  const used = usageNow(ctx, e);
  if (used !== undefined) return limitAnswer(state, feature, catalog, ent, e.period, used);
  return peekOnly ? NOT_CACHED : usageOf(ctx, e).then((u) => limitAnswer(state, feature, catalog, ent, e.period, u));
}

const periodOf = (window: { start: Date; end: Date }) => ({ start: window.start.toISOString(), end: window.end.toISOString() });

/** The answer of a metered limit feature once its usage is known. */
function limitAnswer(state: AccountState, feature: Pick<Feature, 'key' | 'type'>, catalog: PlanCatalog, ent: Entitlement, period: EntitlementCheck['period'], used: string): EntitlementCheck {
  if (ent.limit === null) return checkOf(state, feature, catalog, { allowed: true, limit: null, used, period });
  const { remaining, allowed, percentUsed } = against(ent.limit, used);
  return checkOf(state, feature, catalog, { allowed, limit: ent.limit, used, remaining, percent_used: percentUsed, period, reason: allowed ? null : 'limit_reached' });
}

/** The answer object, its fields in the documented order; what `o` does not give is false / null. */
function checkOf(state: AccountState, feature: Pick<Feature, 'key' | 'type'>, catalog: PlanCatalog | null, o: Partial<EntitlementCheck>): EntitlementCheck {
  return {
    account: state.accountId,
    feature: feature.key,
    allowed: o.allowed ?? false,
    type: feature.type,
    limit: o.limit ?? null,
    used: o.used ?? null,
    remaining: o.remaining ?? null,
    percent_used: o.percent_used ?? null,
    period: o.period ?? null,
    subscription: catalog && state.sub ? state.sub.id : null,
    plan: catalog ? catalog.planKey : null,
    reason: o.reason ?? null,
  };
}

/**
 * What is left of `limit` when `used` is used: 1,000,000 and "1234" → remaining "998766", allowed,
 * "0.12" percent. Memoized (the same few values answer thousands of checks a second; decimal
 * arithmetic on each was a tenth of a check's cost); the memo is dropped whole when it grows large.
 */
const limitMemo = new Map<string, { remaining: string; allowed: boolean; percentUsed: string | null }>();
function against(limit: number, used: string) {
  const k = `${limit}|${used}`;
  let r = limitMemo.get(k);
  if (!r) {
    const left = dec(limit).minus(used);
    r = { remaining: left.isNegative() ? '0' : left.toString(), allowed: left.greaterThan(0), percentUsed: percent(used, limit) };
    if (limitMemo.size >= 10_000) limitMemo.clear();
    limitMemo.set(k, r);
  }
  return r;
}

/** Current-period usage of every metered entitlement of the account's plan, against its limits (read fresh, not from the cache). */
export async function accountUsage(ctx: Ctx, accountRef: string) {
  const state = await stateOf(ctx, accountRef, true);
  if (!state.sub) return { account: state.accountId, subscription: null, plan: null, items: [] as EntitlementCheck[] };
  const catalog = await catalogOf(ctx, state.catalogKey!, true);
  const items: EntitlementCheck[] = [];
  for (const e of catalog.ents.values()) {
    if (e.featureType === 'limit') items.push(await answer(ctx, state, { id: e.featureId, key: e.featureKey, type: e.featureType }, true, catalog));
  }
  return { account: state.accountId, subscription: state.sub.id, plan: catalog.planKey, items };
}

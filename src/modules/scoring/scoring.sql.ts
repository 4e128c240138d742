/**
 * The set-based measurement of a model's event signals over `product_events`, for all accounts
 * (the full recompute) or a few (the per-event rescore), at any instant `asOf` — backtests replay
 * the past with the same queries: only events with timestamp < asOf are read, so nothing leaks.
 *
 * For all accounts, hash aggregations over the events of the span (no sort of the event stream,
 * which at 10M events spills and dominates); for a few accounts, one query (see accountsSql):
 * 1. counts — GROUP BY account, each spec's count per window and latest match as aggregates
 *    filtered by the spec's match;
 * 2. distincts — per spec that counts distinct things (users, days, user-days, event names,
 *    property values): the (account, key) pairs of its matching events in its window,
 *    deduplicated, counted per account.
 * Windows are whole days back from asOf: an event is in a window of w days when asOf − ts < w days;
 * "days since the latest match" is floor((asOf − latest) / 1 day).
 */
import { sql } from 'drizzle-orm';
import type { Db } from '../../context.ts';
import type { Database } from '../../db/client.ts';
import { toDate } from '../../db/sql.ts';
import { DAY_MS } from '../../kernel/dates.ts';
import { execIn, type Exec } from '../events/index.ts';
import type { AggregateSpec, Aggregates } from './compute/score.ts';
import type { EventSource, PropertyFilter } from './model.schema.ts';

class Params {
  readonly values: unknown[] = [];
  add(v: unknown): string {
    this.values.push(v);
    return `$${this.values.length}`;
  }
}

/** Window of data a spec needs: a trend reads two windows. */
export const spanDays = (s: EventSource) => (s.aggregation === 'trend' ? 2 * s.window_days : s.window_days);
const isDistinct = (s: EventSource) => s.aggregation !== 'count' && s.aggregation !== 'trend';
/** The specs query 1 measures, with their index in the input. */
const counted = (specs: readonly AggregateSpec[]) => specs.map((s, i) => ({ s, i })).filter(({ s }) => !isDistinct(s.source) || s.decays);
const normPath = (p: string) => p.replace(/\/+$/, '');

function matchSql(s: EventSource, p: Params): string {
  const kinds: string[] = [];
  if (s.events.length) kinds.push(`(e.type = 'track' AND e.event = ANY(${p.add(s.events)}::text[]))`);
  if (s.page_paths.length) {
    kinds.push(`(e.type IN ('page', 'screen') AND rtrim(coalesce(e.properties ->> 'path', e.context -> 'page' ->> 'path'), '/') = ANY(${p.add(s.page_paths.map(normPath))}::text[]))`);
  }
  if (s.page_names.length) kinds.push(`(e.type IN ('page', 'screen') AND e.event = ANY(${p.add(s.page_names)}::text[]))`);
  const parts = [...(kinds.length ? [`(${kinds.join(' OR ')})`] : []), ...s.filters.map((f) => filterSql(f, p))];
  return parts.length ? parts.join(' AND ') : 'TRUE';
}

/** Filter semantics are the catalog's: text comparison of properties->>'p'; neq/not_in also match events without it. */
function filterSql(f: PropertyFilter, p: Params): string {
  const key = p.add(f.property);
  const text = `(e.properties ->> ${key})`;
  switch (f.operator) {
    case 'eq':
      return `${text} = ${p.add(f.values[0] ?? '')}`;
    case 'neq':
      return `${text} IS DISTINCT FROM ${p.add(f.values[0] ?? '')}`;
    case 'in':
      return `${text} = ANY(${p.add(f.values)}::text[])`;
    case 'not_in':
      return `(${text} IS NULL OR NOT (${text} = ANY(${p.add(f.values)}::text[])))`;
    case 'exists':
      return `(e.properties -> ${key}) IS NOT NULL`;
    case 'not_exists':
      return `(e.properties -> ${key}) IS NULL`;
  }
}

export interface MeasureInput {
  workspaceId: string;
  asOf: Date;
  specs: readonly AggregateSpec[];
  /** Only these accounts (the incremental path); all accounts when absent. */
  accountIds?: readonly string[];
}

interface Built {
  text: string;
  params: unknown[];
}

/** The events a measure reads, given an account condition: scored types, in the last `days` days before asOf. */
function spanWhere(input: Omit<MeasureInput, 'accountIds'>, p: Params, days: number, account: string): string {
  const ws = p.add(input.workspaceId);
  const asOf = p.add(input.asOf.toISOString());
  const from = p.add(new Date(input.asOf.getTime() - days * DAY_MS).toISOString());
  return `e.workspace_id = ${ws} AND ${account} AND e.type IN ('track', 'page', 'screen')
          AND e.timestamp > ${from}::timestamptz AND e.timestamp < ${asOf}::timestamptz`;
}

/** The bulk path's span: all the workspace's attributed events. */
const base = (input: Omit<MeasureInput, 'accountIds'>, p: Params, days: number) => spanWhere(input, p, days, 'e.account_id IS NOT NULL');

/**
 * Query 1: counts per window and latest match, per spec, one group per account: each event's
 * match of each spec is evaluated once (m_i), and aggregates filtered by it count the windows.
 * Grouping by account alone keeps the hash tables at one entry per account (100,000 at full
 * size) and the workers' partial groups few to merge (3 × 100,000 rows), where grouping by
 * (account, mask of matched specs) made ~500,000 groups and merged 1.2M partial rows on one
 * core (18.6 s against 16.1 s for this form at 10M events, same results). Exported for tests
 * and EXPLAIN.
 */
export function countsSql(input: Omit<MeasureInput, 'accountIds'>): Built {
  const p = new Params();
  const specs = counted(input.specs);
  const maxDays = Math.max(1, ...specs.map(({ s }) => spanDays(s.source)));
  const where = base(input, p, maxDays);
  const asOfMs = input.asOf.getTime();
  const after = new Map<number, string>();
  const since = (days: number) => {
    if (!after.has(days)) after.set(days, `${p.add(new Date(asOfMs - days * DAY_MS).toISOString())}::timestamptz`);
    return after.get(days)!;
  };
  const inner: string[] = ['e.account_id AS a', 'e.timestamp AS ts'];
  const outer: string[] = ['a AS account_id'];
  for (const { s, i } of specs) {
    const w = s.source.window_days;
    inner.push(`(${matchSql(s.source, p)}) AS m${i}`);
    outer.push(`count(*) FILTER (WHERE m${i} AND ts > ${since(w)})::int AS v${i}`);
    outer.push(s.source.aggregation === 'trend' ? `count(*) FILTER (WHERE m${i} AND ts > ${since(2 * w)} AND ts <= ${since(w)})::int AS q${i}` : `0 AS q${i}`);
    outer.push(`max(ts) FILTER (WHERE m${i} AND ts > ${since(w)}) AS l${i}`);
  }
  const text = `SELECT ${outer.join(', ')} FROM (SELECT ${inner.join(', ')} FROM product_events e WHERE ${where}) x GROUP BY a`;
  return { text, params: p.values };
}

/**
 * Query 2: distinct counts, one query per spec that needs one (each planned on its own, so each
 * gets a parallel scan): the (account, key) pairs of its matching events in its window,
 * deduplicated, counted per account.
 */
export function distinctSql(input: Omit<MeasureInput, 'accountIds'>): Array<Built & { index: number }> {
  return input.specs.flatMap((s, i) => {
    if (!isDistinct(s.source)) return [];
    const p = new Params();
    const key = keyColumns(s.source, p, input.asOf);
    const where = base(input, p, s.source.window_days);
    const cols = key.map((c, j) => `${c} AS k${j}`).join(', ');
    const keys = key.map((_, j) => `${j + 2}`).join(', ');
    const text = `SELECT a AS account_id, count(k0)::int AS v FROM (
        SELECT e.account_id AS a, ${cols} FROM product_events e
        WHERE ${where} AND (${matchSql(s.source, p)})
        GROUP BY 1, ${keys}
      ) d GROUP BY a HAVING count(k0) > 0`;
    return [{ text, params: p.values, index: i }];
  });
}

/** Whole days back from asOf: 0 for the last 24 hours. */
const daySql = (p: Params, asOf: Date) => `floor(date_part('epoch', ${p.add(asOf.toISOString())}::timestamptz - e.timestamp) / 86400)::int`;

/** What a distinct spec counts, per event, as one text (the incremental path's count(DISTINCT …)). */
function keySql(src: EventSource, p: Params, asOf: Date): string {
  switch (src.aggregation) {
    case 'distinct_users':
      return 'e.user_id';
    case 'distinct_days':
      return `${daySql(p, asOf)}::text`;
    case 'daily_active_users':
      return `e.user_id || ':' || ${daySql(p, asOf)}`;
    case 'distinct_events':
      return 'e.event';
    default:
      return `(e.properties ->> ${p.add(src.property ?? '')})`;
  }
}

/**
 * The same key as grouping columns (the bulk path): a (user, day) pair is two columns rather
 * than a concatenated text built per event. A key exists when its first column is non-null (a
 * day always is): events without one are grouped too and not counted (count(k0)), rather than
 * filtered out by a second evaluation of the key — a property key is a jsonb lookup, and the
 * team indicator looks one up in every event of the span (10M lookups at 10M events).
 * Distinct (user, day) pairs = distinct `user:day` texts, since user ids and days are non-null there.
 */
function keyColumns(src: EventSource, p: Params, asOf: Date): string[] {
  switch (src.aggregation) {
    case 'distinct_users':
      return ['e.user_id'];
    case 'distinct_days':
      return [daySql(p, asOf)];
    case 'daily_active_users':
      return ['e.user_id', daySql(p, asOf)];
    case 'distinct_events':
      return ['e.event'];
    default:
      return [`(e.properties ->> ${p.add(src.property ?? '')})`];
  }
}

/**
 * The incremental path (a few accounts): ONE query; each account's events of the span are read
 * through the (workspace, account, timestamp) index and aggregated on their own (a hundred-odd
 * events per account, so its DISTINCT sorts cost nothing). Accounts with no event in the span
 * return no row, as in the bulk path.
 *
 * The accounts are a LATERAL lookup each, not `account_id = ANY(…)`: with statistics that make
 * the workspace's events look few (never analyzed, or analyzed before a burst of traffic), the
 * planner read the list as a filter over a range scan of the whole workspace's span —
 * `bench ingest` logged batches of 15–33 accounts reading 33,000–178,000 events to keep 300–4,500,
 * and these statements were nearly all of the re-scoring's database time. A per-account
 * aggregate has nothing to flatten and no plan but the index lookup.
 */
export function accountsSql(input: MeasureInput & { accountIds: readonly string[] }): Built {
  const p = new Params();
  const maxDays = Math.max(1, ...input.specs.map((s) => spanDays(s.source)));
  const accounts = p.add([...new Set(input.accountIds)]);
  const where = spanWhere(input, p, maxDays, 'e.account_id = acc.id');
  const asOfMs = input.asOf.getTime();
  const after = (days: number) => `${p.add(new Date(asOfMs - days * DAY_MS).toISOString())}::timestamptz`;
  const inner: string[] = ['e.timestamp AS ts'];
  const outer: string[] = ['count(*) AS n'];
  input.specs.forEach((s, i) => {
    const src = s.source;
    inner.push(`(${matchSql(src, p)}) AS m${i}`);
    if (isDistinct(src)) inner.push(`${keySql(src, p, input.asOf)} AS k${i}`);
    const inWindow = `m${i} AND ts > ${after(src.window_days)}`;
    const value = isDistinct(src) ? `count(DISTINCT k${i}) FILTER (WHERE ${inWindow})` : `count(*) FILTER (WHERE ${inWindow})`;
    const prev = src.aggregation === 'trend' ? `count(*) FILTER (WHERE m${i} AND ts > ${after(2 * src.window_days)} AND ts <= ${after(src.window_days)})` : '0';
    outer.push(`(${value})::int AS v${i}`, `(${prev})::int AS q${i}`, `max(ts) FILTER (WHERE ${inWindow}) AS l${i}`);
  });
  const text = `SELECT acc.id AS account_id, x.* FROM unnest(${accounts}::text[]) AS acc(id)
    CROSS JOIN LATERAL (SELECT ${outer.join(', ')} FROM (
      SELECT ${inner.join(', ')} FROM product_events e WHERE ${where}) y) x
    WHERE x.n > 0`;
  return { text, params: p.values };
}

type Row = Record<string, unknown>;
type BulkQuery = Built & { fold(rows: Row[], out: Map<string, Aggregates>): void };

const daysSince = (asOf: Date) => (value: number, l: unknown) => (value > 0 && l !== null && l !== undefined ? Math.floor((asOf.getTime() - toDate(l).getTime()) / DAY_MS) : null);

/**
 * The bulk measurement (all accounts) as separate statements — the counts query and one per
 * distinct spec — each with how to fold its rows into the result (counts first).
 */
function bulkQueries(input: MeasureInput): BulkQuery[] {
  const lastDays = daysSince(input.asOf);
  const out: BulkQuery[] = [];
  const inCounts = counted(input.specs);
  if (inCounts.length) {
    out.push({
      ...countsSql(input),
      fold(rows, acc) {
        for (const r of rows) {
          const aggs: Aggregates = {};
          for (const { s, i } of inCounts) {
            const value = Number(r[`v${i}`] ?? 0);
            // A distinct spec's value comes from query 2 (0 when it finds no key); here only its latest match.
            aggs[s.id] = { value: isDistinct(s.source) ? 0 : value, prev: Number(r[`q${i}`] ?? 0), lastDays: lastDays(value, r[`l${i}`]) };
          }
          acc.set(r.account_id as string, aggs);
        }
      },
    });
  }
  // Distinct specs: the value is the distinct count; days since the latest match (decaying ones) come from query 1.
  for (const q of distinctSql(input)) {
    const spec = input.specs[q.index];
    out.push({
      text: q.text,
      params: q.params,
      fold(rows, acc) {
        for (const r of rows) {
          const aggs = acc.get(r.account_id as string) ?? {};
          aggs[spec.id] = { value: Number(r.v), prev: 0, lastDays: aggs[spec.id]?.lastDays ?? null };
          acc.set(r.account_id as string, aggs);
        }
      },
    });
  }
  return out;
}

function folded(input: MeasureInput, queries: readonly BulkQuery[], results: readonly Row[][]): Map<string, Aggregates> {
  const out = new Map<string, Aggregates>();
  queries.forEach((q, k) => q.fold(results[k], out));
  // Every spec present for every account measured (as the incremental path returns them).
  for (const aggs of out.values()) for (const s of input.specs) aggs[s.id] ??= { value: 0, prev: 0, lastDays: null };
  return out;
}

/**
 * Measures every spec for the accounts that have events in the span; absent accounts measured
 * nothing. A few accounts: one index-driven query; all accounts: the hash aggregations (use
 * `measureBulk` or `measureAll`, which give them the memory they need).
 */
export async function measure(exec: Exec, input: MeasureInput): Promise<Map<string, Aggregates>> {
  const out = new Map<string, Aggregates>();
  if ((input.accountIds && input.accountIds.length === 0) || input.specs.length === 0) return out;
  if (input.accountIds) {
    const lastDays = daysSince(input.asOf);
    const q = accountsSql({ ...input, accountIds: input.accountIds });
    for (const r of await exec<Row>(q.text, q.params)) {
      const aggs: Aggregates = {};
      input.specs.forEach((s, i) => {
        const value = Number(r[`v${i}`] ?? 0);
        // Like the bulk path: the latest match only where decay needs it.
        const keepLast = !isDistinct(s.source) || s.decays;
        aggs[s.id] = { value, prev: Number(r[`q${i}`] ?? 0), lastDays: keepLast ? lastDays(value, r[`l${i}`]) : null };
      });
      out.set(r.account_id as string, aggs);
    }
    return out;
  }
  const queries = bulkQueries(input);
  const results: Row[][] = [];
  for (const q of queries) results.push(await exec<Row>(q.text, q.params));
  return folded(input, queries, results);
}

/** Work memory for the bulk hash aggregations (all accounts at once): enough to stay in memory at ~100k accounts. */
export const BULK_WORK_MEM = '256MB';

/**
 * A bulk read transaction's settings: work_mem raised so the aggregations (all accounts) and the
 * sorts (a large batch of dirty accounts) do not spill; no JIT — compiling the counts query with
 * inlining and optimization took 2.7 s of a 21 s run at 10M events (and every parallel worker
 * compiles it again), and a dirty batch is a sub-second query whose cost estimate passes
 * jit_above_cost from a few hundred accounts on. For all accounts only, partial aggregates
 * priced as cheap to gather: the planner overestimates the (account, key) groups and would
 * otherwise run the distinct queries on one core (a batch of accounts is read through the
 * index, which this would outbid).
 */
async function bulkSettings(tx: Db, allAccounts: boolean): Promise<void> {
  await tx.execute(sql.raw(`SET LOCAL work_mem = '${BULK_WORK_MEM}'`));
  await tx.execute(sql.raw('SET LOCAL jit = off'));
  if (allAccounts) await tx.execute(sql.raw('SET LOCAL parallel_tuple_cost = 0.001'));
}

/** `measure` in one read transaction with the bulk settings (PGlite, backtests, dirty batches). */
export async function measureBulk(db: Db, input: MeasureInput): Promise<Map<string, Aggregates>> {
  return db.transaction(async (tx) => {
    await bulkSettings(tx, !input.accountIds);
    return measure(execIn(tx), input);
  });
}

/**
 * All accounts, for the full recompute: on PostgreSQL the bulk statements run at once, each in
 * its own read transaction. Each is a parallel scan followed by a phase on one core (the leader
 * merging the workers' groups: 3–5 s of each statement at 10M events); side by side, one
 * statement's merge runs while another's workers scan, instead of a core idling. Same
 * statements, same instant: the result is `measureBulk`'s. PGlite (one connection): in turn.
 */
export async function measureAll(database: Database, input: MeasureInput): Promise<Map<string, Aggregates>> {
  if (database.kind !== 'postgres' || input.accountIds) return measureBulk(database.db, input);
  if (input.specs.length === 0) return new Map();
  const queries = bulkQueries(input);
  const results = await Promise.all(
    queries.map((q) =>
      database.db.transaction(async (tx) => {
        await bulkSettings(tx, true);
        return execIn(tx)<Row>(q.text, q.params);
      }),
    ),
  );
  return folded(input, queries, results);
}

/** Accounts per slice below which a batch of dirty accounts is measured in one query. */
export const SLICE_MIN_ACCOUNTS = 200;

/** A batch's measure, and how long its halves ran at the same time (0 for one query). */
export interface SlicedMeasure {
  aggregates: Map<string, Aggregates>;
  overlapMs: number;
}

/**
 * A batch of dirty accounts (the per-event path) measured as two halves in parallel on
 * PostgreSQL: the index-driven query sorts and aggregates in one backend (count(DISTINCT …)
 * rules out a parallel plan), so a burst of ~1,000 accounts would use one core of two. Each
 * account is measured whole in one half: the results are those of one query. PGlite (one
 * connection) and small batches: one query.
 *
 * `overlapMs` is the time both halves ran, by `now` (the process clock, in ms): the sum of their
 * durations less the span from the first start to the last end. Halves of 500 and 450 ms started
 * together → 950 − 500 = 450 ms. The pacing counts it (register.ts `flushDirty`).
 */
export async function measureSliced(database: Database, input: MeasureInput & { accountIds: readonly string[] }, now: () => number): Promise<SlicedMeasure> {
  const ids = [...new Set(input.accountIds)];
  if (database.kind !== 'postgres' || ids.length < 2 * SLICE_MIN_ACCOUNTS) return { aggregates: await measureBulk(database.db, { ...input, accountIds: ids }), overlapMs: 0 };
  const half = Math.ceil(ids.length / 2);
  const parts = await Promise.all(
    [ids.slice(0, half), ids.slice(half)].map(async (accountIds) => {
      const start = now();
      const aggregates = await measureBulk(database.db, { ...input, accountIds });
      return { aggregates, start, end: now() };
    }),
  );
  const span = Math.max(...parts.map((p) => p.end)) - Math.min(...parts.map((p) => p.start));
  const summed = parts.reduce((sum, p) => sum + (p.end - p.start), 0);
  return { aggregates: new Map(parts.flatMap((p) => [...p.aggregates])), overlapMs: Math.max(0, summed - span) };
}

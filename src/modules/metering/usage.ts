import { sql, type SQL } from 'drizzle-orm';
import type { Db } from '../../context.ts';
import { rows } from '../../db/sql.ts';
import type { BillableMetric, MetricFilter } from '../catalog/index.ts';
import { HOUR_MS, NUMERIC } from './rollups.ts';

/**
 * The one usage aggregation: billing's usage charges, the usage endpoint and entitlement checks
 * all read it. A metric aggregates an account's `track` events named `event_name` whose
 * properties pass the filters, over a half-open period [start, end) of event timestamps.
 *
 * Filter semantics are the catalog's (`matchesFilter`): values are compared with the property's
 * text form (`properties->>'p'`); `neq`/`not_in` also match events without the property.
 * Non-numeric values are ignored by sum, max and latest (as the catalog's pure `aggregate` does);
 * latest is the numeric value of the most recent event (by timestamp, then id) that has one.
 *
 * Cost: O(hours in the period), not O(events). The whole UTC hours inside [start, end) come from
 * the rollups (rollups.ts, maintained by the statements that write events); only the partial hours
 * at the two edges are read from product_events, on the (workspace, account, timestamp) index —
 * at most an hour of the account's events at each end. E.g. [Jan 10 09:17, Feb 10 09:17): hours
 * 10:00 Jan 10 … 08:00 Feb 10 from 743 rollup rows, events of [09:17, 10:00) and [09:00, 09:17).
 */

function filterSql(f: MetricFilter): SQL {
  const prop = sql`(properties ->> ${f.property})`;
  switch (f.operator) {
    case 'eq':
      return sql`${prop} = ${f.values[0] ?? ''}`;
    case 'neq':
      return sql`${prop} IS DISTINCT FROM ${f.values[0] ?? ''}`;
    case 'in':
      return sql`${prop} = ANY(${sql.param(f.values)}::text[])`;
    case 'not_in':
      return sql`(${prop} IS NULL OR NOT (${prop} = ANY(${sql.param(f.values)}::text[])))`;
  }
}

export interface UsageQuery {
  workspaceId: string;
  accountId: string;
  metric: Pick<BillableMetric, 'id' | 'eventName' | 'aggregation' | 'property' | 'filters'>;
  start: Date;
  end: Date;
}

/** The metric's value for one account and period, as a decimal string ("0" when nothing happened). */
export async function usageForPeriod(db: Db, q: UsageQuery): Promise<string> {
  const values = await usageForPeriods(db, { workspaceId: q.workspaceId, metric: q.metric, periods: [{ key: '', accountId: q.accountId, start: q.start, end: q.end }] });
  return values.get('') ?? '0';
}

/** One (account, period) to aggregate over, named by `key` in the result. */
export interface UsagePeriod {
  key: string;
  accountId: string;
  start: Date;
  end: Date;
}

/**
 * The metric's value for many (account, period) pairs in one statement — a bill run's batch. The
 * pairs are an `unnest` list; each is aggregated by the same expression (correlated subqueries per
 * pair), so one period and many periods can never disagree. Returns "0" for pairs with no events.
 *
 * Per pair, with lo = start rounded up to the hour and hi = end rounded down:
 *   rollup hours [lo, hi)            (none when lo >= hi: a period within one or two partial hours)
 *   raw events  [start, min(lo, end)) and [max(hi, lo), end)
 * which partition [start, end): when lo < hi the three pieces are consecutive; when lo >= hi the
 * raw pieces are [start, lo) and [lo, end). Each raw piece is its own range scan (an OR of two
 * ranges could make the planner scan the account's whole history).
 *
 * An account id that was merged counts its survivor's events: a merge re-points the merged
 * account's events (and moves its rollups) to the survivor (accounts/merge.service.ts) while
 * subscriptions keep naming the merged id, so B's subscription, after B was merged into A, is
 * billed for A's events — B's (moved) and A's own. Merges keep `merged_into` one hop long and
 * always naming a live account, so one lookup (on the primary key) resolves any id.
 */
export async function usageForPeriods(
  db: Db,
  q: { workspaceId: string; metric: UsageQuery['metric']; periods: readonly UsagePeriod[] },
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (!q.periods.length) return out;
  const { metric, workspaceId } = q;
  const iso = (ms: number) => new Date(ms).toISOString();
  const lo: string[] = [];
  const hi: string[] = [];
  const rawEnd: string[] = [];
  const rawStart: string[] = [];
  for (const p of q.periods) {
    const s = p.start.getTime();
    const e = p.end.getTime();
    const l = Math.ceil(s / HOUR_MS) * HOUR_MS;
    const h = Math.floor(e / HOUR_MS) * HOUR_MS;
    lo.push(iso(l));
    hi.push(iso(h));
    rawEnd.push(iso(Math.min(l, e)));
    rawStart.push(iso(Math.max(h, l)));
  }
  const list = sql`unnest(${sql.param(q.periods.map((p) => p.key))}::text[], ${sql.param(q.periods.map((p) => p.accountId))}::text[],
      ${sql.param(q.periods.map((p) => p.start.toISOString()))}::timestamptz[], ${sql.param(q.periods.map((p) => p.end.toISOString()))}::timestamptz[],
      ${sql.param(lo)}::timestamptz[], ${sql.param(hi)}::timestamptz[], ${sql.param(rawEnd)}::timestamptz[], ${sql.param(rawStart)}::timestamptz[])
      AS q(q_key, q_account, q_start, q_end, q_lo, q_hi, q_raw_end, q_raw_start)`;

  const filters = sql.join(metric.filters.map((f) => sql` AND ${filterSql(f)}`), sql``);
  const text = sql`(properties ->> ${metric.property ?? ''})`;
  const num = sql`CASE WHEN ${text} ~ ${NUMERIC} THEN ${text}::numeric END`;
  /** The pair's events in the two partial hours, with the given columns. */
  const edges = (cols: SQL) => {
    const where = sql`workspace_id = ${workspaceId} AND account_id = r.acct AND type = 'track' AND event = ${metric.eventName}${filters}`;
    return sql`SELECT ${cols} FROM product_events WHERE ${where} AND timestamp >= q.q_start AND timestamp < q.q_raw_end
      UNION ALL SELECT ${cols} FROM product_events WHERE ${where} AND timestamp >= q.q_raw_start AND timestamp < q.q_end`;
  };
  /** The pair's whole hours in a rollup table. */
  const hours = (table: SQL) =>
    sql`FROM ${table} WHERE workspace_id = ${workspaceId} AND account_id = r.acct AND metric_id = ${metric.id} AND bucket_start >= q.q_lo AND bucket_start < q.q_hi`;

  let value: SQL;
  switch (metric.aggregation) {
    case 'count':
      value = sql`(SELECT coalesce(sum(event_count), 0) ${hours(sql`usage_rollups`)}) + (SELECT count(*) FROM (${edges(sql`1`)}) e)`;
      break;
    case 'sum':
      value = sql`coalesce((SELECT sum(sum) ${hours(sql`usage_rollups`)}), 0) + coalesce((SELECT sum(n) FROM (${edges(sql`${num} AS n`)}) e), 0)`;
      break;
    case 'max':
      value = sql`coalesce(greatest((SELECT max(max) ${hours(sql`usage_rollups`)}), (SELECT max(n) FROM (${edges(sql`${num} AS n`)}) e)), 0)`;
      break;
    case 'unique_count':
      value = sql`(SELECT count(DISTINCT v) FROM (SELECT value AS v ${hours(sql`usage_rollup_values`)} UNION ALL ${edges(sql`${text} AS v`)}) e)`;
      break;
    case 'latest':
      value = sql`coalesce((SELECT v FROM (SELECT latest_at AS at, latest_id AS id, latest_value AS v ${hours(sql`usage_rollups`)} AND latest_value IS NOT NULL
          UNION ALL SELECT at, id, v FROM (${edges(sql`timestamp AS at, id, ${num} AS v`)}) e WHERE v IS NOT NULL) x
        ORDER BY at DESC, id DESC LIMIT 1), 0)`;
      break;
  }
  const result = await rows<{ k: string; v: string | null }>(
    db,
    sql`SELECT q.q_key AS k, (${value})::text AS v
        FROM ${list}
        CROSS JOIN LATERAL (SELECT coalesce((SELECT a.merged_into FROM accounts a WHERE a.workspace_id = ${workspaceId} AND a.id = q.q_account), q.q_account) AS acct) r`,
  );
  for (const r of result) out.set(r.k, normalize(r.v ?? '0'));
  return out;
}

/** "12.000" → "12", "0.50" → "0.5": one canonical text per value. */
function normalize(v: string): string {
  if (!v.includes('.')) return v;
  const t = v.replace(/0+$/, '').replace(/\.$/, '');
  return t === '-0' ? '0' : t;
}

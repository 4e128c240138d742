import { sql, type SQL } from 'drizzle-orm';
import type { Db } from '../../context.ts';
import { rows } from '../../db/sql.ts';
import type { BillableMetric, MetricFilter } from '../catalog/index.ts';

/**
 * The one usage aggregation: billing's usage charges, the usage endpoint and entitlement checks
 * all read it. A metric aggregates an account's `track` events named `event_name` whose
 * properties pass the filters, over a half-open period [start, end) of event timestamps.
 *
 * Filter semantics are the catalog's (`matchesFilter`): values are compared with the property's
 * text form (`properties->>'p'`); `neq`/`not_in` also match events without the property.
 * Non-numeric values are ignored by sum and max (as the catalog's pure `aggregate` does).
 */
const NUMERIC = `^-?[0-9]+(\\.[0-9]+)?$`;

function filterSql(f: MetricFilter): SQL {
  const prop = sql`(properties ->> ${f.property})`;
  switch (f.operator) {
    case 'eq':
      return sql`${prop} = ${f.values[0] ?? ''}`;
    case 'neq':
      return sql`${prop} IS DISTINCT FROM ${f.values[0] ?? ''}`;
    case 'in':
      return sql`${prop} = ANY(${f.values}::text[])`;
    case 'not_in':
      return sql`(${prop} IS NULL OR NOT (${prop} = ANY(${f.values}::text[])))`;
  }
}

function aggregateSql(metric: Pick<BillableMetric, 'aggregation' | 'property'>): SQL {
  const prop = metric.property ?? '';
  const text = sql`(properties ->> ${prop})`;
  const num = sql`CASE WHEN ${text} ~ ${NUMERIC} THEN ${text}::numeric END`;
  switch (metric.aggregation) {
    case 'count':
      return sql`count(*)::numeric`;
    case 'sum':
      return sql`coalesce(sum(${num}), 0)`;
    case 'max':
      return sql`coalesce(max(${num}), 0)`;
    case 'unique_count':
      return sql`count(DISTINCT ${text})::numeric`;
    case 'latest':
      // the numeric value of the most recent event that has one
      return sql`coalesce((array_agg(${num} ORDER BY timestamp DESC, id DESC) FILTER (WHERE ${num} IS NOT NULL))[1], 0)`;
  }
}

export interface UsageQuery {
  workspaceId: string;
  accountId: string;
  metric: Pick<BillableMetric, 'eventName' | 'aggregation' | 'property' | 'filters'>;
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
 * pairs are an `unnest` list; each is aggregated by the same expression and filters as a single
 * period (a correlated subquery per pair, on the (workspace, account, timestamp) index), so one
 * period and many periods can never disagree. Returns "0" for pairs with no events.
 *
 * An account id that was merged counts its survivor's events: a merge re-points the merged
 * account's events to the survivor (accounts/merge.service.ts) while subscriptions keep naming
 * the merged id, so B's subscription, after B was merged into A, is billed for A's events —
 * B's (moved) and A's own. Merges keep `merged_into` one hop long and always naming a live
 * account, so one lookup (on the primary key) resolves any id.
 */
export async function usageForPeriods(
  db: Db,
  q: { workspaceId: string; metric: UsageQuery['metric']; periods: readonly UsagePeriod[] },
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (!q.periods.length) return out;
  const filters = q.metric.filters.map((f) => sql` AND ${filterSql(f)}`);
  const list = sql`unnest(${sql.param(q.periods.map((p) => p.key))}::text[], ${sql.param(q.periods.map((p) => p.accountId))}::text[],
      ${sql.param(q.periods.map((p) => p.start.toISOString()))}::timestamptz[], ${sql.param(q.periods.map((p) => p.end.toISOString()))}::timestamptz[])
      AS q(q_key, q_account, q_start, q_end)`;
  const result = await rows<{ k: string; v: string | null }>(
    db,
    sql`SELECT q.q_key AS k, (SELECT ${aggregateSql(q.metric)}::text FROM product_events
          WHERE workspace_id = ${q.workspaceId}
            AND account_id = coalesce((SELECT a.merged_into FROM accounts a WHERE a.workspace_id = ${q.workspaceId} AND a.id = q.q_account), q.q_account)
            AND timestamp >= q.q_start AND timestamp < q.q_end
            AND type = 'track' AND event = ${q.metric.eventName}${sql.join(filters, sql``)}) AS v
        FROM ${list}`,
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

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
  const filters = q.metric.filters.map((f) => sql` AND ${filterSql(f)}`);
  const [r] = await rows<{ v: string | null }>(
    db,
    sql`SELECT ${aggregateSql(q.metric)}::text AS v FROM product_events
        WHERE workspace_id = ${q.workspaceId} AND account_id = ${q.accountId}
          AND timestamp >= ${q.start} AND timestamp < ${q.end}
          AND type = 'track' AND event = ${q.metric.eventName}${sql.join(filters, sql``)}`,
  );
  return normalize(r?.v ?? '0');
}

/** "12.000" → "12", "0.50" → "0.5": one canonical text per value. */
function normalize(v: string): string {
  if (!v.includes('.')) return v;
  const t = v.replace(/0+$/, '').replace(/\.$/, '');
  return t === '-0' ? '0' : t;
}

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { sql, type SQL } from 'drizzle-orm';
import { rows } from '../../src/db/sql.ts';
import { getMetric, type BillableMetric, type MetricFilter } from '../../src/modules/catalog/index.ts';
import { attachUnmatchedEvents, execOn, insertEvents, repointAccountEvents, type Exec, type NormalizedMessage } from '../../src/modules/events/index.ts';
import { QUIET_AFTER_STORED, StoredIdsSeen } from '../../src/modules/events/events.service.ts';
import { usageForPeriods, type UsagePeriod } from '../../src/modules/metering/index.ts';
import { startHarness, type Harness, type TestWorkspace } from '../support/harness.ts';

/**
 * The rollup-based usage aggregation answers exactly what a full scan of the raw events answers.
 * The oracle below is the aggregation as it was before rollups (a correlated subquery over
 * product_events per period), kept here and nowhere in production code.
 */
const NUMERIC = `^-?[0-9]+(\\.[0-9]+)?$`;

function oracleFilter(f: MetricFilter): SQL {
  const prop = sql`(properties ->> ${f.property})`;
  switch (f.operator) {
    case 'eq':
      return sql`${prop} = ${f.values[0]}`;
    case 'neq':
      return sql`${prop} IS DISTINCT FROM ${f.values[0]}`;
    case 'in':
      return sql`${prop} = ANY(${sql.param(f.values)}::text[])`;
    case 'not_in':
      return sql`(${prop} IS NULL OR NOT (${prop} = ANY(${sql.param(f.values)}::text[])))`;
  }
}

function oracleAggregate(metric: BillableMetric): SQL {
  const text = sql`(properties ->> ${metric.property ?? ''})`;
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
      return sql`coalesce((array_agg(${num} ORDER BY timestamp DESC, id DESC) FILTER (WHERE ${num} IS NOT NULL))[1], 0)`;
  }
}

async function oracle(h: Harness, workspaceId: string, metric: BillableMetric, periods: readonly UsagePeriod[]): Promise<Map<string, string>> {
  const filters = metric.filters.map((f) => sql` AND ${oracleFilter(f)}`);
  const list = sql`unnest(${sql.param(periods.map((p) => p.key))}::text[], ${sql.param(periods.map((p) => p.accountId))}::text[],
      ${sql.param(periods.map((p) => p.start.toISOString()))}::timestamptz[], ${sql.param(periods.map((p) => p.end.toISOString()))}::timestamptz[])
      AS q(q_key, q_account, q_start, q_end)`;
  const result = await rows<{ k: string; v: string }>(
    h.database.db,
    sql`SELECT q.q_key AS k, (SELECT ${oracleAggregate(metric)}::text FROM product_events
          WHERE workspace_id = ${workspaceId}
            AND account_id = coalesce((SELECT a.merged_into FROM accounts a WHERE a.workspace_id = ${workspaceId} AND a.id = q.q_account), q.q_account)
            AND timestamp >= q.q_start AND timestamp < q.q_end
            AND type = 'track' AND event = ${metric.eventName}${sql.join(filters, sql``)}) AS v
        FROM ${list}`,
  );
  const canonical = (v: string) => (v.includes('.') ? v.replace(/0+$/, '').replace(/\.$/, '') : v);
  return new Map(result.map((r) => [r.k, canonical(r.v)]));
}

const T0 = Date.parse('2026-01-01T00:00:00Z');
const HOUR = 3_600_000;

/** Instants clustered around hour edges (the rollup / raw boundary), over seven hours. */
const instant = fc
  .tuple(fc.integer({ min: -1, max: 6 }), fc.constantFrom(0, 1, 999, 60_000, HOUR / 2, HOUR - 1000, HOUR - 1), fc.integer({ min: 0, max: 999 }))
  .map(([h, off, jitter]) => T0 + h * HOUR + (off === HOUR / 2 ? off + jitter * 1000 : off));

const numberish = fc.oneof(
  fc.integer({ min: -50, max: 500 }),
  fc.constantFrom(0.5, 2.25, 1e-7),
  fc.constantFrom('7', '12.50', '-3', '007', '1e3', 'abc', ' 4', ''),
  fc.boolean(),
  fc.constant(null),
);

const eventArb = fc.record({
  msg: fc.integer({ min: 0, max: 60 }),
  type: fc.constantFrom('track', 'track', 'track', 'page'),
  event: fc.constantFrom('Call', 'Call', 'Upload', 'Other'),
  account: fc.constantFrom<string | null>('acct_p1', 'acct_p2', 'acct_p3', null),
  user: fc.constantFrom('u1', 'u2', 'u3'),
  at: instant,
  n: fc.option(numberish, { nil: undefined }),
  plan: fc.option(fc.constantFrom('pro', 'free', 7), { nil: undefined }),
  tag: fc.option(fc.constantFrom('x', 'y', 'z', 'x'), { nil: undefined }),
});
type Ev = typeof eventArb extends fc.Arbitrary<infer T> ? T : never;

const opArb = fc.oneof(
  { weight: 5, arbitrary: fc.array(eventArb, { minLength: 1, maxLength: 25 }).map((events) => ({ op: 'insert' as const, events })) },
  // Several users mapped in one statement (a key mapped twice keeps its first account).
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('attach' as const),
      map: fc.array(fc.tuple(fc.constantFrom('u1', 'u2', 'u3'), fc.constantFrom('acct_p1', 'acct_p4')), { minLength: 1, maxLength: 3 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('merge' as const), from: fc.constantFrom('acct_p2', 'acct_p3'), into: fc.constantFrom('acct_p1', 'acct_p4') }) },
  { weight: 1, arbitrary: fc.constant({ op: 'late_metric' as const }) },
);

const periodArb = fc.record({ account: fc.constantFrom('acct_p1', 'acct_p2', 'acct_p3', 'acct_p4'), a: instant, b: instant });

const METRICS = [
  { key: 'calls', event_name: 'Call', aggregation: 'count' },
  { key: 'pro_calls', event_name: 'Call', aggregation: 'count', filters: [{ property: 'plan', operator: 'eq', value: 'pro' }] },
  { key: 'n_sum', event_name: 'Call', aggregation: 'sum', property: 'n', filters: [{ property: 'plan', operator: 'neq', value: 'free' }] },
  { key: 'n_max', event_name: 'Call', aggregation: 'max', property: 'n', filters: [{ property: 'tag', operator: 'not_in', values: ['z'] }] },
  { key: 'tags', event_name: 'Call', aggregation: 'unique_count', property: 'tag' },
  { key: 'n_latest', event_name: 'Call', aggregation: 'latest', property: 'n' },
  { key: 'upload_n', event_name: 'Upload', aggregation: 'sum', property: 'n', filters: [{ property: 'tag', operator: 'in', values: ['x', 'y'] }] },
];
const LATE = [
  { key: 'late_plans', event_name: 'Call', aggregation: 'unique_count', property: 'plan', filters: [{ property: 'tag', operator: 'neq', value: 'y' }] },
  { key: 'late_latest', event_name: 'Upload', aggregation: 'latest', property: 'n' },
  { key: 'late_max', event_name: 'Call', aggregation: 'max', property: 'n', filters: [{ property: 'plan', operator: 'in', values: ['pro', '7'] }] },
];

function message(e: Ev, i: number): NormalizedMessage {
  const properties: Record<string, unknown> = {};
  if (e.n !== undefined) properties.n = e.n;
  if (e.plan !== undefined) properties.plan = e.plan;
  if (e.tag !== undefined) properties.tag = e.tag;
  return {
    index: i,
    messageId: `m${e.msg}`,
    type: e.type as NormalizedMessage['type'],
    event: e.event,
    userId: e.user,
    anonymousId: null,
    groupId: null,
    previousId: null,
    timestamp: new Date(e.at),
    sentAt: null,
    receivedAt: new Date(T0),
    properties,
    traits: null,
    context: null,
  };
}

describe('usage rollups', () => {
  let h: Harness;
  let serial = 0;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  const createMetric = async (ws: TestWorkspace, body: Record<string, unknown>): Promise<BillableMetric> => {
    const r = await h.api(ws).post('/v1/billable_metrics', { name: body.key, ...body });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return getMetric(h.database.db, ws.id, r.body.id);
  };
  const insert = (ws: TestWorkspace, events: readonly Ev[]) =>
    insertEvents(execOn(h.database), {
      workspaceId: ws.id,
      messages: events.map(message),
      ids: events.map(() => `pev_t${String(++serial).padStart(8, '0')}`),
      accountIds: events.map((e) => e.account),
    });

  it('answers what a scan of the raw events answers, for any events, periods, attachments, merges and late metrics', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 8 }), fc.array(periodArb, { minLength: 1, maxLength: 12 }), async (ops, periodSpecs) => {
        const ws = await h.workspace();
        const metrics: BillableMetric[] = [];
        for (const m of METRICS) metrics.push(await createMetric(ws, m));
        let late = 0;
        for (const op of ops) {
          if (op.op === 'insert') await insert(ws, op.events);
          else if (op.op === 'attach') await attachUnmatchedEvents(execOn(h.database), { workspaceId: ws.id, byUserId: op.map, byAnonymousId: [] });
          else if (op.op === 'merge') await repointAccountEvents(execOn(h.database), { workspaceId: ws.id, fromAccountId: op.from, toAccountId: op.into });
          else if (late < LATE.length) metrics.push(await createMetric(ws, LATE[late++]));
        }
        const periods: UsagePeriod[] = periodSpecs.map((p, i) => ({ key: `k${i}`, accountId: p.account, start: new Date(Math.min(p.a, p.b)), end: new Date(Math.max(p.a, p.b)) }));
        // Whole-range periods too: every hour from the rollups.
        periods.push({ key: 'all1', accountId: 'acct_p1', start: new Date(T0 - 2 * HOUR), end: new Date(T0 + 8 * HOUR) });
        periods.push({ key: 'all4', accountId: 'acct_p4', start: new Date(T0 - HOUR + 1), end: new Date(T0 + 7 * HOUR - 1) });
        for (const metric of metrics) {
          const got = await usageForPeriods(h.database.db, { workspaceId: ws.id, metric, periods });
          const want = await oracle(h, ws.id, metric, periods);
          assert.deepEqual(Object.fromEntries(got), Object.fromEntries(want), `metric ${metric.key}`);
        }
      }),
      { numRuns: Number(process.env.ROLLUP_RUNS ?? 30), seed: process.env.ROLLUP_SEED ? Number(process.env.ROLLUP_SEED) : undefined },
    );
  });

  it('does not count a retried batch twice on the combined INSERT path, which tries without ON CONFLICT first', async () => {
    const ws = await h.workspace();
    const sum = await createMetric(ws, METRICS[2]);
    const seen = new StoredIdsSeen();
    const sent: string[] = [];
    const exec: Exec = (text, params, opts) => {
      sent.push(text.includes('ON CONFLICT (workspace_id, message_id) DO NOTHING') ? 'skip' : 'plain');
      return execOn(h.database)(text, params, opts);
    };
    let msg = 100;
    const events = (n: number): Ev[] => Array.from({ length: n }, () => ({ msg: ++msg, type: 'track', event: 'Call', account: 'acct_p1', user: 'u1', at: T0 + msg * 1000, n: 10, plan: 'pro', tag: 'x' }));
    const insertVia = (batch: readonly Ev[]) => {
      sent.length = 0;
      return seen.insert(exec, { workspaceId: ws.id, messages: batch.map(message), ids: batch.map(() => `pev_t${String(++serial).padStart(8, '0')}`), accountIds: batch.map((e) => e.account) });
    };
    const first = events(4);
    assert.equal(await insertVia(first), 4);
    assert.deepEqual(sent, ['plain'], 'new messageIds: one statement, without ON CONFLICT');
    // A retry of two of them with three new ones: the plain statement fails on the stored
    // messageIds and writes nothing; the same batch then skips them.
    assert.equal(await insertVia([...events(3), first[1], first[3]]), 3);
    assert.deepEqual(sent, ['plain', 'skip']);
    const usage = async () => {
      const [r] = await h.database.query<{ n: string; s: string; e: number }>(
        `SELECT sum(event_count)::text AS n, sum(sum)::text AS s, (SELECT count(*)::int FROM product_events WHERE workspace_id = $1) AS e
           FROM usage_rollups WHERE workspace_id = $1 AND metric_id = $2`,
        [ws.id, sum.id],
      );
      return { ...r, e: Number(r.e) };
    };
    assert.deepEqual(await usage(), { n: '7', s: '70', e: 7 });
    // Retries come in runs: the next statements skip stored messageIds from the start...
    for (let i = 0; i < QUIET_AFTER_STORED - 1; i++) {
      assert.equal(await insertVia(events(1)), 1);
      assert.deepEqual(sent, ['skip'], `statement ${i + 1} after the retry`);
    }
    // ...a stored one met on that path starts the count again...
    assert.equal(await insertVia([first[0], ...events(1)]), 1);
    assert.deepEqual(sent, ['skip']);
    for (let i = 0; i < QUIET_AFTER_STORED; i++) {
      await insertVia(events(1));
      assert.deepEqual(sent, ['skip'], `statement ${i + 1} after the stored one`);
    }
    // ...and after QUIET_AFTER_STORED statements in a row that met none, plain again.
    assert.equal(await insertVia(events(2)), 2);
    assert.deepEqual(sent, ['plain']);
    const total = 7 + (QUIET_AFTER_STORED - 1) + 1 + QUIET_AFTER_STORED + 2;
    assert.deepEqual(await usage(), { n: String(total), s: String(10 * total), e: total });
    const [dupes] = await h.database.query<{ n: number }>('SELECT count(*)::int AS n FROM (SELECT message_id FROM product_events WHERE workspace_id = $1 GROUP BY 1 HAVING count(*) > 1) d', [ws.id]);
    assert.equal(Number(dupes.n), 0);
  });

  it('does not count a retried batch twice', async () => {
    const ws = await h.workspace();
    const calls = await createMetric(ws, METRICS[0]);
    const sum = await createMetric(ws, METRICS[2]);
    const batch: Ev[] = [0, 1, 2, 3].map((i) => ({ msg: i, type: 'track', event: 'Call', account: 'acct_p1', user: 'u1', at: T0 + i * 1000, n: 10, plan: 'pro', tag: 'x' }));
    assert.equal(await insert(ws, batch), 4);
    assert.equal(await insert(ws, batch), 0, 'the retry stores nothing');
    // A batch repeating two of them (one with a different value: the first delivery stands).
    assert.equal(await insert(ws, [batch[0], { ...batch[1], n: 1000 }, { ...batch[2], msg: 9 }]), 1);
    const [r] = await h.database.query<{ n: string; s: string }>('SELECT sum(event_count)::text AS n, sum(sum)::text AS s FROM usage_rollups WHERE workspace_id = $1 AND metric_id = $2', [
      ws.id,
      sum.id,
    ]);
    assert.deepEqual(r, { n: '5', s: '50' });
    const period = [{ key: 'p', accountId: 'acct_p1', start: new Date(T0 - HOUR), end: new Date(T0 + HOUR) }];
    assert.equal((await usageForPeriods(h.database.db, { workspaceId: ws.id, metric: calls, periods: period })).get('p'), '5');
    assert.equal((await usageForPeriods(h.database.db, { workspaceId: ws.id, metric: sum, periods: period })).get('p'), '50');
  });

  it('keeps per hour the numeric value of the newest event (by timestamp, then id), within one batch and across batches', async () => {
    const ws = await h.workspace();
    const calls = await createMetric(ws, METRICS[0]);
    const latest = await createMetric(ws, METRICS[5]);
    const ev = (msg: number, at: number, n: Ev['n']): Ev => ({ msg, type: 'track', event: 'Call', account: 'acct_p1', user: 'u1', at, n, plan: 'pro', tag: 'x' });
    // Ids grow with the position in the batch: m4 ties m1 on the timestamp and wins on the id;
    // m2 is newer but not numeric, m3 older.
    await insert(ws, [ev(1, T0 + 2000, 7), ev(2, T0 + 3000, 'abc'), ev(3, T0 + 1000, 9), ev(4, T0 + 2000, 8), ev(5, T0 + HOUR + 5, '12.50')]);
    const stored = async () =>
      h.database.query<{ metric_id: string; hour: string; v: string | null; at_null: boolean }>(
        `SELECT metric_id, to_char(bucket_start AT TIME ZONE 'UTC', 'HH24') AS hour, latest_value::text AS v, latest_at IS NULL AS at_null
         FROM usage_rollups WHERE workspace_id = $1 ORDER BY metric_id = $2, bucket_start`,
        [ws.id, latest.id],
      );
    assert.deepEqual(await stored(), [
      { metric_id: calls.id, hour: '00', v: null, at_null: true },
      { metric_id: calls.id, hour: '01', v: null, at_null: true },
      { metric_id: latest.id, hour: '00', v: '8', at_null: false },
      { metric_id: latest.id, hour: '01', v: '12.50', at_null: false },
    ]);
    // A later batch: an older value leaves the hour as it is, a newer one replaces it.
    await insert(ws, [ev(6, T0 + 500, 100)]);
    assert.equal((await stored())[2].v, '8');
    await insert(ws, [ev(7, T0 + 2500, 3), ev(8, T0 + 2400, 4)]);
    assert.equal((await stored())[2].v, '3');
    const hour0 = [{ key: 'p', accountId: 'acct_p1', start: new Date(T0), end: new Date(T0 + HOUR) }];
    assert.equal((await usageForPeriods(h.database.db, { workspaceId: ws.id, metric: latest, periods: hour0 })).get('p'), '3');
  });

  it('backfills a metric created after its events, and keeps counting new ones', async () => {
    const ws = await h.workspace();
    const events: Ev[] = Array.from({ length: 30 }, (_, i) => ({ msg: i, type: 'track', event: 'Upload', account: 'acct_p1', user: 'u1', at: T0 + i * 7 * 60_000, n: i, plan: 'pro', tag: i % 3 ? 'x' : 'z' }));
    await insert(ws, events);
    const upload = await createMetric(ws, METRICS[6]);
    const [stored] = await h.database.query<{ n: number }>('SELECT count(*)::int AS n FROM usage_rollups WHERE workspace_id = $1 AND metric_id = $2', [ws.id, upload.id]);
    assert.equal(stored.n, 4, 'events over 3.4 hours: four hourly rows');
    const period = [{ key: 'p', accountId: 'acct_p1', start: new Date(T0), end: new Date(T0 + 5 * HOUR) }];
    // tag x or y: every i not divisible by 3 → 0..29 sum 435 minus (0+3+…+27 = 135) = 300
    assert.equal((await usageForPeriods(h.database.db, { workspaceId: ws.id, metric: upload, periods: period })).get('p'), '300');
    await insert(ws, [{ msg: 100, type: 'track', event: 'Upload', account: 'acct_p1', user: 'u1', at: T0 + 4 * HOUR, n: 5, plan: 'pro', tag: 'y' }]);
    assert.equal((await usageForPeriods(h.database.db, { workspaceId: ws.id, metric: upload, periods: period })).get('p'), '305');
  });

  it('counts every event once while batches, their retries and a new metric race (concurrent connections on PostgreSQL)', async () => {
    const ws = await h.workspace();
    const calls = await createMetric(ws, METRICS[0]);
    const accounts = ['acct_p1', 'acct_p2', 'acct_p3', 'acct_p4', 'acct_p5'];
    const batches: Ev[][] = Array.from({ length: 24 }, (_, b) =>
      Array.from({ length: 80 }, (_, i) => {
        const k = b * 80 + i;
        return { msg: k, type: 'track', event: 'Call', account: accounts[k % 5], user: 'u1', at: T0 + ((k * 7919) % (3 * HOUR)), n: k % 13, plan: k % 4 ? 'pro' : 'free', tag: 'x' };
      }),
    );
    // Every batch twice (a retry racing its original), all at once, and a metric created meanwhile.
    let late: BillableMetric | undefined;
    const writes = [...batches, ...batches].map((batch) => insert(ws, batch));
    writes.splice(20, 0, createMetric(ws, METRICS[2]).then((m) => void (late = m)) as Promise<never>);
    await Promise.all(writes);
    const periods = accounts.flatMap((a, i) => [
      { key: `${a}-all`, accountId: a, start: new Date(T0 - HOUR), end: new Date(T0 + 4 * HOUR) },
      { key: `${a}-part`, accountId: a, start: new Date(T0 + 17 * 60_000 + i), end: new Date(T0 + 2 * HOUR + 59 * 60_000) },
    ]);
    for (const metric of [calls, late!]) {
      const got = await usageForPeriods(h.database.db, { workspaceId: ws.id, metric, periods });
      assert.deepEqual(Object.fromEntries(got), Object.fromEntries(await oracle(h, ws.id, metric, periods)), metric.key);
    }
    const [stored] = await h.database.query<{ n: string }>('SELECT sum(event_count)::text AS n FROM usage_rollups WHERE workspace_id = $1 AND metric_id = $2', [ws.id, calls.id]);
    assert.equal(stored.n, String(24 * 80), 'each event counted once');
  });

  it('through the API: events attached when their user is identified, a retried batch, a merge — the raw scan’s answer', async () => {
    const ws = await h.workspace();
    const sum = await createMetric(ws, { key: 'n_sum', event_name: 'Call', aggregation: 'sum', property: 'n' });
    const calls = await createMetric(ws, METRICS[0]);
    const account = async (name: string, domain: string) => (await h.api(ws).post('/v1/accounts', { name, external_id: `grp-${name}`, domains: [domain] })).body.id as string;
    const acme = await account('acme', 'acme.com');
    const beta = await account('beta', 'beta.com');
    const basic = { authorization: `Basic ${Buffer.from(`${ws.writeKey}:`).toString('base64')}` };
    const send = async (batch: Array<Record<string, unknown>>) => {
      const r = await h.api(null).post('/v1/batch', { batch }, basic);
      assert.equal(r.status, 200, JSON.stringify(r.body));
    };
    const at = (minutes: number) => new Date(Date.parse('2026-01-15T06:00:00Z') + minutes * 60_000).toISOString();
    // x1 is nobody yet: unmatched, in no rollup.
    await send([0, 50, 130].map((m, i) => ({ type: 'track', messageId: `x1-${i}`, userId: 'x1', event: 'Call', timestamp: at(m), properties: { n: i + 1 } })));
    const betaBatch = [10, 70, 75, 200].map((m, i) => ({ type: 'track', messageId: `b-${i}`, userId: 'y1', event: 'Call', timestamp: at(m), properties: { n: 10 * (i + 1) }, context: { groupId: 'grp-beta' } }));
    await send(betaBatch);
    await send(betaBatch); // a retry
    const period = (accountId: string) => [{ key: 'p', accountId, start: new Date(at(5)), end: new Date(at(180)) }];
    const check = async (accountId: string, want: { calls: string; sum: string }) => {
      for (const [metric, value] of [[calls, want.calls], [sum, want.sum]] as const) {
        const got = (await usageForPeriods(h.database.db, { workspaceId: ws.id, metric, periods: period(accountId) })).get('p');
        assert.equal(got, (await oracle(h, ws.id, metric, period(accountId))).get('p'), `${metric.key} vs raw scan`);
        assert.equal(got, value, metric.key);
      }
    };
    await check(acme, { calls: '0', sum: '0' });
    await check(beta, { calls: '3', sum: '60' }); // minutes 10, 70, 75 (200 is after the period)
    await send([{ type: 'identify', messageId: 'x1-id', userId: 'x1', traits: { email: 'x1@acme.com' } }]);
    await check(acme, { calls: '2', sum: '5' }); // minutes 50 and 130 (0 is before the period)
    const merged = await h.api(ws).post(`/v1/accounts/${beta}/merge`, { into: acme });
    assert.equal(merged.status, 200, JSON.stringify(merged.body));
    await check(acme, { calls: '5', sum: '65' });
    await check(beta, { calls: '5', sum: '65' }); // a merged id counts its survivor's usage
  });
});

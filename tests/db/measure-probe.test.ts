import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Database } from '../../src/db/client.ts';
import { openTestDatabase } from '../../src/db/testing.ts';
import { aggregateSpecs, DEFAULT_MODEL, EVENTS, measure, measureBulk, ModelConfigSchema } from '../../src/modules/scoring/index.ts';
import { execOn } from '../../src/modules/events/index.ts';
import { measureSliced, SLICE_MIN_ACCOUNTS } from '../../src/modules/scoring/scoring.sql.ts';
import { explained, rowsRead, scansOf } from '../support/plans.ts';

/**
 * Re-scoring a few accounts after their events arrive must read those accounts' events, not the
 * workspace's. `bench ingest` (auto_explain) caught the per-event measure doing the latter: with
 * statistics that made the workspace's events look few, the planner kept `account_id = ANY(…)` out
 * of the index condition and filtered a range scan of every account's span — 15 to 33 accounts
 * reading 33,000–178,000 events to keep 300–4,500, nearly all the re-scoring's database time. The
 * test runs the real statement under EXPLAIN ANALYZE in the three states a fast-growing table goes
 * through (never analyzed, analyzed while small then grown, analyzed), and checks it measures what
 * the bulk path measures.
 */
describe('a few accounts are measured from their own events', () => {
  let db: Database;
  const ACCOUNTS = 200;
  const PER_ACCOUNT = 25;
  const asOf = new Date('2026-03-01T12:00:00Z');
  const specs = aggregateSpecs(ModelConfigSchema.parse(DEFAULT_MODEL));
  const names = [EVENTS.featureUsed, EVENTS.signedIn, EVENTS.inviteSent, EVENTS.pricingViewed, EVENTS.upgradeClicked];

  /** PER_ACCOUNT events for each of accounts [from, to) of `ws`, spread over the last 20 days: tracks of several kinds and users, and pricing page views. */
  async function events(ws: string, from: number, to: number) {
    const rows: unknown[] = [];
    for (let a = from; a < to; a++) {
      for (let k = 0; k < PER_ACCOUNT; k++) {
        const ts = new Date(asOf.getTime() - ((a * 7 + k * 13) % 480) * 3_600_000 - 60_000).toISOString();
        const page = k % 5 === 4;
        rows.push([`evt_${ws}_${a}_${k}`, ws, page ? 'page' : 'track', page ? 'Pricing' : names[k % names.length], `u${a}-${k % 3}`, `acct_${a}`, ts, page ? { path: '/pricing/' } : { feature: `f${k % 4}` }]);
      }
    }
    await db.query(
      `INSERT INTO product_events (id, workspace_id, message_id, type, event, user_id, account_id, timestamp, received_at, properties)
       SELECT e->>0, e->>1, 'm-' || (e->>0), e->>2, e->>3, e->>4, e->>5, (e->>6)::timestamptz, (e->>6)::timestamptz, e->7
       FROM jsonb_array_elements($1::jsonb) e`,
      [JSON.stringify(rows)],
    );
  }

  before(async () => {
    db = await openTestDatabase();
    await events('ws_busy', 0, ACCOUNTS);
    await events('ws_other', 0, 3);
  });
  after(async () => {
    await db?.close();
  });

  async function measureAndCheck(accounts: string[], withEvents: number) {
    const input = { workspaceId: 'ws_busy', asOf, specs };
    const { result, plans } = await explained(db, (exec) => measure(exec, { ...input, accountIds: accounts }));
    assert.equal(plans.length, 1);
    const scans = scansOf(plans[0], 'product_events');
    assert.ok(scans.length > 0 && scans.every((n) => n['Node Type'] !== 'Seq Scan'), JSON.stringify(plans[0]));
    const read = scans.reduce((sum, n) => sum + rowsRead(n), 0);
    // The accounts' own events (a few more for a boundary row), however many the workspace holds.
    const own = withEvents * PER_ACCOUNT;
    assert.ok(read <= own + 4, `${read} events read to measure ${own}: ${JSON.stringify(plans[0])}`);
    // The same figures as the bulk path's, and no row for an account without events.
    const bulk = await measureBulk(db.db, input);
    assert.deepEqual([...result.keys()].sort(), [...new Set(accounts)].filter((a) => bulk.has(a)).sort());
    for (const a of result.keys()) assert.deepEqual(result.get(a), bulk.get(a), a);
    return result;
  }

  it('reads only the accounts asked for (never analyzed)', async () => {
    const result = await measureAndCheck(['acct_3', 'acct_17', 'acct_150', 'acct_none'], 3);
    assert.equal(result.size, 3);
    assert.ok(Object.values(result.get('acct_3')!).some((a) => a.value > 0));
  });

  it('reads only the accounts asked for, with statistics taken while the workspace was small', async () => {
    await db.query(`DELETE FROM product_events WHERE workspace_id = 'ws_busy' AND account_id <> 'acct_0'`);
    await db.query('ANALYZE product_events');
    await events('ws_busy', 1, ACCOUNTS);
    await measureAndCheck(['acct_5', 'acct_6', 'acct_7', 'acct_8', 'acct_9', 'acct_10', 'acct_11', 'acct_12'], 8);
  });

  it('reads only the accounts asked for once the table is analyzed; a repeated id is measured once', async () => {
    await db.query('ANALYZE product_events');
    const result = await measureAndCheck(['acct_42', 'acct_42', 'acct_199'], 2);
    assert.equal(result.size, 2);
  });
  it('a large batch measured in two halves at once: the figures of one query, and how long the halves overlapped', async () => {
    const ids = Array.from({ length: 2 * SLICE_MIN_ACCOUNTS }, (_, i) => `acct_${i}`); // half of them without events
    const one = await measure(execOn(db), { workspaceId: 'ws_busy', asOf, specs, accountIds: ids });
    // A process clock that moves 100 ms at every reading: the halves start at 0 and 100 and end at 200 and 300,
    // in either order: 400 ms of measuring over a span of 300, so they overlapped for 100.
    let ticks = 0;
    const now = () => 100 * ticks++;
    const sliced = await measureSliced(db, { workspaceId: 'ws_busy', asOf, specs, accountIds: ids }, now);
    assert.equal(sliced.aggregates.size, ACCOUNTS);
    assert.deepEqual([...sliced.aggregates.keys()].sort(), [...one.keys()].sort());
    for (const a of one.keys()) assert.deepEqual(sliced.aggregates.get(a), one.get(a), a);
    // PGlite has one connection: one query, nothing overlaps, no clock reading.
    assert.equal(sliced.overlapMs, db.kind === 'postgres' ? 100 : 0);
    assert.equal(ticks, db.kind === 'postgres' ? 4 : 0);
  });
});

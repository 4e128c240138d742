import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Database } from '../../src/db/client.ts';
import { openTestDatabase } from '../../src/db/testing.ts';
import { attachUnmatchedEvents } from '../../src/modules/events/index.ts';
import { explained, rowsRead, scansOf } from '../support/plans.ts';

/**
 * An identify or group call that links a user attaches that user's unmatched events. That must be
 * a lookup of the user's (and their anonymous ids') unmatched events: not a read of every
 * unmatched event of the workspace — page views of visitors never identified pile up there, and
 * `bench ingest --anonymous-rate 0.2` showed each link reading all of them (16,387 rows, 68 ms,
 * growing with the traffic). The planner does that when its statistics make the unmatched events
 * look few, so the test runs the real statement under EXPLAIN ANALYZE in the three states a table
 * goes through: never analyzed (a new installation: PGlite has no autovacuum, and PostgreSQL's
 * lags a fast-growing table), analyzed while small and grown since, and analyzed.
 */
describe('unmatched events are attached by key', () => {
  let db: Database;
  const ANONYMOUS = 5000;

  async function insert(rows: Array<[id: string, workspace: string, userId: string | null, anonymousId: string | null]>) {
    await db.query(
      `INSERT INTO product_events (id, workspace_id, message_id, type, event, user_id, anonymous_id, timestamp, received_at)
       SELECT e->>0, e->>1, 'm-' || (e->>0), 'page', 'Pricing', e->>2, e->>3, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z'
       FROM jsonb_array_elements($1::jsonb) e`,
      [JSON.stringify(rows)],
    );
  }
  /** Thousands of anonymous page views from visitors never identified. */
  const visitors = () => insert(Array.from({ length: ANONYMOUS }, (_, i) => [`evt_v${String(i).padStart(6, '0')}`, 'ws_busy', null, `visitor-${i}`] as [string, string, null, string]));

  before(async () => {
    db = await openTestDatabase();
    await insert([
      ['evt_u1', 'ws_busy', 'u1', null],
      ['evt_a1', 'ws_busy', null, 'anon-1'],
      ['evt_other', 'ws_other', 'u1', null],
    ]);
    await visitors();
  });
  after(async () => {
    await db?.close();
  });

  async function attachAndCheck(input: { byUserId: [string, string][]; byAnonymousId: [string, string][] }, expected: number) {
    const { result, plans } = await explained(db, (exec) => attachUnmatchedEvents(exec, { workspaceId: 'ws_busy', ...input }));
    assert.equal(result, expected);
    // The probe, then (only when it finds something) the UPDATE.
    assert.equal(plans.length, expected > 0 ? 2 : 1);
    // Reads of product_events only (the rollup CTEs filter the rows attached, as they should): a few
    // rows per key, however many unmatched events the workspace holds — not one of them read and discarded.
    for (const plan of plans) {
      const scans = scansOf(plan, 'product_events');
      assert.ok(scans.length > 0 && scans.every((n) => n['Node Type'] !== 'Seq Scan'), JSON.stringify(plan));
      const read = scans.reduce((sum, n) => sum + rowsRead(n), 0);
      assert.ok(read <= 4 * expected + 4, `${read} events read to attach ${expected}: ${JSON.stringify(plan)}`);
    }
  }

  it("attaches a linked user's events without reading the workspace's other unmatched events (never analyzed)", async () => {
    // u1's aliases include its own user id, as a link passes them (identity.links attachMany).
    await attachAndCheck({ byUserId: [['u1', 'acct_1'], ['u2', 'acct_1']], byAnonymousId: [['u1', 'acct_1'], ['anon-1', 'acct_1']] }, 2);
    const rows = await db.query<{ id: string; account_id: string | null }>(
      `SELECT id, account_id FROM product_events WHERE id IN ('evt_u1', 'evt_a1', 'evt_other', 'evt_v000007') ORDER BY id`,
    );
    assert.deepEqual(rows, [
      { id: 'evt_a1', account_id: 'acct_1' },
      { id: 'evt_other', account_id: null },
      { id: 'evt_u1', account_id: 'acct_1' },
      { id: 'evt_v000007', account_id: null },
    ]);
  });

  it('attaches by key with statistics taken while the unmatched events were few', async () => {
    await db.query(`DELETE FROM product_events WHERE id LIKE 'evt_v%'`);
    await db.query('ANALYZE product_events');
    await visitors();
    await attachAndCheck({ byUserId: [], byAnonymousId: [['visitor-3', 'acct_4']] }, 1);
  });

  it('attaches by key once the table is analyzed, and a key mapped twice keeps its first account', async () => {
    await db.query('ANALYZE product_events');
    await attachAndCheck({ byUserId: [], byAnonymousId: [['visitor-7', 'acct_2'], ['visitor-7', 'acct_3'], ['visitor-8', 'acct_3']] }, 2);
    const rows = await db.query<{ id: string; account_id: string | null }>(`SELECT id, account_id FROM product_events WHERE id IN ('evt_v000007', 'evt_v000008') ORDER BY id`);
    assert.deepEqual(rows, [
      { id: 'evt_v000007', account_id: 'acct_2' },
      { id: 'evt_v000008', account_id: 'acct_3' },
    ]);
  });

  it('leaves events already attached, and events with a user id, to their own key', async () => {
    // evt_u1 is attached already; an anonymous id equal to a user id never takes an event that has a user id.
    await attachAndCheck({ byUserId: [['u1', 'acct_9']], byAnonymousId: [['u1', 'acct_9']] }, 0);
    assert.deepEqual(await db.query(`SELECT account_id FROM product_events WHERE id = 'evt_u1'`), [{ account_id: 'acct_1' }]);
  });
});

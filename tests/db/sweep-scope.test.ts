import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Database } from '../../src/db/client.ts';
import { openTestDatabase } from '../../src/db/testing.ts';
import type { Exec } from '../../src/modules/events/index.ts';
import { accountsWithEventsAfter, newestEventId } from '../../src/modules/scoring/work.repo.ts';
import { explained, nodeTypes, removedByFilter } from '../support/plans.ts';

/**
 * Scoring's fallback sweep reads "this workspace's events after its watermark" and "its newest
 * event" on every tick. On a shared database those reads must stay within the workspace: a quiet
 * workspace must not walk the events every other workspace stored since its watermark (keyed by
 * id alone, each tick scanned them all, and more each minute, as its watermark never moved).
 * Measured by what the real statements read: EXPLAIN ANALYZE's rows removed by a filter.
 */
describe('scoring sweep reads only its workspace', () => {
  let db: Database;
  const OTHER_EVENTS = 3000;

  before(async () => {
    db = await openTestDatabase();
    const row = (ws: string, id: string, i: number) => [id, ws, `m-${id}`, 'track', 'Signed In', `u${i % 7}`, i % 2 ? 'acct_q' : null, '2026-01-01T00:00:00Z'];
    // The quiet workspace stored three events long ago; a busy one stored thousands since.
    const quiet = [1, 2, 3].map((i) => row('ws_quiet', `evt_0000${i}`, i));
    const busy = Array.from({ length: OTHER_EVENTS }, (_, i) => row('ws_busy', `evt_1${String(i).padStart(6, '0')}`, i));
    for (const batch of [quiet, busy]) {
      await db.query(
        `INSERT INTO product_events (id, workspace_id, message_id, type, event, user_id, account_id, timestamp, received_at)
         SELECT e->>0, e->>1, e->>2, e->>3, e->>4, e->>5, e->>6, (e->>7)::timestamptz, (e->>7)::timestamptz FROM jsonb_array_elements($1::jsonb) e`,
        [JSON.stringify(batch)],
      );
    }
    await db.query('ANALYZE product_events');
  });
  after(async () => {
    await db?.close();
  });

  // The tables here are small: without these the planner may read them whole, which says nothing about the index.
  const explain = <T,>(fn: (exec: Exec) => Promise<T>) => explained(db, fn, ['enable_seqscan = off', 'enable_bitmapscan = off']);

  it('finds nothing after a quiet workspace watermark without reading the other workspace events', async () => {
    const { result, plans } = await explain((exec) => accountsWithEventsAfter(exec, 'ws_quiet', 'evt_00003', 100));
    assert.deepEqual(result, { accountIds: [], lastId: null, events: 0 });
    assert.equal(plans.length, 1);
    assert.ok(!nodeTypes(plans[0]).includes('Seq Scan'), JSON.stringify(plans[0]));
    assert.equal(removedByFilter(plans[0]), 0, `rows of another workspace read and discarded: ${JSON.stringify(plans[0])}`);
  });

  it('finds a quiet workspace own events after its watermark, in order', async () => {
    const { result, plans } = await explain((exec) => accountsWithEventsAfter(exec, 'ws_quiet', 'evt_00001', 100));
    assert.deepEqual(result, { accountIds: ['acct_q'], lastId: 'evt_00003', events: 2 });
    assert.equal(removedByFilter(plans[0]), 0);
    const busy = await accountsWithEventsAfter((t, p) => db.query(t, p), 'ws_busy', 'evt_1002990', 100);
    assert.deepEqual(busy, { accountIds: ['acct_q'], lastId: `evt_1${String(OTHER_EVENTS - 1).padStart(6, '0')}`, events: 9 });
  });

  it('finds a quiet workspace newest event without reading the newer events of another', async () => {
    const { result, plans } = await explain((exec) => newestEventId(exec, 'ws_quiet'));
    assert.equal(result, 'evt_00003');
    // Neither a scan of every newer event nor a sort of all the workspace's events: one index entry.
    assert.ok(!nodeTypes(plans[0]).some((t) => t === 'Seq Scan' || t === 'Sort'), JSON.stringify(plans[0]));
    assert.equal(removedByFilter(plans[0]), 0, `rows of another workspace read and discarded: ${JSON.stringify(plans[0])}`);
    assert.equal(await newestEventId((t, p) => db.query(t, p), 'ws_none'), null);
  });
});

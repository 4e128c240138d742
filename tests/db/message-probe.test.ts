import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Database } from '../../src/db/client.ts';
import { openTestDatabase } from '../../src/db/testing.ts';
import { storedMessageIds } from '../../src/modules/events/index.ts';
import { explained, nodeTypes, removedByFilter } from '../support/plans.ts';

/**
 * Ingestion asks which of a request's identify and group calls are already stored, so each is
 * applied once. That must be one probe of the (workspace, messageId) key per id: not a read of
 * every event the workspace ever sent. Measured on a table not analyzed yet (a new installation,
 * or one that grew since its statistics), with the real statement under EXPLAIN ANALYZE.
 */
describe('stored messageIds are probed by key', () => {
  let db: Database;
  const EVENTS = 5000;

  before(async () => {
    db = await openTestDatabase();
    const rows = Array.from({ length: EVENTS }, (_, i) => [`evt_${String(i).padStart(6, '0')}`, 'ws_busy', `m-${i}`, `u${i % 9}`]);
    rows.push(['evt_other', 'ws_other', 'm-other', 'u1']);
    await db.query(
      `INSERT INTO product_events (id, workspace_id, message_id, type, event, user_id, timestamp, received_at)
       SELECT e->>0, e->>1, e->>2, 'track', 'Signed In', e->>3, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z' FROM jsonb_array_elements($1::jsonb) e`,
      [JSON.stringify(rows)],
    );
  });
  after(async () => {
    await db?.close();
  });

  /** A batch of identify calls (a user sync sends hundreds), two of them sent before. */
  async function probeBatch(): Promise<void> {
    const fresh = Array.from({ length: 497 }, (_, i) => `m-new-${i}`);
    const { result, plans } = await explained(db, (exec) => storedMessageIds(exec, 'ws_busy', ['m-7', ...fresh, `m-${EVENTS - 1}`, 'm-other']));
    assert.deepEqual([...result].sort(), ['m-4999', 'm-7']);
    assert.equal(plans.length, 1);
    const types = nodeTypes(plans[0]);
    assert.ok(!types.includes('Seq Scan') && !types.includes('Bitmap Heap Scan'), JSON.stringify(plans[0]));
    assert.equal(removedByFilter(plans[0]), 0, `events read and discarded: ${JSON.stringify(plans[0])}`);
  }

  it('finds the stored ones among a batch of ids without reading the workspace events', probeBatch);

  it('still probes by key once the table is analyzed', async () => {
    await db.query('ANALYZE product_events');
    await probeBatch();
  });

  it('sees only its own workspace and answers nothing for no ids', async () => {
    assert.deepEqual([...(await storedMessageIds((t, p) => db.query(t, p), 'ws_other', ['m-7', 'm-other']))], ['m-other']);
    assert.equal((await storedMessageIds((t, p) => db.query(t, p), 'ws_busy', [])).size, 0);
  });
});

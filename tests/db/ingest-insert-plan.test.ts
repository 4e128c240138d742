import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Database } from '../../src/db/client.ts';
import { openTestDatabase } from '../../src/db/testing.ts';
import { newIds } from '../../src/kernel/ids.ts';
import { normalizeMessage } from '../../src/modules/events/compute/normalize.ts';
import { insertEvents } from '../../src/modules/events/events.repo.ts';
import type { NormalizedMessage } from '../../src/modules/events/index.ts';
import { explained, nodeTypes } from '../support/plans.ts';

/**
 * The ingest INSERT reads its rows out of one jsonb parameter. It must stream them: a set-returning
 * function in FROM (a Function Scan, as jsonb_array_elements() was) first copies every row into a
 * tuplestore, and past work_mem (4 MB by default; a combined INSERT of 16 requests carries up to
 * 8 MB) that copy goes to a temporary file. On PostgreSQL 15 an 8,000-row statement of bench rows
 * wrote a 4.3 MB temporary file every time; read by index (`$2 -> i`), none.
 */
describe('the ingest INSERT streams its rows', () => {
  let db: Database;
  before(async () => {
    db = await openTestDatabase();
  });
  after(async () => {
    await db.close();
  });

  function messages(n: number): NormalizedMessage[] {
    const receivedAt = new Date('2026-03-01T12:00:00Z');
    return Array.from({ length: n }, (_, i) => {
      const r = normalizeMessage(
        { type: 'track', event: i % 2 ? 'API Call' : 'Report Viewed', userId: `u${i % 7}`, messageId: `plan-${i}`, timestamp: '2026-03-01T11:59:00Z', properties: { status: '200', padding: 'x'.repeat(200) }, context: { groupId: 'g1' } },
        { index: i, receivedAt, paramPrefix: '', newMessageId: () => `gen-${i}` },
      );
      assert.ok(r.ok);
      return r.value;
    });
  }

  it('has no Function Scan, under a work_mem smaller than its rows, and inserts them all once', async () => {
    const batch = messages(400);
    const { result, plans } = await explained(
      db,
      (exec) => insertEvents(exec, { workspaceId: 'ws_plan', messages: batch, ids: newIds('pev', batch.length), accountIds: batch.map((_, i) => `acct_${i % 3}`) }),
      ['work_mem = 64'],
    );
    assert.equal(result, 400);
    assert.equal(plans.length, 1);
    const types = nodeTypes(plans[0]);
    assert.ok(!types.includes('Function Scan'), `a Function Scan materializes the rows: ${types.join(', ')}`);
    const [stored] = await db.query<{ n: number; props: number }>(
      `SELECT count(*)::int AS n, count(*) FILTER (WHERE properties ->> 'padding' = $2)::int AS props FROM product_events WHERE workspace_id = $1`,
      ['ws_plan', 'x'.repeat(200)],
    );
    assert.deepEqual({ n: Number(stored.n), props: Number(stored.props) }, { n: 400, props: 400 });
  });
});

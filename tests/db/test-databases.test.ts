import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { MIGRATIONS_DIR } from '../../src/db/client.ts';
import { openTestDatabase } from '../../src/db/testing.ts';

/**
 * Test databases are fresh and fully migrated however they are made: on PostgreSQL, cloned from
 * a migrated template; on PGlite, the first one migrated, the later ones loaded from its dump.
 * Whatever one test database holds, the next one does not.
 */
describe('test databases', () => {
  it('are migrated and independent of each other', async () => {
    const migrations = readdirSync(MIGRATIONS_DIR).filter((f) => f.endsWith('.sql')).length;
    const first = await openTestDatabase();
    const second = await openTestDatabase();
    try {
      for (const db of [first, second]) {
        const [applied] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations');
        assert.equal(Number(applied.n), migrations);
        const [tables] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'public' AND table_name IN ('product_events', 'workspaces', 'invoices')`);
        assert.equal(Number(tables.n), 3);
      }
      await first.query(`INSERT INTO product_events (id, workspace_id, message_id, type, event, user_id, timestamp, received_at) VALUES ('pev_t', 'ws_t', 'm1', 'track', 'Signed In', 'u1', now(), now())`);
      const third = await openTestDatabase();
      try {
        for (const db of [second, third]) {
          const [n] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM product_events');
          assert.equal(Number(n.n), 0);
        }
      } finally {
        await third.close();
      }
    } finally {
      await first.close();
      await second.close();
    }
  });
});

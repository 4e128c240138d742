import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it, mock } from 'node:test';
import { openDatabase } from '../../src/db/client.ts';

/**
 * An embedded data directory's commits reach the disk before they return (src/db/durable-fs.ts):
 * an acknowledged event survives a power loss, not only kill -9 (which ingest-crash.test.ts
 * covers, and which the OS page cache alone survives). Runs on PGlite whatever DATABASE_URL says:
 * it is about the embedded default.
 */
describe('embedded data directory: commits are on disk when they return', () => {
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  it('runs with fsync on and syncs the WAL file of each commit before the commit returns', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-durable-'));
    dirs.push(dir);
    const db = await openDatabase({ dataDir: dir });
    const synced: string[] = [];
    try {
      assert.deepEqual(await db.query('SHOW fsync'), [{ fsync: 'on' }]);
      assert.deepEqual(await db.query('SHOW wal_sync_method'), [{ wal_sync_method: 'fsync' }]);
      await db.query('CREATE TABLE durable_probe (id int PRIMARY KEY)');

      const real = fs.fsyncSync;
      const spy = mock.method(fs, 'fsyncSync', (fd: number) => {
        synced.push(fs.readlinkSync(`/proc/self/fd/${fd}`));
        real(fd);
      });
      try {
        await db.query('INSERT INTO durable_probe VALUES (1)');
        const afterInsert = [...synced];
        await db.query('SELECT count(*) FROM durable_probe');
        assert.ok(
          afterInsert.some((f) => f.startsWith(path.join(fs.realpathSync(dir), 'pg_wal') + path.sep)),
          `a WAL file of ${dir} is synced by the commit; synced: ${JSON.stringify(afterInsert)}`,
        );
        assert.equal(synced.length, afterInsert.length, 'a read-only statement syncs nothing');
      } finally {
        spy.mock.restore();
      }
    } finally {
      await db.close();
    }
    const again = await openDatabase({ dataDir: dir });
    try {
      assert.deepEqual(await again.query('SELECT id FROM durable_probe'), [{ id: 1 }]);
    } finally {
      await again.close();
    }
  });

  it('leaves an in-memory database as it was (nothing to sync)', async () => {
    const db = await openDatabase({ memory: true });
    try {
      assert.deepEqual(await db.query('SHOW fsync'), [{ fsync: 'off' }]);
    } finally {
      await db.close();
    }
  });
});

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it, mock } from 'node:test';
import { sql } from 'drizzle-orm';
import { openDatabase } from '../../src/db/client.ts';
import { DurableNodeFS } from '../../src/db/durable-fs.ts';

/**
 * An embedded data directory's commits reach the disk before they return (src/db/durable-fs.ts):
 * an acknowledged event survives a power loss, not only kill -9 (which ingest-crash.test.ts
 * covers, and which the OS page cache alone survives). Runs on PGlite whatever DATABASE_URL says:
 * it is about the embedded default.
 */
describe('embedded data directory: commits are on disk when they return', () => {
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  /** Every fsync of the host's files, in order: the file, and whether it went through the thread pool. */
  function recordSyncs(durable: DurableNodeFS) {
    const synced: Array<{ file: string; async: boolean; walPending: number }> = [];
    const closedPending: string[] = [];
    const writtenBeforeWal: string[] = [];
    const name = (fd: number) => fs.readlinkSync(`/proc/self/fd/${fd}`);
    const realSync = fs.fsyncSync;
    const realAsync = fs.fsync;
    const realClose = fs.closeSync;
    const realWrite = fs.writeSync;
    const spies = [
      mock.method(fs, 'fsyncSync', (fd: number) => {
        synced.push({ file: name(fd), async: false, walPending: durable.pendingWal.size });
        realSync(fd);
      }),
      mock.method(fs, 'fsync', (fd: number, cb: (e: NodeJS.ErrnoException | null) => void) => {
        synced.push({ file: name(fd), async: true, walPending: durable.pendingWal.size });
        realAsync(fd, cb);
      }),
      mock.method(fs, 'writeSync', (fd: number, ...rest: unknown[]) => {
        if (durable.pendingWal.size && !/[/]pg_wal[/][0-9A-F]{24}$/.test(name(fd))) writtenBeforeWal.push(name(fd));
        return (realWrite as (fd: number, ...rest: unknown[]) => number)(fd, ...rest);
      }),
      mock.method(fs, 'closeSync', (fd: number) => {
        const file = name(fd);
        if ([...durable.pendingWal].some((p) => fs.realpathSync(p) === file)) closedPending.push(file);
        realClose(fd);
      }),
    ];
    return { synced, closedPending, writtenBeforeWal, restore: () => spies.forEach((s) => s.mock.restore()) };
  }

  it("syncs each commit's WAL before the commit returns, off the event loop, and the WAL before any other file", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-durable-'));
    dirs.push(dir);
    const db = await openDatabase({ dataDir: dir });
    const durable = db.pglite!.fs as DurableNodeFS;
    assert.ok(durable instanceof DurableNodeFS);
    const wal = path.join(fs.realpathSync(dir), 'pg_wal') + path.sep;
    try {
      assert.deepEqual(await db.query('SHOW fsync'), [{ fsync: 'on' }]);
      assert.deepEqual(await db.query('SHOW wal_sync_method'), [{ wal_sync_method: 'fsync' }]);
      await db.query('CREATE TABLE durable_probe (id int PRIMARY KEY)');

      const r = recordSyncs(durable);
      try {
        await db.query('INSERT INTO durable_probe VALUES (1)');
        const afterInsert = [...r.synced];
        assert.ok(
          afterInsert.some((s) => s.file.startsWith(wal) && s.async),
          `a WAL file of ${dir} is synced by the commit, through the thread pool; synced: ${JSON.stringify(afterInsert)}`,
        );
        assert.equal(durable.pendingWal.size, 0, 'nothing waits once the commit has returned');
        await db.query('SELECT count(*) FROM durable_probe');
        assert.equal(r.synced.length, afterInsert.length, 'a read-only statement syncs nothing');

        // A transaction's COMMIT (PGlite syncs after a query, but not after a transaction).
        const beforeTx = r.synced.length;
        await db.db.transaction(async (tx) => {
          await tx.execute(sql`INSERT INTO durable_probe VALUES (5)`);
        });
        assert.ok(
          r.synced.slice(beforeTx).some((s) => s.file.startsWith(wal) && s.async),
          `the transaction's WAL is synced before it returns; synced: ${JSON.stringify(r.synced.slice(beforeTx))}`,
        );
        assert.equal(durable.pendingWal.size, 0, 'nothing waits once the transaction has returned');

        // A checkpoint syncs data files and pg_control, and a WAL switch closes a segment: the WAL
        // written before any of them is on disk first, and no WAL file is closed with its fsync pending.
        await db.query('INSERT INTO durable_probe VALUES (2)');
        await db.query('SELECT pg_switch_wal()');
        await db.query('INSERT INTO durable_probe VALUES (3)');
        await db.query('CHECKPOINT');
        // In one exchange: a commit (its WAL fsync waits for the exchange's end), then a checkpoint
        // that writes the data pages it dirtied.
        await db.pglite!.exec('INSERT INTO durable_probe VALUES (4); CHECKPOINT');
        const others = r.synced.filter((s) => !s.file.startsWith(wal));
        assert.ok(others.some((s) => s.file.endsWith(path.join('global', 'pg_control'))), `pg_control synced: ${JSON.stringify(r.synced)}`);
        assert.deepEqual(
          others.filter((s) => s.walPending > 0 || s.async),
          [],
          'every other file is synced in the call, with no WAL waiting',
        );
        assert.deepEqual(r.closedPending, []);
        assert.deepEqual(r.writtenBeforeWal, [], 'no other file is written while WAL waits for its fsync');
        assert.equal(durable.pendingWal.size, 0);
      } finally {
        r.restore();
      }
    } finally {
      await db.close();
    }
    const again = await openDatabase({ dataDir: dir });
    try {
      assert.deepEqual(await again.query('SELECT id FROM durable_probe ORDER BY id'), [{ id: 1 }, { id: 2 }, { id: 3 }, { id: 4 }, { id: 5 }]);
    } finally {
      await again.close();
    }
  });

  it('fails every later commit once a WAL fsync has failed, until the database is opened again', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-durable-'));
    dirs.push(dir);
    const db = await openDatabase({ dataDir: dir });
    try {
      await db.query('CREATE TABLE durable_probe (id int PRIMARY KEY)');
      const failing = mock.method(fs, 'fsync', (_fd: number, cb: (e: NodeJS.ErrnoException | null) => void) => {
        const e: NodeJS.ErrnoException = new Error('EIO: i/o error, fsync');
        e.code = 'EIO';
        cb(e);
      });
      try {
        await assert.rejects(db.query('INSERT INTO durable_probe VALUES (1)'), /could not sync its WAL to disk \(EIO: i\/o error, fsync\)/);
      } finally {
        failing.mock.restore();
      }
      // The host's fsync works again, but what it dropped may be gone: nothing more is acknowledged.
      await assert.rejects(db.query('INSERT INTO durable_probe VALUES (2)'), /nothing more is acknowledged until it is opened again/);
    } finally {
      await db.close().catch(() => undefined);
    }
    const again = await openDatabase({ dataDir: dir });
    try {
      await again.query('INSERT INTO durable_probe VALUES (3)');
      assert.ok((await again.query<{ id: number }>('SELECT id FROM durable_probe ORDER BY id')).some((r) => r.id === 3));
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

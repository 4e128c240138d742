import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { openDatabase } from '../../src/db/client.ts';
import { acquireDataDirLock, DataDirLockedError, lockFilePath } from '../../src/db/lock.ts';

const bin = path.resolve('bin/tandem.js');
const env = { ...process.env, DATABASE_URL: '' };

describe('embedded data directory has one owner', () => {
  const dirs: string[] = [];
  const tmp = () => {
    const d = mkdtempSync(path.join(os.tmpdir(), 'tandem-lock-'));
    dirs.push(d);
    return d;
  };
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('refuses a second process with a message naming the owner', async () => {
    const dir = tmp();
    const db = await openDatabase({ dataDir: dir });
    try {
      const r = spawnSync(process.execPath, [bin, 'migrate', '--data-dir', dir], { env, encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`in use by another Tandem process \\(pid ${process.pid}`));
      assert.match(r.stderr, /exactly one owner/);
    } finally {
      await db.close();
    }
    // Once the owner is gone, the directory is free again.
    const r2 = spawnSync(process.execPath, [bin, 'migrate', '--data-dir', dir], { env, encoding: 'utf8', timeout: 60_000 });
    assert.equal(r2.status, 0, r2.stderr);
  });

  it('refuses a second open in the same process too', async () => {
    const dir = tmp();
    const db = await openDatabase({ dataDir: dir });
    try {
      await assert.rejects(openDatabase({ dataDir: dir }), DataDirLockedError);
    } finally {
      await db.close();
    }
  });

  it('takes over a lock left by a process that died (kill -9)', async () => {
    const dir = tmp();
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    const deadPid = child.pid!;
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    writeFileSync(lockFilePath(dir), JSON.stringify({ pid: deadPid, host: os.hostname(), started_at: '2026-01-01T00:00:00Z' }));
    const lock = acquireDataDirLock(dir);
    lock.release();
  });

  it('a killed server leaves the directory usable by the next one', async () => {
    const dir = tmp();
    const server = spawn(process.execPath, [bin, 'serve', '--data-dir', dir, '--port', '0'], { env: { ...env, LOG_LEVEL: 'silent' } });
    let out = '';
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 60_000);
      server.stdout.on('data', (b) => {
        out += b;
        if (out.includes('ready in')) {
          clearTimeout(t);
          resolve();
        }
      });
      server.stderr.on('data', (b) => (out += b));
    });
    const busy = spawnSync(process.execPath, [bin, 'migrate', '--data-dir', dir], { env, encoding: 'utf8', timeout: 60_000 });
    assert.equal(busy.status, 1);
    assert.match(busy.stderr, new RegExp(`pid ${server.pid}`));
    server.kill('SIGKILL');
    await new Promise((r) => server.once('exit', r));
    const next = spawnSync(process.execPath, [bin, 'workspace', 'create', '--name', 'After crash', '--json', '--data-dir', dir], { env, encoding: 'utf8', timeout: 60_000 });
    assert.equal(next.status, 0, next.stderr);
    const created = JSON.parse(next.stdout);
    assert.match(created.id, /^ws_/);
    assert.match(created.secret_key, /^sk_/);
    assert.match(created.write_key, /^wk_/);
  });
});

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { openDatabase, type Database } from '../../src/db/client.ts';
import { createWorkspace } from '../../src/modules/workspaces/index.ts';
import { createTandem } from '../../src/tandem.ts';

/**
 * kill -9 during ingestion. A real `tandem serve` child process (PGlite in a temporary data
 * directory; with DATABASE_URL, a fresh PostgreSQL database) takes /v1/batch requests from four
 * concurrent senders; once some batches have been acknowledged it is killed with SIGKILL while
 * others are in flight. Then:
 *  1. every messageId of an acknowledged batch is stored, exactly once (200 means committed);
 *  2. a new server on the same data takes the unacknowledged batches again (in flight at the kill,
 *     and never sent) and a few acknowledged ones: all answered 200;
 *  3. every messageId sent is now stored exactly once — the retries were safe.
 * Bounded: at most 150 batches of 20 messages (3,000 events), at most 60 s of load before the kill; no sleeping
 * except while polling /readyz for the child to come up.
 */

const bin = path.resolve('bin/tandem.js');
const adminUrl = process.env.DATABASE_URL || undefined;

interface Target {
  serveArgs: string[];
  env: NodeJS.ProcessEnv;
  open(): Promise<Database>;
  drop(): Promise<void>;
}

async function makeTarget(): Promise<Target> {
  if (adminUrl) {
    const name = `tandem_crash_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${name}"`);
    await admin.end();
    const u = new URL(adminUrl);
    u.pathname = `/${name}`;
    const url = u.toString();
    return {
      serveArgs: [],
      env: { ...process.env, DATABASE_URL: url, LOG_LEVEL: 'silent' },
      open: () => openDatabase({ url, poolSize: 2, applicationName: 'tandem-test' }),
      async drop() {
        const a = new pg.Client({ connectionString: adminUrl });
        await a.connect();
        await a.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch(() => undefined);
        await a.end();
      },
    };
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tandem-crash-'));
  return {
    serveArgs: ['--data-dir', dir],
    env: { ...process.env, DATABASE_URL: '', LOG_LEVEL: 'silent' },
    open: () => openDatabase({ dataDir: dir }),
    async drop() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

interface Server {
  child: ChildProcess;
  url: string;
  exited: Promise<void>;
}

async function startServer(t: Target): Promise<Server> {
  const child = spawn(process.execPath, [bin, 'serve', '--port', '0', ...t.serveArgs], { env: t.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 90_000);
    child.stdout!.on('data', (b) => {
      out += b;
      const m = /API\s+(http:\/\/\S+)\/v1/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.stderr!.on('data', (b) => (out += b));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code}) before it was ready: ${out}`));
    });
  });
  // Listening is not ready: poll /readyz (database reachable and migrated).
  for (let i = 0; ; i++) {
    const ok = await fetch(`${url}/readyz`).then((r) => r.status === 200, () => false);
    if (ok) break;
    if (i > 600) throw new Error('server never became ready');
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, url, exited };
}

interface Batch {
  ids: string[];
  body: string;
}

function makeBatch(n: number, k: number): Batch {
  const messages: Record<string, unknown>[] = [];
  for (let i = 0; i < n; i++) {
    const org = (k * 7 + i) % 25;
    const userId = `crash-user-${org}-${i % 4}`;
    const messageId = `crash-${k}-${i}-${randomUUID()}`;
    const timestamp = new Date().toISOString();
    // Mostly track calls; every other batch also applies identity (an identify and a group call).
    if (i === 0 && k % 2 === 0) messages.push({ type: 'identify', userId, traits: { email: `${userId}@org${org}.example.com` }, messageId, timestamp });
    else if (i === 1 && k % 2 === 0) messages.push({ type: 'group', userId, groupId: `crash-org-${org}`, traits: { name: `Org ${org}` }, messageId, timestamp });
    else messages.push({ type: 'track', userId, event: 'API Call', properties: { n: i }, context: { groupId: `crash-org-${org}` }, messageId, timestamp });
  }
  return { ids: messages.map((m) => m.messageId as string), body: JSON.stringify({ batch: messages, sentAt: new Date().toISOString() }) };
}

async function post(url: string, writeKey: string, b: Batch): Promise<number> {
  const r = await fetch(`${url}/v1/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}` },
    body: b.body,
  });
  const text = await r.text();
  if (r.status === 200) assert.equal(JSON.parse(text).rejected, undefined, text);
  return r.status;
}

/** messageId → number of rows (only ids that are stored). */
async function storedCounts(t: Target, workspaceId: string): Promise<Map<string, number>> {
  const db = await t.open();
  try {
    const found = await db.query<{ message_id: string; n: number }>(
      'SELECT message_id, count(*)::int AS n FROM product_events WHERE workspace_id = $1 GROUP BY message_id',
      [workspaceId],
    );
    return new Map(found.map((r) => [r.message_id, r.n]));
  } finally {
    await db.close();
  }
}

describe(`kill -9 during ingestion (${adminUrl ? 'PostgreSQL' : 'PGlite'})`, () => {
  const cleanups: Array<() => Promise<void>> = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  });

  it('stores every acknowledged messageId exactly once, and a retry of any batch changes nothing', async () => {
    const t = await makeTarget();
    cleanups.push(() => t.drop());
    // The workspace, created before any server owns the data.
    const setupDb = await t.open();
    await setupDb.migrate();
    const tandem = await createTandem({ database: setupDb });
    const ws = await createWorkspace(tandem.deps, { name: 'Crash test', sandbox: false });
    await tandem.close();
    await setupDb.close();

    let server = await startServer(t);
    cleanups.push(async () => {
      server.child.kill('SIGKILL');
      await server.exited;
    });

    // Load: 4 senders, each with one batch in flight; the server is killed once 40 batches are acknowledged.
    const MAX_BATCHES = 150;
    const batches = Array.from({ length: MAX_BATCHES }, (_, k) => makeBatch(20, k));
    const acked = new Set<number>();
    const failed = new Set<number>();
    let next = 0;
    let killed = false;
    const deadline = Date.now() + 60_000;
    const kill = () => {
      if (killed) return;
      killed = true;
      server.child.kill('SIGKILL');
    };
    const sender = async () => {
      while (!killed && next < MAX_BATCHES && Date.now() < deadline) {
        const k = next++;
        const status = await post(server.url, ws.writeKey, batches[k]).catch(() => 0);
        if (status === 200) acked.add(k);
        else failed.add(k);
        if (acked.size >= 40) kill();
      }
    };
    await Promise.all([sender(), sender(), sender(), sender()]);
    kill();
    await server.exited;
    const sent = next;
    assert.ok(acked.size >= 40, `acknowledged ${acked.size} batches before the kill`);
    assert.ok(failed.size >= 1, 'some batches were in flight when the server was killed');
    for (const k of failed) assert.ok(!acked.has(k));

    // 1. After the crash: every acknowledged messageId is stored exactly once.
    const afterCrash = await storedCounts(t, ws.workspace.id);
    for (const k of acked) for (const id of batches[k].ids) assert.equal(afterCrash.get(id), 1, `acknowledged ${id} stored once after kill -9`);
    for (const [id, n] of afterCrash) assert.equal(n, 1, `${id} stored ${n} times`);

    // 2. A new server on the same data: the unacknowledged batches are sent again, and 3 acknowledged ones.
    server = await startServer(t);
    const unacked = Array.from({ length: MAX_BATCHES }, (_, k) => k).filter((k) => !acked.has(k));
    const again = [...unacked, ...[...acked].slice(0, 3)];
    for (let i = 0; i < again.length; i += 4) {
      const statuses = await Promise.all(again.slice(i, i + 4).map((k) => post(server.url, ws.writeKey, batches[k])));
      assert.deepEqual(statuses, statuses.map(() => 200));
    }
    server.child.kill('SIGTERM');
    await server.exited;

    // 3. Everything is stored, each messageId once.
    const final = await storedCounts(t, ws.workspace.id);
    const all = batches.flatMap((b) => b.ids);
    for (const id of all) assert.equal(final.get(id), 1, `${id} stored once after the retries`);
    assert.equal(final.size, all.length);
    process.stdout.write(
      `# ingest crash: ${sent} batches sent before the kill, ${acked.size} acknowledged, ${failed.size} lost in flight; ` +
        `${afterCrash.size} messages stored at the crash; ${again.length} batches re-sent; ${final.size} stored once each\n`,
    );
  });
});

import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { MIGRATIONS_DIR, openDatabase, type Database } from './client.ts';

/**
 * Test databases. With DATABASE_URL set, each test file gets a fresh PostgreSQL database
 * cloned from a migrated template (CREATE DATABASE … TEMPLATE, as trigger.dev does), dropped
 * on close. Without it, a fresh in-memory PGlite, migrated (see `openPgliteTestDatabase`).
 */
export function testDatabaseKind(): 'postgres' | 'pglite' {
  return process.env.DATABASE_URL ? 'postgres' : 'pglite';
}

function migrationsHash(): string {
  const h = createHash('sha256');
  for (const f of readdirSync(MIGRATIONS_DIR).filter((f) => f.endsWith('.sql')).sort()) h.update(f).update(readFileSync(path.join(MIGRATIONS_DIR, f)));
  return h.digest('hex').slice(0, 12);
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

async function ensureTemplate(adminUrl: string, template: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query('SELECT pg_advisory_lock(7253910002)');
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [template]);
    if (exists.rowCount === 0) {
      await admin.query(`CREATE DATABASE "${template}"`);
      const db = await openDatabase({ url: withDatabase(adminUrl, template), poolSize: 1 });
      try {
        await db.migrate();
      } catch (e) {
        await db.close();
        await admin.query(`DROP DATABASE IF EXISTS "${template}"`);
        throw e;
      }
      await db.close();
    }
  } finally {
    await admin.query('SELECT pg_advisory_unlock(7253910002)').catch(() => undefined);
    await admin.end();
  }
}

/** The PGlite package's version: a data directory dumped by one release is loaded by that release only. */
function pgliteVersion(): string {
  const require = createRequire(import.meta.url);
  let dir = path.dirname(require.resolve('@electric-sql/pglite'));
  while (!existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return (JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string }).version;
}

/**
 * A fresh in-memory PGlite, migrated. Creating one from nothing runs initdb inside the WASM: 2.8–4 s
 * on the 2-core machine, for every test database the suite opens, where loading a dumped
 * data directory takes 1.1 s (and migrating 0.3 s). So the first test database of a set of
 * migrations is created, migrated and dumped to the OS temp directory (named by the migrations'
 * hash and PGlite's version, written whole then renamed, so a concurrent test process reads either
 * nothing or the whole file); every later one is loaded from that dump, already migrated.
 */
async function openPgliteTestDatabase(): Promise<Database> {
  const file = path.join(os.tmpdir(), `tandem-test-pglite-${migrationsHash()}-${pgliteVersion()}.tar`);
  let dumped: Buffer | undefined;
  try {
    dumped = readFileSync(file);
  } catch {
    // not made yet (or just removed by a suite of other migrations): make it
  }
  if (dumped) return openDatabase({ memory: true, loadDataDir: new Blob([dumped]) });
  const db = await openDatabase({ memory: true });
  await db.migrate();
  const dump = await db.pglite!.dumpDataDir('none');
  const partial = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(partial, Buffer.from(await dump.arrayBuffer()));
  renameSync(partial, file);
  // Dumps of earlier migrations are not read again (43 MB each): remove them. (Another checkout's
  // suite that still needs one makes it again.)
  for (const f of readdirSync(os.tmpdir())) {
    if (/^tandem-test-pglite-.*\.tar$/.test(f) && f !== path.basename(file)) rmSync(path.join(os.tmpdir(), f), { force: true });
  }
  return db;
}

export async function openTestDatabase(): Promise<Database> {
  const url = process.env.DATABASE_URL;
  if (!url) return openPgliteTestDatabase();
  const template = `tandem_tpl_${migrationsHash()}`;
  await ensureTemplate(url, template);
  const name = `tandem_t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}" TEMPLATE "${template}"`);
  } finally {
    await admin.end();
  }
  const db = await openDatabase({ url: withDatabase(url, name), poolSize: 5, applicationName: 'tandem-test' });
  const close = db.close.bind(db);
  return Object.assign(db, {
    async close() {
      await close();
      const a = new pg.Client({ connectionString: url });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch(() => undefined);
      await a.end();
    },
  });
}

import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { MIGRATIONS_DIR, openDatabase, type Database } from './client.ts';

/**
 * Test databases. With DATABASE_URL set, each test file gets a fresh PostgreSQL database
 * cloned from a migrated template (CREATE DATABASE … TEMPLATE, as trigger.dev does), dropped
 * on close. Without it, a fresh in-memory PGlite, migrated.
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

export async function openTestDatabase(): Promise<Database> {
  const url = process.env.DATABASE_URL;
  if (!url) {
    const db = await openDatabase({ memory: true });
    await db.migrate();
    return db;
  }
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

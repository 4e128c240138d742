import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import pg from 'pg';
import * as schema from './schema/index.ts';
import { DurableNodeFS, durableStartParams, syncAfterTransactions } from './durable-fs.ts';
import { textParsers } from './pglite-parsers.ts';
import { acquireDataDirLock, type DataDirLock } from './lock.ts';

export type Schema = typeof schema;
/** The query layer, the same type on both drivers. A transaction (`tx`) has this type too. */
export type Db = PgDatabase<PgQueryResultHKT, Schema>;

export const MIGRATIONS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');

export interface QueryOptions {
  /**
   * PostgreSQL: run it as a named prepared statement — parsed once per connection, and planned
   * once when the planner settles on a generic plan — for a hot statement whose text never
   * changes (the name must always go with the same text). PGlite ignores it.
   */
  name?: string;
}

export interface Database {
  readonly kind: 'pglite' | 'postgres';
  readonly db: Db;
  /**
   * Raw parameterised SQL on the shared connection(s), for hot paths and set-based statements.
   * Never call it (or `db`) from inside a transaction callback: on PGlite there is one
   * connection and it would wait for the transaction forever. Use the `tx` you were given.
   */
  query<T = Record<string, unknown>>(text: string, params?: unknown[], opts?: QueryOptions): Promise<T[]>;
  migrate(): Promise<void>;
  close(): Promise<void>;
  /** Underlying handles for the few places that need driver features (COPY, clone). */
  readonly pglite?: PGlite;
  readonly pool?: pg.Pool;
  /** A short description for logs: "PostgreSQL postgres://…/tandem" or "PGlite ./.tandem/data". */
  readonly describe: string;
}

// Both drivers return the same JS types: int8 → number (amounts are checked safe integers),
// numeric → string (decimal rates never pass through a float).
const INT8 = 20;
const NUMERIC = 1700;
const pgTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8) return (v: string) => Number(v);
    if (oid === NUMERIC) return (v: string) => v;
    return pg.types.getTypeParser(oid, format as 'text');
  },
};

export interface OpenOptions {
  /** PostgreSQL connection string; when absent the embedded database is used. */
  url?: string;
  /** Embedded data directory; `memory://` (or undefined with `memory: true`) keeps it in memory. */
  dataDir?: string;
  memory?: boolean;
  /** A tarball from `dumpDataDir()` to start an in-memory database from (fast test setup). */
  loadDataDir?: Blob | File;
  poolSize?: number;
  /** Skip the one-owner lock (only for in-memory databases, which no other process can see). */
  applicationName?: string;
}

export async function openDatabase(opts: OpenOptions): Promise<Database> {
  if (opts.url) return openPostgres(opts.url, opts.poolSize ?? 10, opts.applicationName ?? 'tandem');
  return openPglite(opts);
}

async function openPostgres(url: string, max: number, applicationName: string): Promise<Database> {
  const pool = new pg.Pool({ connectionString: url, max, types: pgTypes, application_name: applicationName });
  pool.on('error', () => {
    /* idle client errors are surfaced on the next query */
  });
  const db = drizzlePg(pool, { schema }) as unknown as Db;
  const safeUrl = url.replace(/\/\/([^:@/]+)(:[^@/]*)?@/, '//$1@');
  return {
    kind: 'postgres',
    db,
    pool,
    describe: `PostgreSQL ${safeUrl}`,
    async query<T>(text: string, params?: unknown[], opts?: QueryOptions) {
      const r = opts?.name ? await pool.query({ text, values: params as unknown[], name: opts.name }) : await pool.query(text, params as unknown[]);
      return r.rows as T[];
    },
    async migrate() {
      // Several processes may start at once: one applies the migrations, the others wait.
      const client = await pool.connect();
      try {
        await client.query('SELECT pg_advisory_lock(7253910001)');
        await migratePg(drizzlePg(client), { migrationsFolder: MIGRATIONS_DIR });
      } finally {
        await client.query('SELECT pg_advisory_unlock(7253910001)').catch(() => undefined);
        client.release();
      }
    },
    async close() {
      await pool.end();
    },
  };
}

async function openPglite(opts: OpenOptions): Promise<Database> {
  const inMemory = opts.memory || !opts.dataDir || opts.dataDir.startsWith('memory://');
  let lock: DataDirLock | undefined;
  if (!inMemory) {
    mkdirSync(opts.dataDir!, { recursive: true });
    lock = acquireDataDirLock(opts.dataDir!);
  }
  let client: PGlite;
  const durable = inMemory ? undefined : new DurableNodeFS(opts.dataDir!);
  try {
    client = await PGlite.create({
      // A data directory's commits are on disk when they return (durable-fs.ts); in memory there is no disk.
      ...(durable ? { fs: durable, startParams: durableStartParams() } : {}),
      loadDataDir: opts.loadDataDir,
      parsers: { [INT8]: (v: string) => Number(v), [NUMERIC]: (v: string) => v },
    });
  } catch (e) {
    lock?.release();
    throw e;
  }
  if (durable) syncAfterTransactions(client, durable);
  const parsing = textParsers(client);
  const db = drizzlePglite({ client: parsing.forDrizzle as PGlite, schema }) as unknown as Db;
  return {
    kind: 'pglite',
    db,
    pglite: client,
    describe: inMemory ? 'PGlite (in memory)' : `PGlite ${opts.dataDir}`,
    async query<T>(text: string, params?: unknown[], _opts?: QueryOptions) {
      return parsing.restore(await client.query<T>(text, params as unknown[]));
    },
    async migrate() {
      await migratePglite(drizzlePglite(client), { migrationsFolder: MIGRATIONS_DIR });
    },
    async close() {
      try {
        await client.close();
      } finally {
        lock?.release();
      }
    },
  };
}

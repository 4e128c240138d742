import path from 'node:path';
import { openDatabase, type Database } from '../db/client.ts';
import { DataDirLockedError } from '../db/lock.ts';

export interface DbConfig {
  url?: string;
  dataDir: string;
}

/** DATABASE_URL selects PostgreSQL; otherwise the embedded database in --data-dir / TANDEM_DATA_DIR / ./.tandem/data. */
export function dbConfig(opts: { dataDir?: string }): DbConfig {
  return { url: process.env.DATABASE_URL || undefined, dataDir: path.resolve(opts.dataDir ?? process.env.TANDEM_DATA_DIR ?? './.tandem/data') };
}

export async function openConfigured(cfg: DbConfig, applicationName = 'tandem'): Promise<Database> {
  return openDatabase({ url: cfg.url, dataDir: cfg.dataDir, applicationName });
}

/** Prints a clear message and exits non-zero for errors a user can act on. */
export function fail(message: string, code = 1): never {
  process.stderr.write(`tandem: ${message}\n`);
  process.exit(code);
}

export function explain(e: unknown): string {
  if (e instanceof DataDirLockedError) return e.message;
  const err = e as NodeJS.ErrnoException;
  if (err?.code === 'ECONNREFUSED') return `cannot reach PostgreSQL at DATABASE_URL (${err.message}). Is it running?`;
  if (err?.code === '3D000') return `the database named in DATABASE_URL does not exist: ${err.message}`;
  if (err?.code === '28P01' || err?.code === '28000') return `PostgreSQL refused the credentials in DATABASE_URL: ${err.message}`;
  return err?.message ?? String(e);
}

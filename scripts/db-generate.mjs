// Regenerates the SQL migrations from src/db/schema with drizzle-kit (offline).
//
// Until the first release, the schema ships as a single initial migration: this script replaces
// src/db/migrations with one freshly generated 0000_init.sql. Everything the database enforces
// (checks, unique and partial indexes) is declared in the drizzle schema, never hand-written.
// Runs under a lock so parallel edits don't interleave.
import { rmSync, mkdirSync, openSync, closeSync, unlinkSync, existsSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

const lock = '/tmp/tandem-db-generate.lock';
for (let i = 0; ; i++) {
  try {
    closeSync(openSync(lock, 'wx'));
    break;
  } catch {
    if (existsSync(lock) && Date.now() - statSync(lock).mtimeMs > 60_000) unlinkSync(lock);
    if (i > 600) throw new Error('db:generate lock held too long');
    await new Promise((r) => setTimeout(r, 100));
  }
}
try {
  rmSync('src/db/migrations', { recursive: true, force: true });
  mkdirSync('src/db/migrations', { recursive: true });
  const r = spawnSync('npx', ['drizzle-kit', 'generate', '--name', 'init'], { stdio: 'inherit' });
  process.exitCode = r.status ?? 1;
} finally {
  unlinkSync(lock);
}

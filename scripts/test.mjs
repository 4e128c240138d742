// Runs every test file (src/**/__tests__/*.test.ts and tests/**/*.test.ts) with Node's test runner.
// DATABASE_URL set → the database tests run on PostgreSQL (a fresh database per file); unset → PGlite.
// Extra arguments are passed to node --test (e.g. a file path to run only that file).
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';

function walk(dir, out = []) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const args = process.argv.slice(2);
const explicit = args.filter((a) => a.endsWith('.ts'));
const files = explicit.length ? explicit : [...walk('src'), ...walk('tests')].sort();
const flags = args.filter((a) => !a.endsWith('.ts'));
console.log(`tandem tests: ${files.length} files on ${process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite'}`);
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=600000', ...flags, ...files], {
  stdio: 'inherit',
  env: { ...process.env, NODE_ENV: 'test' },
});
process.exit(r.status ?? 1);

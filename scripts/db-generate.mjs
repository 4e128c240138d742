// Generates the next SQL migration from src/db/schema with drizzle-kit (works offline).
// Usage: npm run db:generate -- --name short_description
import { spawnSync } from 'node:child_process';
const name = process.argv.includes('--name') ? process.argv[process.argv.indexOf('--name') + 1] : undefined;
const args = ['drizzle-kit', 'generate', ...(name ? ['--name', name] : [])];
const r = spawnSync('npx', args, { stdio: 'inherit' });
process.exit(r.status ?? 1);

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Database } from '../db/client.ts';
import { rows, sql } from '../db/sql.ts';
import { addMonths, startOfUtcDay } from '../kernel/dates.ts';
import { createApiKey, createWorkspace } from '../modules/workspaces/index.ts';
import type { Tandem } from '../tandem.ts';

/**
 * The demo workspace itself: a sandbox whose test clock starts `months` months before today, so
 * that once the history is played the sandbox's "now" is today. Workspaces are provisioned
 * by the CLI (there is no API to create one), like `tandem workspace create`; the build
 * parameters are kept in the workspace's settings so a rerun, or `npm start` after an
 * interrupted first start, resumes the same build instead of starting another.
 *
 * Keys are stored hashed, so they are written to .tandem/demo-credentials.json beside the data
 * directory (a local development convenience); a lost file means minting new keys.
 */
export interface DemoCredentials {
  workspace_id: string;
  secret_key: string;
  write_key: string;
}

export interface DemoBuildSettings {
  accounts: number;
  months: number;
  seed: number;
  start: string;
  completed_at: string | null;
}

export interface DemoWorkspace {
  creds: DemoCredentials;
  build: DemoBuildSettings;
  created: boolean;
}

export const DEMO_SEED = 20260101;

export function demoCredentialsFile(dataDir: string): string {
  return path.join(path.dirname(dataDir), 'demo-credentials.json');
}

/**
 * The newest demo workspace whose build matches (any build when `accounts`/`months` are not
 * given), or a new one. `now` is the wall clock: the test clock starts at today 00:00 UTC minus
 * `months` months.
 */
export async function provisionDemo(
  t: Tandem,
  database: Database,
  opts: { accounts: number; months: number; now: Date; credsFile: string; match: 'any' | 'same_size' },
): Promise<DemoWorkspace> {
  const found = await rows<{ id: string; build: DemoBuildSettings | null }>(
    database.db,
    sql`SELECT id, settings->'demo_build' AS build FROM workspaces WHERE settings->>'demo' = 'true' AND settings ? 'demo_build' ORDER BY id DESC`,
  );
  const hit = found.find((w) => w.build && (opts.match === 'any' || (w.build.accounts === opts.accounts && w.build.months === opts.months && w.build.seed === DEMO_SEED)));
  if (hit?.build) return { creds: await credentialsFor(t, hit.id, opts.credsFile), build: hit.build, created: false };

  const start = addMonths(startOfUtcDay(opts.now), -opts.months);
  const created = await createWorkspace(t.deps, { name: 'Demo company', sandbox: true, clockStart: start, actor: { type: 'cli' } });
  const build: DemoBuildSettings = { accounts: opts.accounts, months: opts.months, seed: DEMO_SEED, start: start.toISOString(), completed_at: null };
  await database.db.execute(
    sql`UPDATE workspaces SET settings = settings || jsonb_build_object('demo', true, 'demo_build', ${JSON.stringify(build)}::jsonb) WHERE id = ${created.workspace.id}`,
  );
  const creds = { workspace_id: created.workspace.id, secret_key: created.secretKey, write_key: created.writeKey };
  writeCredentials(opts.credsFile, creds);
  return { creds, build, created: true };
}

export async function markDemoComplete(database: Database, workspaceId: string, at: Date): Promise<void> {
  await database.db.execute(
    sql`UPDATE workspaces SET settings = jsonb_set(settings, '{demo_build,completed_at}', to_jsonb(${at.toISOString()}::text)) WHERE id = ${workspaceId}`,
  );
}

async function credentialsFor(t: Tandem, workspaceId: string, credsFile: string): Promise<DemoCredentials> {
  if (existsSync(credsFile)) {
    const creds = JSON.parse(readFileSync(credsFile, 'utf8')) as DemoCredentials;
    if (creds.workspace_id === workspaceId) return creds;
  }
  const ctx = { deps: t.deps, workspaceId, asOf: t.deps.clock.now(), actor: { type: 'cli' as const } };
  const sk = await createApiKey(ctx, { kind: 'secret', name: 'Demo secret key', scopes: ['admin'] });
  const wk = await createApiKey(ctx, { kind: 'write', name: 'Demo write key', scopes: [] });
  const creds = { workspace_id: workspaceId, secret_key: sk.secret, write_key: wk.secret };
  writeCredentials(credsFile, creds);
  return creds;
}

function writeCredentials(file: string, creds: DemoCredentials) {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(creds, null, 2), { mode: 0o600 });
}

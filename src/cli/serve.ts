import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createApiKey, createWorkspace } from '../modules/workspaces/index.ts';
import { rows, sql } from '../db/sql.ts';
import type { Database } from '../db/client.ts';
import { createTandem, type Tandem } from '../tandem.ts';
import { dbConfig, explain, fail, openConfigured } from './config.ts';

export interface ServeOptions {
  port?: string;
  host?: string;
  dataDir?: string;
  role?: string;
  demo?: boolean;
}

interface DemoCredentials {
  workspace_id: string;
  secret_key: string;
  write_key: string;
}

/**
 * `npm start` seeds a demo workspace on first start and keeps its keys in .tandem/ beside the
 * data directory (a local development convenience: the database itself stores only hashes).
 */
async function ensureDemo(t: Tandem, database: Database, credsFile: string): Promise<DemoCredentials> {
  const existing = await rows<{ id: string }>(database.db, sql`SELECT id FROM workspaces WHERE settings->>'demo' = 'true' ORDER BY id LIMIT 1`);
  if (existing[0]) {
    if (existsSync(credsFile)) {
      const creds = JSON.parse(readFileSync(credsFile, 'utf8')) as DemoCredentials;
      if (creds.workspace_id === existing[0].id) return creds;
    }
    // Keys are stored hashed, so a lost credentials file means minting new keys.
    const ctx = { deps: t.deps, workspaceId: existing[0].id, asOf: t.deps.clock.now(), actor: { type: 'cli' as const } };
    const sk = await createApiKey(ctx, { kind: 'secret', name: 'Demo secret key', scopes: ['admin'] });
    const wk = await createApiKey(ctx, { kind: 'write', name: 'Demo write key', scopes: [] });
    const creds = { workspace_id: existing[0].id, secret_key: sk.secret, write_key: wk.secret };
    writeFileSync(credsFile, JSON.stringify(creds, null, 2), { mode: 0o600 });
    return creds;
  }
  const created = await createWorkspace(t.deps, { name: 'Demo company', sandbox: true });
  await database.db.execute(sql`UPDATE workspaces SET settings = jsonb_set(settings, '{demo}', 'true') WHERE id = ${created.workspace.id}`);
  const creds = { workspace_id: created.workspace.id, secret_key: created.secretKey, write_key: created.writeKey };
  mkdirSync(path.dirname(credsFile), { recursive: true });
  writeFileSync(credsFile, JSON.stringify(creds, null, 2), { mode: 0o600 });
  return creds;
}

export async function serve(opts: ServeOptions): Promise<void> {
  const role = opts.role ?? 'all';
  if (!['all', 'api', 'worker'].includes(role)) fail(`--role must be all, api or worker; got '${role}'`, 2);
  const portText = opts.port ?? process.env.PORT ?? '3000';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`--port must be a port number; got '${portText}'`, 2);
  const host = opts.host ?? process.env.HOST ?? '127.0.0.1';
  const cfg = dbConfig(opts);
  const t0 = Date.now();
  let database: Database;
  try {
    database = await openConfigured(cfg, `tandem-${role}`);
    await database.migrate();
  } catch (e) {
    fail(explain(e));
  }
  const tandem = await createTandem({ database, logLevel: process.env.LOG_LEVEL ?? 'warn' });
  const log = (s: string) => process.stdout.write(`${s}\n`);

  let shuttingDown = false;
  const shutdown = async (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    log(`tandem: ${signal} received, shutting down`);
    await tandem.close().catch(() => undefined);
    await database.close().catch(() => undefined);
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  if (role !== 'api') tandem.runner.start();
  let url: string | undefined;
  if (role !== 'worker') {
    try {
      await tandem.app.listen({ port, host });
    } catch (e) {
      await database.close();
      fail(`cannot listen on ${host}:${port}: ${(e as Error).message}`);
    }
    const address = tandem.app.server.address();
    const actualPort = typeof address === 'object' && address ? address.port : port;
    url = `http://${host === '0.0.0.0' || host === '::' ? 'localhost' : host}:${actualPort}`;
  }
  log(`tandem ${role} ready in ${Date.now() - t0} ms on ${database.describe}`);
  if (url) {
    log(`  API        ${url}/v1`);
    log(`  Reference  ${url}/docs`);
    log(`  OpenAPI    ${url}/openapi.json`);
  }
  if (opts.demo) {
    const creds = await ensureDemo(tandem, database, path.join(path.dirname(cfg.dataDir), 'demo-credentials.json'));
    log(`  Workspace  ${creds.workspace_id} (sandbox, with a test clock)`);
    log(`  Secret key ${creds.secret_key}`);
    log(`  Write key  ${creds.write_key}`);
    if (url) log(`  Try: curl -s ${url}/v1/workspace -H "Authorization: Bearer ${creds.secret_key}"`);
  }
}

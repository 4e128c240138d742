import { startCheckProcess, type CheckProcess } from '../api/check-process/parent.ts';
import type { Database } from '../db/client.ts';
import { embeddedMaintenanceIntervalMs, startEmbeddedMaintenance } from '../db/maintenance.ts';
import { createTandem } from '../tandem.ts';
import { GC_LOG_ENV, startGcLog } from './bench/gc-log.ts';
import { dbConfig, explain, fail, openConfigured } from './config.ts';
import { DEFAULT_DEMO_ACCOUNTS, DEFAULT_DEMO_MONTHS, seedDemo, summaryLines, type SeedResult } from './demo.ts';
import { demoCredentialsFile } from './demo-workspace.ts';
import { startedByNpmScript, watchParent } from './parent-watch.ts';

export interface ServeOptions {
  port?: string;
  host?: string;
  dataDir?: string;
  role?: string;
  demo?: boolean;
}

export async function serve(opts: ServeOptions): Promise<void> {
  // Under `tandem bench …` only: the server's GC pauses, summed by the benchmark over its timed run.
  const gcLog = process.env[GC_LOG_ENV];
  if (gcLog) startGcLog(gcLog);
  const role = opts.role ?? 'all';
  if (!['all', 'api', 'worker'].includes(role)) fail(`--role must be all, api or worker; got '${role}'`, 2);
  const portText = opts.port ?? process.env.PORT ?? '3000';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`--port must be a port number; got '${portText}'`, 2);
  const host = opts.host ?? process.env.HOST ?? '127.0.0.1';
  const cfg = dbConfig(opts);
  let maintenanceMs = 0;
  try {
    maintenanceMs = embeddedMaintenanceIntervalMs();
  } catch (e) {
    fail((e as Error).message, 2);
  }
  const t0 = Date.now();
  let database: Database;
  try {
    database = await openConfigured(cfg, `tandem-${role}`);
    await database.migrate();
  } catch (e) {
    fail(explain(e));
  }
  const log = (s: string) => process.stdout.write(`${s}\n`);
  // PGlite has no autovacuum process; this timer does its job (nothing on PostgreSQL). Stopped
  // before the database closes on every way out below.
  const stopMaintenance = startEmbeddedMaintenance(database, { intervalMs: maintenanceMs, log });
  const tandem = await createTandem({ database, logLevel: process.env.LOG_LEVEL ?? 'warn' });

  let checks: CheckProcess | undefined;
  let shuttingDown = false;
  const shutdown = async (why: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    log(`tandem: ${why}, shutting down`);
    await checks?.close().catch(() => undefined);
    await stopMaintenance();
    await tandem.close().catch(() => undefined);
    await database.close().catch(() => undefined);
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT received'));
  process.on('SIGTERM', () => void shutdown('SIGTERM received'));
  // `npm start`: a SIGTERM to npm stops the shell npm started the server with, not the server (parent-watch.ts).
  if (startedByNpmScript()) watchParent({ onGone: () => void shutdown('the npm process that started it is gone') });

  // `npm start`: the demo company is built (first start) or found (later starts) before the
  // server listens, so the URL printed below already shows it; the build has the database alone.
  let demo: SeedResult | undefined;
  if (opts.demo) {
    try {
      demo = await seedDemo(tandem, database, {
        accounts: DEFAULT_DEMO_ACCOUNTS,
        months: DEFAULT_DEMO_MONTHS,
        now: new Date(),
        credsFile: demoCredentialsFile(cfg.dataDir),
        match: 'any',
        rebuildComplete: false,
        log,
      });
    } catch (e) {
      await stopMaintenance();
      await tandem.close().catch(() => undefined);
      await database.close().catch(() => undefined);
      fail(`building the demo company failed: ${explain(e)}`);
    }
  }

  if (role !== 'api') tandem.runner.start();
  let url: string | undefined;
  if (role !== 'worker') {
    try {
      // Entitlement checks are served by a process of their own (api/check-process/parent.ts);
      // without one, this process answers them.
      if (process.env.TANDEM_CHECK_PROCESS !== '0') {
        checks = await startCheckProcess({ server: tandem.app.server, deps: tandem.deps, log }).catch((e: unknown) => {
          log(`tandem: no check process (${(e as Error).message}); this process answers entitlement checks`);
          return undefined;
        });
      }
      await tandem.app.listen({ port, host });
    } catch (e) {
      await checks?.close().catch(() => undefined);
      await stopMaintenance();
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
  if (demo) {
    const creds = demo.workspace.creds;
    for (const line of summaryLines(demo)) log(`  ${line}`);
    log(`  Workspace  ${creds.workspace_id} (sandbox, with a test clock)`);
    log(`  Secret key ${creds.secret_key}`);
    log(`  Write key  ${creds.write_key}`);
    if (url) log(`  Try: curl -s ${url}/v1/accounts -H "Authorization: Bearer ${creds.secret_key}"`);
  }
}

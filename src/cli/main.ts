import { Command, InvalidArgumentError } from 'commander';
import { createTandem } from '../tandem.ts';
import { createWorkspace } from '../modules/workspaces/index.ts';
import { parseInstant } from '../kernel/dates.ts';
import { dbConfig, explain, fail, openConfigured } from './config.ts';
import { serve } from './serve.ts';

const program = new Command();
program
  .name('tandem')
  .description('Tandem: one revenue engine for self-serve and sales-led growth.\nDATABASE_URL selects PostgreSQL; otherwise the embedded database in TANDEM_DATA_DIR (default ./.tandem/data).')
  .showHelpAfterError()
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));

program
  .command('serve')
  .description('Run the API server and/or job worker')
  .option('--port <n>', 'HTTP port (default $PORT or 3000)')
  .option('--host <addr>', 'address to listen on (default $HOST or 127.0.0.1)')
  .option('--data-dir <dir>', 'embedded database directory (ignored with DATABASE_URL)')
  .option('--role <role>', 'all | api | worker', 'all')
  .option('--demo', 'seed and print a demo sandbox workspace on first start (what `npm start` does)')
  .action(async (opts) => {
    await serve(opts);
  });

program
  .command('migrate')
  .description('Apply database migrations to DATABASE_URL or the data directory')
  .option('--data-dir <dir>', 'embedded database directory (ignored with DATABASE_URL)')
  .action(async (opts) => {
    const cfg = dbConfig(opts);
    try {
      const db = await openConfigured(cfg, 'tandem-migrate');
      await db.migrate();
      process.stdout.write(`migrated ${db.describe}\n`);
      await db.close();
    } catch (e) {
      fail(explain(e));
    }
  });

const workspace = program.command('workspace').description('Manage workspaces');
workspace
  .command('create')
  .description('Create a workspace with an admin secret key and a write key')
  .requiredOption('--name <name>', 'display name')
  .option('--sandbox', 'a sandbox workspace, with a test clock')
  .option('--clock-start <iso>', 'initial test-clock time for a sandbox (default now)', (v) => {
    if (!parseInstant(v)) throw new InvalidArgumentError('expected an ISO 8601 instant');
    return v;
  })
  .option('--data-dir <dir>', 'embedded database directory (ignored with DATABASE_URL)')
  .option('--json', 'print {"id","secret_key","write_key"} as JSON')
  .action(async (opts) => {
    const cfg = dbConfig(opts);
    if (!opts.name.trim()) fail('--name must not be empty', 2);
    try {
      const database = await openConfigured(cfg, 'tandem-cli');
      await database.migrate();
      const t = await createTandem({ database });
      const created = await createWorkspace(t.deps, {
        name: opts.name,
        sandbox: Boolean(opts.sandbox),
        clockStart: opts.clockStart ? parseInstant(opts.clockStart)! : undefined,
        actor: { type: 'cli' },
      });
      await t.close();
      await database.close();
      const out = { id: created.workspace.id, secret_key: created.secretKey, write_key: created.writeKey };
      if (opts.json) process.stdout.write(`${JSON.stringify(out)}\n`);
      else process.stdout.write(`workspace ${out.id}\n  secret key ${out.secret_key}\n  write key  ${out.write_key}\n`);
    } catch (e) {
      fail(explain(e));
    }
  });

program
  .command('demo')
  .description('Build the demo company (plans, accounts, events, subscriptions, invoices, a quote) by driving the API over a sandbox test clock')
  .option('--accounts <n>', 'customer accounts (default 40)', (v) => Number(v), 40)
  .option('--months <n>', 'months of history (default 3)', (v) => Number(v), 3)
  .option('--data-dir <dir>', 'embedded database directory (ignored with DATABASE_URL)')
  .option('--json', 'print {"id","secret_key","write_key","summary"} as JSON')
  .action(async (opts) => {
    const { demoCommand } = await import('./demo.ts');
    await demoCommand(opts);
  });

const bench = program.command('bench').description('Benchmarks; each prints one JSON line of its figures (DATABASE_URL → PostgreSQL, else in-memory PGlite)');
bench
  .command('billing')
  .description('N subscriptions with usage, all due: time one bill run and a re-run that must find nothing to do')
  .option('--subscriptions <n>', 'subscriptions (default 100000 on PostgreSQL, 2000 on PGlite)', (v) => Number(v))
  .option('--events-per-account <n>', 'usage events per account (default 3)', (v) => Number(v))
  .option('--concurrency <n>', 'parallel renewals on PostgreSQL (default 8)', (v) => Number(v))
  .action(async (opts) => {
    const { benchBilling } = await import('./bench/billing.ts');
    await benchBilling({ subscriptions: opts.subscriptions, eventsPerAccount: opts.eventsPerAccount, concurrency: opts.concurrency });
  });

bench
  .command('ingest')
  .description('Segment batches over HTTP into a served scratch database; throughput against a raw COPY of the same rows, lost and duplicates')
  .option('--events <n>', 'timed events (default 300000 on PostgreSQL, 100000 on PGlite)', (v) => Number(v))
  .option('--batch-size <n>', 'messages per /v1/batch request (default 500)', (v) => Number(v))
  .option('--connections <n>', 'concurrent keep-alive connections (default 8)', (v) => Number(v))
  .option('--accounts <n>', 'accounts the events belong to (default 1000)', (v) => Number(v))
  .option('--identity-rate <r>', 'share of identify/group calls among the messages (default 0.01)', (v) => Number(v))
  .option('--anonymous-rate <r>', 'share of page calls from visitors never identified, stored without an account (default 0)', (v) => Number(v))
  .action(async (opts) => {
    const { benchIngest } = await import('./bench/ingest.ts');
    await benchIngest(opts);
  });

bench
  .command('entitlements')
  .description('GET /v1/entitlements/check at a fixed rate against a served scratch database, with events ingested meanwhile; latency percentiles')
  .option('--checks <n>', 'checks to issue (default 10 s worth)', (v) => Number(v))
  .option('--rate <n>', 'checks per second, open loop (default 5000)', (v) => Number(v))
  .option('--accounts <n>', 'accounts with a subscription (default 200)', (v) => Number(v))
  .option('--connections <n>', 'keep-alive connections the checks are pipelined over (default 8)', (v) => Number(v))
  .option('--ingest-rate <n>', 'background events per second, 0 for none (default 200)', (v) => Number(v))
  .action(async (opts) => {
    const { benchEntitlements } = await import('./bench/entitlements.ts');
    await benchEntitlements(opts);
  });

bench
  .command('scoring')
  .description('Full PQL recompute of N accounts over M events, then event → score latency under background ingestion')
  .option('--accounts <n>', 'accounts (default 100000 on PostgreSQL, 5000 on PGlite)', (v) => Number(v))
  .option('--events <n>', 'product events over the last 28 days (default 10000000 on PostgreSQL, 250000 on PGlite)', (v) => Number(v))
  .option('--rate <n>', 'background events per second while measuring latency (default 1000)', (v) => Number(v))
  .option('--probes <n>', 'latency probes (default 200)', (v) => Number(v))
  .action(async (opts) => {
    const { benchScoring } = await import('./bench-scoring.ts');
    await benchScoring({ accounts: opts.accounts, events: opts.events, rate: opts.rate, probes: opts.probes });
  });

await program.parseAsync(process.argv);

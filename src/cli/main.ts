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

await program.parseAsync(process.argv);

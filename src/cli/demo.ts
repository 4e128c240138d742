import type { Database } from '../db/client.ts';
import { runEmbeddedMaintenance } from '../db/maintenance.ts';
import type { Tandem } from '../tandem.ts';
import { buildDemo, type DemoBuildReport } from './demo-build.ts';
import { demoApi, type DemoApi } from './demo-client.ts';
import { DEMO_SEED, markDemoComplete, provisionDemo, type DemoWorkspace } from './demo-workspace.ts';

/**
 * `tandem demo` and `npm start`'s first start: provision the demo workspace, build (or resume,
 * or replay) the demo company through the API, and summarise what the user will find in it.
 */
export const DEFAULT_DEMO_ACCOUNTS = 40;
export const DEFAULT_DEMO_MONTHS = 3;

export interface DemoSummary {
  clock: string;
  plans: number;
  accounts: number;
  subscriptions: Record<string, number>;
  invoices: number;
  invoiced: number;
  paid: number;
  open_invoices: number;
  quotes: Record<string, number>;
  top_accounts: Array<{ account: string; name: string | null; score: number; level: string }>;
}

export interface SeedResult {
  workspace: DemoWorkspace;
  /** Absent when an already complete demo was reused as it is. */
  report: DemoBuildReport | null;
  summary: DemoSummary;
  ms: number;
}

export async function seedDemo(
  t: Tandem,
  database: Database,
  opts: { accounts: number; months: number; now: Date; credsFile: string; match: 'any' | 'same_size'; rebuildComplete: boolean; log?: (line: string) => void },
): Promise<SeedResult> {
  const t0 = Date.now();
  const log = opts.log ?? (() => undefined);
  const workspace = await provisionDemo(t, database, opts);
  const api = demoApi(t.app, { secretKey: workspace.creds.secret_key, writeKey: workspace.creds.write_key });
  let report: DemoBuildReport | null = null;
  const b = workspace.build;
  if (!b.completed_at || opts.rebuildComplete) {
    log(
      workspace.created
        ? `demo: building ${b.accounts} accounts over ${b.months} months from ${b.start.slice(0, 10)} in workspace ${workspace.creds.workspace_id}`
        : `demo: ${b.completed_at ? 'replaying' : 'resuming'} the build of workspace ${workspace.creds.workspace_id} (${b.accounts} accounts, ${b.months} months)`,
    );
    report = await buildDemo(api, { accounts: b.accounts, months: b.months, seed: b.seed ?? DEMO_SEED, start: new Date(b.start) }, log);
    if (!b.completed_at) await markDemoComplete(database, workspace.creds.workspace_id, new Date());
    // The build updates and deletes a lot (jobs, scoring queues, rollups); on PGlite nothing else
    // would vacuum that away or give the planner statistics before the first requests.
    const m0 = Date.now();
    const maintained = await runEmbeddedMaintenance(database);
    if (maintained.length) log(`demo: vacuumed/analyzed ${maintained.length} tables in ${Date.now() - m0} ms`);
  }
  return { workspace, report, summary: await summarize(api), ms: Date.now() - t0 };
}

export async function summarize(api: DemoApi): Promise<DemoSummary> {
  const [clock, plans, accounts, subs, invoices, quotes] = await Promise.all([
    api.get('/v1/test_clock'),
    api.list('/v1/plans'),
    api.list('/v1/accounts'),
    api.list('/v1/subscriptions'),
    api.list('/v1/invoices'),
    api.list('/v1/quotes'),
  ]);
  const count = (xs: any[], key: string) => xs.reduce<Record<string, number>>((m, x) => ((m[x[key]] = (m[x[key]] ?? 0) + 1), m), {});
  const scores: DemoSummary['top_accounts'] = [];
  for (const a of accounts) {
    const s = await api.get(`/v1/accounts/${a.id}/score`);
    scores.push({ account: a.id, name: a.name, score: s.score, level: s.level });
  }
  scores.sort((x, y) => y.score - x.score || x.account.localeCompare(y.account));
  return {
    clock: clock.frozen_time,
    plans: plans.length,
    accounts: accounts.length,
    subscriptions: count(subs, 'status'),
    invoices: invoices.length,
    invoiced: invoices.filter((i) => i.status !== 'void' && i.status !== 'draft').reduce((s, i) => s + i.total, 0),
    paid: invoices.reduce((s, i) => s + i.amount_paid, 0),
    open_invoices: invoices.filter((i) => i.status === 'open').length,
    quotes: count(quotes, 'status'),
    top_accounts: scores.slice(0, 3),
  };
}

const usd = (minor: number) => `$${(minor / 100).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
const tally = (m: Record<string, number>) =>
  Object.entries(m)
    .map(([k, v]) => `${v} ${k}`)
    .join(', ') || 'none';

export function summaryLines(r: SeedResult): string[] {
  const s = r.summary;
  const lines = [
    `demo company ${r.report ? `built in ${(r.ms / 1000).toFixed(1)} s` : 'already built'}: workspace ${r.workspace.creds.workspace_id} (sandbox, clock ${s.clock})`,
    `  ${s.plans} plans, ${s.accounts} accounts, subscriptions: ${tally(s.subscriptions)}`,
    `  ${s.invoices} invoices (${usd(s.invoiced)} invoiced, ${usd(s.paid)} paid, ${s.open_invoices} open), quotes: ${tally(s.quotes)}`,
    `  top PQL: ${s.top_accounts.map((a) => `${a.name ?? a.account} ${a.score} (${a.level})`).join('; ')}`,
  ];
  if (r.report) lines.push(`  ${r.report.messagesSent} Segment messages, ${r.report.clockAdvances} clock advances (${r.report.jobsRun} jobs), ${r.report.apiCalls} API requests; ${(r.report.ingestMs / 1000).toFixed(1)} s ingesting, ${(r.report.advanceMs / 1000).toFixed(1)} s advancing the clock`);
  return lines;
}

/** `tandem demo [--accounts N] [--months M] [--data-dir DIR] [--json]`. */
export async function demoCommand(opts: { accounts: number; months: number; dataDir?: string; json?: boolean }): Promise<void> {
  const { dbConfig, explain, fail, openConfigured } = await import('./config.ts');
  const { createTandem } = await import('../tandem.ts');
  const { demoCredentialsFile } = await import('./demo-workspace.ts');
  if (!Number.isInteger(opts.accounts) || opts.accounts < 1 || opts.accounts > 5000) fail('--accounts must be a whole number from 1 to 5000', 2);
  if (!Number.isInteger(opts.months) || opts.months < 1 || opts.months > 24) fail('--months must be a whole number from 1 to 24', 2);
  const cfg = dbConfig(opts);
  const progress = (line: string) => (opts.json ? process.stderr : process.stdout).write(`${line}\n`);
  try {
    const database = await openConfigured(cfg, 'tandem-demo');
    await database.migrate();
    const t = await createTandem({ database, logLevel: process.env.LOG_LEVEL ?? 'warn' });
    const result = await seedDemo(t, database, {
      accounts: opts.accounts,
      months: opts.months,
      now: new Date(),
      credsFile: demoCredentialsFile(cfg.dataDir),
      match: 'same_size',
      rebuildComplete: true,
      log: progress,
    });
    await t.close();
    await database.close();
    const c = result.workspace.creds;
    if (opts.json) process.stdout.write(`${JSON.stringify({ id: c.workspace_id, secret_key: c.secret_key, write_key: c.write_key, summary: result.summary })}\n`);
    else {
      for (const line of summaryLines(result)) progress(line);
      progress(`  secret key ${c.secret_key}\n  write key  ${c.write_key}`);
    }
  } catch (e) {
    fail(explain(e));
  }
}

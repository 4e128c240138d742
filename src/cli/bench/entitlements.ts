/**
 * `tandem bench entitlements [--checks N] [--rate R] [--connections C]`
 *
 * A `tandem serve` child process on a scratch database (see ingest-server.ts), a live workspace
 * set up through the public API: a metered `api_calls` limit and a boolean `sso` feature on a
 * plan, A accounts each with a subscription to it and some usage events. Then a separate sender
 * process (entitlements-sender.ts) issues GET /v1/entitlements/check at a fixed rate (open loop,
 * latency from the instant each request was due) for a random account and feature, while it also
 * ingests events in the background (200/s by default), which invalidates cached answers.
 * Every answer is verified against the events the sender had acknowledged and sent (see the
 * sender): `correct` is true when no check failed and none answered wrong. The server's GC pauses
 * during the timed run (`gc_scavenges`, `gc_pause_ms_total`, `gc_pause_ms_max`; see gc-log.ts)
 * come in the same line (each holds the checks that arrive meanwhile); the server's CPU includes its
 * check process (`check_process`: false under TANDEM_CHECK_PROCESS=0). Prints one JSON line.
 */
import { rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GC_LOG_ENV, summarizeGcFile } from './gc-log.ts';
import { createBenchWorkspace } from './ingest.ts';
import { round, runTsChild, scratchDatabase, startServer } from './ingest-server.ts';
import type { EntitlementsSenderConfig, EntitlementsSenderResult } from './entitlements-sender.ts';
import { settle } from './ingest-sender.ts';

const SENDER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'entitlements-sender.ts');

export interface EntitlementsBenchOptions {
  checks?: number;
  rate?: number;
  accounts?: number;
  ingestRate?: number;
  connections?: number;
}

async function api<T = Record<string, unknown>>(base: string, key: string, method: string, p: string, body?: unknown): Promise<T> {
  const r = await fetch(`${base}${p}`, {
    method,
    headers: { authorization: key.startsWith('wk_') ? `Basic ${Buffer.from(`${key}:`).toString('base64')}` : `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  if (r.status !== 200) throw new Error(`${method} ${p} → ${r.status}: ${text.slice(0, 500)}`);
  return JSON.parse(text) as T;
}

export async function benchEntitlements(opts: EntitlementsBenchOptions): Promise<void> {
  const rate = opts.rate ?? 5000;
  const checks = opts.checks ?? rate * 10;
  const nAccounts = opts.accounts ?? 200;
  const db = await scratchDatabase('entitlements');
  const gcLog = path.join(os.tmpdir(), `tandem-bench-gc-${process.pid}.log`);
  rmSync(gcLog, { force: true });
  try {
    const ws = await createBenchWorkspace(db, 'Bench entitlements');
    const server = await startServer(db, { env: { [GC_LOG_ENV]: gcLog } });
    let sent: EntitlementsSenderResult;
    try {
      const sk = ws.secretKey;
      const base = server.url;
      // Every 'API Call' event counts (the bench workspace's own 'api_calls' metric filters on a status property these events do not carry).
      await api(base, sk, 'POST', '/v1/billable_metrics', { key: 'checked_api_calls', name: 'API calls (checked)', event_name: 'API Call', aggregation: 'count' });
      await api(base, sk, 'POST', '/v1/features', { key: 'api_calls', name: 'API calls', type: 'limit' });
      await api(base, sk, 'POST', '/v1/features', { key: 'sso', name: 'SSO', type: 'boolean' });
      await api(base, sk, 'POST', '/v1/plans', {
        key: 'pro',
        name: 'Pro',
        currency: 'usd',
        prices: [{ type: 'flat', unit_amount: 4900 }],
        entitlements: [
          { feature_key: 'api_calls', limit: 1_000_000, billable_metric: 'checked_api_calls' },
          { feature_key: 'sso', enabled: true },
        ],
      });
      const accounts: Array<{ id: string; externalId: string }> = [];
      for (let i = 0; i < nAccounts; i++) {
        const externalId = `org-${i}`;
        const acct = await api<{ id: string }>(base, sk, 'POST', '/v1/accounts', { name: `Org ${i}`, external_id: externalId });
        await api(base, sk, 'POST', '/v1/subscriptions', { account: acct.id, plan: 'pro', collection_method: 'send_invoice', days_until_due: 30 });
        accounts.push({ id: acct.id, externalId });
      }
      // Usage so far: 50 events per account.
      for (let i = 0; i < nAccounts; i += 10) {
        const batch = accounts.slice(i, i + 10).flatMap((a) =>
          Array.from({ length: 50 }, (_, k) => ({ type: 'track', event: 'API Call', userId: `user-${a.externalId}`, messageId: `setup-${a.externalId}-${k}`, context: { groupId: a.externalId } })),
        );
        await api(base, ws.writeKey, 'POST', '/v1/batch', { batch });
      }
      // The setup set off background work (invoices, scoring of new accounts): let it finish first.
      const settleSeconds = await settle(server.child.pid, db.url ? new URL(db.url).pathname.slice(1) : undefined);
      const cfg: EntitlementsSenderConfig = {
        url: base,
        secretKey: sk,
        writeKey: ws.writeKey,
        accounts,
        features: ['api_calls', 'api_calls', 'api_calls', 'sso'],
        initialUsed: 50,
        limit: 1_000_000,
        checks,
        rate,
        connections: opts.connections ?? 8,
        ingestRate: opts.ingestRate ?? 200,
        seed: 7,
        serverPid: server.child.pid,
        dbName: db.url ? new URL(db.url).pathname.slice(1) : undefined,
      };
      sent = { ...(await runTsChild<EntitlementsSenderResult>(SENDER, cfg)), settle_seconds: settleSeconds } as EntitlementsSenderResult & { settle_seconds: number };
    } finally {
      await server.stop();
    }
    const out = {
      database: db.kind,
      checks: sent.checks,
      rate_per_s: rate,
      achieved_per_s: sent.achieved_per_s,
      p50_ms: sent.p50_ms,
      p99_ms: sent.p99_ms,
      errors: sent.errors,
      correct: sent.errors === 0 && sent.wrong_answers === 0 && sent.verified === sent.checks,
      wrong_answers: sent.wrong_answers,
      // context
      check_process: process.env.TANDEM_CHECK_PROCESS !== '0',
      max_ms: sent.max_ms,
      p99_ms_by_second: sent.p99_ms_by_second,
      seconds: round(sent.seconds),
      accounts: nAccounts,
      background_events: sent.ingested,
      background_ingest_errors: sent.ingest_errors,
      warmup_checks: sent.warmup_checks,
      // CPU seconds over the timed run (checks and the background ingestion together)
      server_cpu_s: sent.server_cpu_s,
      db_cpu_s: sent.db_cpu_s,
      sender_cpu_s: sent.sender_cpu_s,
      server_cpu_ms_per_check: sent.server_cpu_s === null ? null : round((sent.server_cpu_s * 1000) / sent.checks, 3),
      settle_seconds: round((sent as EntitlementsSenderResult & { settle_seconds?: number }).settle_seconds ?? 0),
      // The server's GC pauses that started during the timed run (a check arriving in one waits it out).
      ...summarizeGcFile(gcLog, sent.timed_from_ms, sent.timed_to_ms),
      load_avg_1m: round(os.loadavg()[0]),
    };
    process.stdout.write(`${JSON.stringify(out)}\n`);
  } finally {
    rmSync(gcLog, { force: true });
    await db.drop();
  }
}

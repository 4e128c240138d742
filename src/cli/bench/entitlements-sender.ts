/**
 * The load generator of `tandem bench entitlements`, run as its own process (node --import tsx
 * entitlements-sender.ts '<config JSON>'). Open loop: GET /v1/entitlements/check is issued at a
 * fixed rate whatever the answers' latency (a slow server does not slow the generator down, so
 * queueing is measured, not hidden), for a random account and feature; latency counts from the
 * instant the request was due. Meanwhile a background loop ingests track events for random
 * accounts through /v1/batch, which invalidates their cached answers. Prints one JSON line.
 *
 * Before the timed run each distinct check is asked once, untimed (a running server's cache is
 * warm; the run measures the steady state, not a cold start), and ingestion starts.
 *
 * Every answer is verified. The sender knows how many `API Call` events of each account the
 * server has acknowledged (the setup's plus each background batch answered 200) and how many it
 * has sent at all; an `api_calls` answer is correct when `used` is at least what had been
 * acknowledged when the check was sent (an acknowledged event must be seen: one server process
 * here) and at most what had been sent when the answer came, with `remaining` = limit − used and
 * `allowed`; an `sso` answer must allow. The count of wrong answers is reported.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuMeter } from './ingest-sender.ts';
import { Rng } from '../random.ts';

export interface EntitlementsSenderConfig {
  url: string;
  secretKey: string;
  writeKey: string;
  /** Account ids (acct_…) and the external ids their events carry as context.groupId. */
  accounts: Array<{ id: string; externalId: string }>;
  features: string[];
  /** `API Call` events each account already has (acknowledged during setup). */
  initialUsed: number;
  /** The plan's api_calls limit. */
  limit: number;
  checks: number;
  rate: number;
  /** Background ingestion: events per second, sent as batches of 100. */
  ingestRate: number;
  seed: number;
  /** For CPU accounting of the timed run (Linux /proc): the server's pid, the PostgreSQL database its backends serve. */
  serverPid?: number;
  dbName?: string;
}

export interface EntitlementsSenderResult {
  checks: number;
  seconds: number;
  achieved_per_s: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  errors: number;
  /** Answers (status 200) that were verified, and how many of them were wrong. */
  verified: number;
  wrong_answers: number;
  ingested: number;
  ingest_errors: number;
  /** Untimed checks first, one per distinct (account, feature) asked: a running server's cache is warm. */
  warmup_checks: number;
  /** CPU seconds used during the timed run: the server process (PGlite runs inside it), its PostgreSQL backends, this sender. */
  server_cpu_s: number | null;
  db_cpu_s: number | null;
  sender_cpu_s: number;
}

/** Deterministic: the same seed sends the same load. */
function prng(seed: number) {
  const r = new Rng(seed);
  return () => r.next();
}

function request(agent: http.Agent, url: URL, opts: { method: string; path: string; auth: string; body?: Buffer }): Promise<number> {
  return requestWithBody(agent, url, opts, false).then((r) => r.status);
}

function requestWithBody(agent: http.Agent, url: URL, opts: { method: string; path: string; auth: string; body?: Buffer }, keep: boolean): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = http.request(
      {
        agent,
        hostname: url.hostname,
        port: url.port,
        path: opts.path,
        method: opts.method,
        headers: { authorization: opts.auth, ...(opts.body ? { 'content-type': 'application/json', 'content-length': opts.body.length } : {}) },
      },
      (res) => {
        let body = '';
        if (keep) res.on('data', (b: Buffer) => (body += b));
        else res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', () => resolve({ status: 0, body: '' }));
      },
    );
    req.on('error', () => resolve({ status: 0, body: '' }));
    req.end(opts.body);
  });
}

export async function runEntitlementsSender(cfg: EntitlementsSenderConfig): Promise<EntitlementsSenderResult> {
  const url = new URL(cfg.url);
  const rnd = prng(cfg.seed);
  const checkAgent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const ingestAgent = new http.Agent({ keepAlive: true, maxSockets: 2 });
  const bearer = `Bearer ${cfg.secretKey}`;
  const basic = `Basic ${Buffer.from(`${cfg.writeKey}:`).toString('base64')}`;
  const targets = Array.from({ length: 4096 }, () => {
    const account = Math.floor(rnd() * cfg.accounts.length);
    const feature = cfg.features[Math.floor(rnd() * cfg.features.length)];
    const a = cfg.accounts[account];
    return { account, feature, path: `/v1/entitlements/check?account=${encodeURIComponent(a.id)}&feature=${encodeURIComponent(feature)}` };
  });
  // Per account: API Call events acknowledged by the server, and sent at all (acknowledged, in flight or failed).
  const acked = new Array<number>(cfg.accounts.length).fill(cfg.initialUsed);
  const sentEvents = new Array<number>(cfg.accounts.length).fill(cfg.initialUsed);
  let verified = 0;
  let wrong = 0;
  const verify = (t: (typeof targets)[number], ackedAtSend: number, body: string) => {
    verified++;
    let ok = false;
    try {
      const r = JSON.parse(body) as { account: string; allowed: boolean; limit: number | null; used: string | null; remaining: string | null };
      if (r.account !== cfg.accounts[t.account].id) ok = false;
      else if (t.feature === 'api_calls') {
        const used = Number(r.used);
        ok = Number.isInteger(used) && used >= ackedAtSend && used <= sentEvents[t.account] && r.limit === cfg.limit && Number(r.remaining) === cfg.limit - used && r.allowed === used < cfg.limit;
      } else ok = r.allowed === true;
    } catch {
      ok = false;
    }
    if (!ok && ++wrong <= 5) process.stderr.write(`wrong answer for ${t.path} (acknowledged ${ackedAtSend}, sent ${sentEvents[t.account]}): ${body}\n`);
  };

  // Warm-up (untimed, unverified): each distinct check once, 16 at a time.
  const distinct = [...new Set(targets.map((t) => t.path))];
  for (let i = 0; i < distinct.length; i += 16) {
    await Promise.all(distinct.slice(i, i + 16).map((p) => request(checkAgent, url, { method: 'GET', path: p, auth: bearer })));
  }

  // Background ingestion: a batch of 100 events every 100 / ingestRate seconds.
  let stop = false;
  let ingested = 0;
  let ingestErrors = 0;
  const ingestLoop = async () => {
    if (cfg.ingestRate <= 0) return;
    const every = (100 / cfg.ingestRate) * 1000;
    let due = performance.now();
    while (!stop) {
      const counts = new Map<number, number>();
      const batch = Array.from({ length: 100 }, () => {
        const i = Math.floor(rnd() * cfg.accounts.length);
        const a = cfg.accounts[i];
        counts.set(i, (counts.get(i) ?? 0) + 1);
        return { type: 'track', event: 'API Call', userId: `user-${a.externalId}`, messageId: randomUUID(), timestamp: new Date().toISOString(), context: { groupId: a.externalId }, properties: { endpoint: '/v1/search' } };
      });
      for (const [i, n] of counts) sentEvents[i] += n;
      const status = await request(ingestAgent, url, { method: 'POST', path: '/v1/batch', auth: basic, body: Buffer.from(JSON.stringify({ batch })) });
      if (status === 200) {
        ingested += 100;
        for (const [i, n] of counts) acked[i] += n;
      } else ingestErrors++;
      due += every;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  };
  const background = ingestLoop();

  const cpu = cpuMeter(cfg.serverPid, cfg.dbName);
  const latencies = new Float64Array(cfg.checks);
  let errors = 0;
  let done = 0;
  const t0 = performance.now();
  const interval = 1000 / cfg.rate;
  await new Promise<void>((resolve) => {
    let issued = 0;
    const tick = () => {
      const now = performance.now();
      // Everything due by now goes out, each timed from its due instant.
      while (issued < cfg.checks && t0 + issued * interval <= now) {
        const i = issued++;
        const dueAt = t0 + i * interval;
        const t = targets[i % targets.length];
        const ackedAtSend = acked[t.account];
        void requestWithBody(checkAgent, url, { method: 'GET', path: t.path, auth: bearer }, true).then(({ status, body }) => {
          latencies[i] = performance.now() - dueAt;
          if (status !== 200) errors++;
          else verify(t, ackedAtSend, body);
          if (++done === cfg.checks) resolve();
        });
      }
      if (issued < cfg.checks) setTimeout(tick, Math.max(0, Math.min(interval, t0 + issued * interval - performance.now())));
    };
    tick();
  });
  const seconds = (performance.now() - t0) / 1000;
  const used = cpu();
  stop = true;
  await background;
  checkAgent.destroy();
  ingestAgent.destroy();
  const sorted = Array.from(latencies).sort((a, b) => a - b);
  const pct = (p: number) => Number(sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))].toFixed(2));
  return { checks: cfg.checks, seconds, achieved_per_s: Math.round(cfg.checks / seconds), p50_ms: pct(50), p99_ms: pct(99), max_ms: pct(100), errors, verified, wrong_answers: wrong, ingested, ingest_errors: ingestErrors, warmup_checks: distinct.length, server_cpu_s: used.server, db_cpu_s: used.db, sender_cpu_s: used.sender };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const result = await runEntitlementsSender(JSON.parse(process.argv[2]) as EntitlementsSenderConfig);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

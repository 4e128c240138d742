/**
 * The load generator of `tandem bench entitlements`, run as its own process (node --import tsx
 * entitlements-sender.ts '<config JSON>'). Open loop: GET /v1/entitlements/check is issued at a
 * fixed rate whatever the answers' latency (a slow server does not slow the generator down, so
 * queueing is measured, not hidden), for a random account and feature; latency counts from the
 * instant the request was due. Meanwhile a background loop ingests track events for random
 * accounts through /v1/batch, which invalidates their cached answers. Prints one JSON line.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface EntitlementsSenderConfig {
  url: string;
  secretKey: string;
  writeKey: string;
  /** Account ids (acct_…) and the external ids their events carry as context.groupId. */
  accounts: Array<{ id: string; externalId: string }>;
  features: string[];
  checks: number;
  rate: number;
  /** Background ingestion: events per second, sent as batches of 100. */
  ingestRate: number;
  seed: number;
}

export interface EntitlementsSenderResult {
  checks: number;
  seconds: number;
  achieved_per_s: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  errors: number;
  ingested: number;
  ingest_errors: number;
}

function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function request(agent: http.Agent, url: URL, opts: { method: string; path: string; auth: string; body?: Buffer }): Promise<number> {
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
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', () => resolve(0));
      },
    );
    req.on('error', () => resolve(0));
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
  const paths = Array.from({ length: 4096 }, () => {
    const a = cfg.accounts[Math.floor(rnd() * cfg.accounts.length)];
    const f = cfg.features[Math.floor(rnd() * cfg.features.length)];
    return `/v1/entitlements/check?account=${encodeURIComponent(a.id)}&feature=${encodeURIComponent(f)}`;
  });

  // Background ingestion: a batch of 100 events every 100 / ingestRate seconds.
  let stop = false;
  let ingested = 0;
  let ingestErrors = 0;
  const ingestLoop = async () => {
    if (cfg.ingestRate <= 0) return;
    const every = (100 / cfg.ingestRate) * 1000;
    let due = performance.now();
    while (!stop) {
      const batch = Array.from({ length: 100 }, () => {
        const a = cfg.accounts[Math.floor(rnd() * cfg.accounts.length)];
        return { type: 'track', event: 'API Call', userId: `user-${a.externalId}`, messageId: randomUUID(), timestamp: new Date().toISOString(), context: { groupId: a.externalId }, properties: { endpoint: '/v1/search' } };
      });
      const status = await request(ingestAgent, url, { method: 'POST', path: '/v1/batch', auth: basic, body: Buffer.from(JSON.stringify({ batch })) });
      if (status === 200) ingested += 100;
      else ingestErrors++;
      due += every;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  };
  const background = ingestLoop();

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
        void request(checkAgent, url, { method: 'GET', path: paths[i % paths.length], auth: bearer }).then((status) => {
          latencies[i] = performance.now() - dueAt;
          if (status !== 200) errors++;
          if (++done === cfg.checks) resolve();
        });
      }
      if (issued < cfg.checks) setTimeout(tick, Math.max(0, Math.min(interval, t0 + issued * interval - performance.now())));
    };
    tick();
  });
  const seconds = (performance.now() - t0) / 1000;
  stop = true;
  await background;
  checkAgent.destroy();
  ingestAgent.destroy();
  const sorted = Array.from(latencies).sort((a, b) => a - b);
  const pct = (p: number) => Number(sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))].toFixed(2));
  return { checks: cfg.checks, seconds, achieved_per_s: Math.round(cfg.checks / seconds), p50_ms: pct(50), p99_ms: pct(99), max_ms: pct(100), errors, ingested, ingest_errors: ingestErrors };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const result = await runEntitlementsSender(JSON.parse(process.argv[2]) as EntitlementsSenderConfig);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/**
 * The load generator of `tandem bench ingest`, run as its own process (node --import tsx
 * ingest-sender.ts '<config JSON>'), so that what it costs is not counted in the server's
 * event loop. It sends what a backend using @segment/analytics-node sends: /v1/batch requests
 * (`{batch, sentAt}`, Basic auth with the write key) of track calls with a userId,
 * context.groupId, context.library, properties and a messageId, with identify and group calls
 * mixed in at a low rate, and page calls from anonymous visitors if asked (`anonymousRate`); over
 * C keep-alive connections, each with one request in flight.
 *
 * Phases: setup (one group call per account, so accounts exist), warm-up (not timed), the timed
 * run. Every request body is built before the clock starts. A request that fails (network error,
 * 5xx) is retried like Segment's clients do; the messageIds of every batch answered 200 (minus
 * any it lists as rejected) are written to `ackFile`, one per line, for the caller to verify.
 * Prints one JSON line of figures.
 */
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '../random.ts';

export interface SenderConfig {
  url: string;
  writeKey: string;
  events: number;
  batchSize: number;
  connections: number;
  accounts: number;
  usersPerAccount: number;
  /** Share of identify + group calls among the messages of the timed run (0.01 = 1 %). */
  identityRate: number;
  /**
   * Share of page calls from visitors never identified (an anonymousId, no userId, no group):
   * stored without an account, each request with some pays the identity re-check (events.service).
   */
  anonymousRate?: number;
  warmupEvents: number;
  seed: number;
  ackFile: string;
  /** Send the group calls that create the accounts first (default true). */
  setup?: boolean;
  /** For CPU accounting of the timed run (Linux /proc): the server's pid, the PostgreSQL database its backends serve. */
  serverPid?: number;
  dbName?: string;
}

export interface SenderResult {
  events: number;
  requests: number;
  seconds: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  errors: number;
  rejected: number;
  retries: number;
  acked: number;
  setup_seconds: number;
  /** Waiting, after setup, for the work it set off (jobs reacting to new accounts) to finish. */
  settle_seconds: number;
  warmup_seconds: number;
  build_seconds: number;
  /** CPU seconds used during the timed run: the server process (PGlite runs inside it) with its check process, its PostgreSQL backends, this sender. */
  server_cpu_s: number | null;
  db_cpu_s: number | null;
  sender_cpu_s: number;
}

/** utime + stime of a process, in seconds (Linux); null when unreadable. */
export function cpuOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return null;
  }
}

/** CPU seconds of every PostgreSQL backend connected to `db` (their titles read "postgres: … <user> <db> …"), by pid. */
function backendsCpu(db: string): Map<number, number> {
  const out = new Map<number, number>();
  let pids: string[] = [];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return out;
  }
  for (const p of pids) {
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8');
      if (!cmd.startsWith('postgres:') || !cmd.split(/\s+/).includes(db)) continue;
      const c = cpuOf(Number(p));
      if (c !== null) out.set(Number(p), c);
    } catch {
      /* gone */
    }
  }
  return out;
}

/** CPU seconds of a process and of its children (the server's check process), by pid. */
function withChildrenCpu(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  const own = cpuOf(pid);
  if (own === null) return out;
  out.set(pid, own);
  for (const p of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) !== pid) continue;
      const c = cpuOf(Number(p));
      if (c !== null) out.set(Number(p), c);
    } catch {
      /* gone */
    }
  }
  return out;
}

/** CPU seconds used since `before` by the processes in `now` (a process new since then counts whole). */
function used(before: Map<number, number>, now: Map<number, number>): number {
  let sum = 0;
  for (const [pid, c] of now) sum += c - (before.get(pid) ?? 0);
  return sum;
}

export function cpuMeter(serverPid?: number, dbName?: string) {
  const s0 = serverPid ? withChildrenCpu(serverPid) : null;
  const d0 = dbName ? backendsCpu(dbName) : new Map<number, number>();
  const me0 = process.cpuUsage();
  return () => {
    const s1 = serverPid && s0?.size ? used(s0, withChildrenCpu(serverPid)) : null;
    const db = dbName ? used(d0, backendsCpu(dbName)) : null;
    const me = process.cpuUsage(me0);
    return { server: s1 !== null ? Number(s1.toFixed(2)) : null, db: db === null ? null : Number(db.toFixed(2)), sender: Number(((me.user + me.system) / 1e6).toFixed(2)) };
  };
}

interface Prepared {
  body: Buffer;
  ids: string[];
}

/** Deterministic: the same seed sends the same load. */
function prng(seed: number) {
  const r = new Rng(seed);
  return () => r.next();
}

const LIBRARY = { name: '@segment/analytics-node', version: '3.1.0' };
const METADATA = { nodeVersion: process.versions.node, jsRuntime: 'node' };
const EVENTS = ['API Call', 'API Call', 'API Call', 'Report Viewed', 'Dashboard Loaded', 'Export Created', 'Seat Added', 'Search Performed'];
const ENDPOINTS = ['/v1/search', '/v1/documents', '/v1/documents/{id}', '/v1/exports', '/v1/users', '/v1/reports/{id}'];
const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-2'];
const PAGES = ['/', '/pricing', '/docs', '/blog', '/signup'];
const PLANS = ['starter', 'pro', 'business'];

export function groupTraits(a: number) {
  return { name: `Org ${a}`, domain: `org${a}.example.com`, employees: 10 + ((a * 37) % 990), industry: 'Software', plan: PLANS[a % 3] };
}

export function makeMessageFactory(cfg: Pick<SenderConfig, 'accounts' | 'usersPerAccount' | 'identityRate' | 'anonymousRate' | 'seed'>) {
  const rnd = prng(cfg.seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)];
  // A mild skew: some accounts send much more than others.
  const account = () => Math.floor(rnd() ** 1.6 * cfg.accounts);
  const base = Date.now();
  let seq = 0;
  const messageId = () => `node-next-${base + seq++}-${randomUUID()}`;
  return (): Record<string, unknown> => {
    const a = account();
    const u = Math.floor(rnd() * cfg.usersPerAccount);
    const userId = `user-${a}-${u}`;
    const timestamp = new Date(Date.now() - Math.floor(rnd() * 2000)).toISOString();
    const r = rnd();
    if (r < cfg.identityRate / 2) {
      return {
        type: 'identify',
        userId,
        traits: { email: `user${u}@org${a}.example.com`, name: `User ${u} of Org ${a}`, plan: PLANS[a % 3], createdAt: '2025-06-01T00:00:00.000Z' },
        messageId: messageId(),
        timestamp,
        context: { library: LIBRARY },
        integrations: {},
        _metadata: METADATA,
      };
    }
    if (r < cfg.identityRate) {
      return { type: 'group', userId, groupId: `org-${a}`, traits: groupTraits(a), messageId: messageId(), timestamp, context: { library: LIBRARY }, integrations: {}, _metadata: METADATA };
    }
    if (r < cfg.identityRate + (cfg.anonymousRate ?? 0)) {
      const path = pick(PAGES);
      return {
        type: 'page',
        anonymousId: `anon-${a}-${Math.floor(rnd() * 1000)}`,
        name: path,
        properties: { path, url: `https://www.example.com${path}`, referrer: 'https://www.google.com/' },
        context: { library: LIBRARY, page: { path } },
        messageId: messageId(),
        timestamp,
        integrations: {},
        _metadata: METADATA,
      };
    }
    return {
      type: 'track',
      event: pick(EVENTS),
      userId,
      properties: {
        endpoint: pick(ENDPOINTS),
        method: rnd() < 0.7 ? 'GET' : 'POST',
        status: rnd() < 0.97 ? 200 : 429,
        duration_ms: Math.floor(5 + rnd() * 400),
        request_bytes: Math.floor(rnd() * 50_000),
        region: pick(REGIONS),
        plan: PLANS[a % 3],
      },
      context: { groupId: `org-${a}`, library: LIBRARY },
      messageId: messageId(),
      timestamp,
      integrations: {},
      _metadata: METADATA,
    };
  };
}

function prepare(messages: Array<Record<string, unknown>>): Prepared {
  return { body: Buffer.from(JSON.stringify({ batch: messages, sentAt: new Date().toISOString() })), ids: messages.map((m) => m.messageId as string) };
}

function build(total: number, batchSize: number, next: () => Record<string, unknown>): Prepared[] {
  const out: Prepared[] = [];
  for (let done = 0; done < total; ) {
    const n = Math.min(batchSize, total - done);
    out.push(prepare(Array.from({ length: n }, next)));
    done += n;
  }
  return out;
}

function post(agent: http.Agent, url: URL, auth: string, body: Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { agent, hostname: url.hostname, port: url.port, path: '/v1/batch', method: 'POST', headers: { 'content-type': 'application/json', 'content-length': body.length, authorization: auth } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Sends every batch over `connections` keep-alive connections; returns per-request latencies and acknowledged ids. */
export async function sendAll(cfg: { url: string; writeKey: string; connections: number }, batches: Prepared[], acked: string[]) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: cfg.connections });
  const url = new URL(cfg.url);
  const auth = `Basic ${Buffer.from(`${cfg.writeKey}:`).toString('base64')}`;
  const latencies: number[] = [];
  let nextIndex = 0;
  let errors = 0;
  let rejected = 0;
  let retries = 0;
  const worker = async () => {
    for (;;) {
      const i = nextIndex++;
      if (i >= batches.length) return;
      const b = batches[i];
      for (let attempt = 1; ; attempt++) {
        const t0 = performance.now();
        let r: { status: number; text: string } | undefined;
        try {
          r = await post(agent, url, auth, b.body);
        } catch {
          r = undefined;
        }
        latencies.push(performance.now() - t0);
        if (r && r.status === 200) {
          const parsed = JSON.parse(r.text) as { success: boolean; rejected?: Array<{ messageId: string | null }> };
          const refused = new Set((parsed.rejected ?? []).map((x) => x.messageId));
          rejected += refused.size;
          for (const id of b.ids) if (!refused.has(id)) acked.push(id);
          break;
        }
        if (r && r.status < 500 && r.status !== 429) {
          errors++;
          process.stderr.write(`ingest-sender: batch ${i} answered ${r.status}: ${r.text.slice(0, 300)}\n`);
          break;
        }
        if (attempt >= 5) {
          errors++;
          process.stderr.write(`ingest-sender: batch ${i} failed after ${attempt} attempts: ${r ? `${r.status} ${r.text.slice(0, 300)}` : 'network error'}\n`);
          break;
        }
        retries++;
        await new Promise((res) => setTimeout(res, 50 * attempt));
      }
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: cfg.connections }, worker));
  const seconds = (performance.now() - t0) / 1000;
  agent.destroy();
  return { seconds, latencies, errors, rejected, retries };
}

/**
 * Waits until the server (and its PostgreSQL backends) has been nearly idle for a second: the
 * accounts created by setup set off background jobs (domain events, scoring) that would otherwise
 * run during the timed phase. At most two minutes.
 */
export async function settle(serverPid?: number, dbName?: string): Promise<number> {
  if (!serverPid) return 0;
  const t0 = performance.now();
  let quiet = 0;
  while (performance.now() - t0 < 120_000 && quiet < 2) {
    const meter = cpuMeter(serverPid, dbName);
    await new Promise((r) => setTimeout(r, 500));
    const c = meter();
    quiet = (c.server ?? 0) + (c.db ?? 0) < 0.05 ? quiet + 1 : 0;
  }
  return (performance.now() - t0) / 1000;
}

export async function runSender(cfg: SenderConfig): Promise<SenderResult> {
  const acked: string[] = [];
  let setupSeconds = 0;
  if (cfg.setup !== false) {
    // One group call per account (its first user), 100 per request: the accounts exist before the run.
    const groups = Array.from({ length: cfg.accounts }, (_, a) => ({
      type: 'group',
      userId: `user-${a}-0`,
      groupId: `org-${a}`,
      traits: groupTraits(a),
      messageId: `setup-group-${a}-${randomUUID()}`,
      timestamp: new Date().toISOString(),
      context: { library: LIBRARY },
    }));
    const setupBatches: Prepared[] = [];
    for (let i = 0; i < groups.length; i += 100) setupBatches.push(prepare(groups.slice(i, i + 100)));
    const s = await sendAll({ ...cfg, connections: Math.min(cfg.connections, 4) }, setupBatches, acked);
    if (s.errors) throw new Error(`setup failed: ${s.errors} batches`);
    setupSeconds = s.seconds;
  }
  const settleSeconds = await settle(cfg.serverPid, cfg.dbName);
  const next = makeMessageFactory(cfg);
  const warm = build(cfg.warmupEvents, cfg.batchSize, next);
  const w = await sendAll(cfg, warm, acked);
  const b1 = performance.now();
  const timed = build(cfg.events, cfg.batchSize, next);
  const buildSeconds = (performance.now() - b1) / 1000;
  const meter = cpuMeter(cfg.serverPid, cfg.dbName);
  const r = await sendAll(cfg, timed, acked);
  const cpu = meter();
  writeFileSync(cfg.ackFile, acked.join('\n'));
  const sorted = r.latencies.sort((x, y) => x - y);
  const pct = (p: number) => Number((sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? 0).toFixed(1));
  return {
    events: cfg.events,
    requests: timed.length,
    seconds: r.seconds,
    p50_ms: pct(50),
    p99_ms: pct(99),
    max_ms: pct(100),
    errors: r.errors + w.errors,
    rejected: r.rejected + w.rejected,
    retries: r.retries + w.retries,
    acked: acked.length,
    setup_seconds: setupSeconds,
    settle_seconds: settleSeconds,
    warmup_seconds: w.seconds,
    build_seconds: buildSeconds,
    server_cpu_s: cpu.server,
    db_cpu_s: cpu.db,
    sender_cpu_s: cpu.sender,
  };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const result = await runSender(JSON.parse(process.argv[2]) as SenderConfig);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

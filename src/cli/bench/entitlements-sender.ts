/**
 * The load generator of `tandem bench entitlements`, run as its own process (node --import tsx
 * entitlements-sender.ts '<config JSON>'). Open loop: GET /v1/entitlements/check is issued at a
 * fixed rate whatever the answers' latency (a slow server does not slow the generator down, so
 * queueing is measured, not hidden), for a random account and feature; latency counts from the
 * instant the request was due (the generator's own timer lateness included: it can only make the
 * figures worse). The checks are precomputed request bytes written to a few keep-alive
 * connections (each request to the one with the fewest answers outstanding; those due in the same
 * tick go out in one write per connection, pipelined) and the answers are parsed here, so the
 * generator costs little of the CPU it shares with the server. Meanwhile a background loop ingests track events for random
 * accounts through /v1/batch, which invalidates their cached answers. Prints one JSON line.
 *
 * Before the timed run each distinct check is asked once, untimed (a running server's cache is
 * warm; the run measures the steady state, not a cold start), ingestion starts, and checks run at
 * the target rate for WARMUP_SECONDS, untimed (counted in `warmup_checks`).
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
import net from 'node:net';
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
  /** Keep-alive connections the checks are spread over (pipelined; default 8). */
  connections?: number;
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
  /** p99 of the checks due in each second of the run: a burst (a stall of the machine or of the server) shows as one bad second. */
  p99_ms_by_second: number[];
  errors: number;
  /** Answers (status 200) that were verified, and how many of them were wrong. */
  verified: number;
  wrong_answers: number;
  ingested: number;
  ingest_errors: number;
  /** Untimed checks first: one per distinct (account, feature) asked, then WARMUP_SECONDS at the target rate. */
  warmup_checks: number;
  /** CPU seconds used during the timed run: the server process (PGlite runs inside it), its PostgreSQL backends, this sender. */
  server_cpu_s: number | null;
  db_cpu_s: number | null;
  sender_cpu_s: number;
  /** Wall clock (ms since the epoch) at the timed run's start and end, to match the server's GC log. */
  timed_from_ms: number;
  timed_to_ms: number;
}

/** Untimed seconds at the target rate before the timed run (after one check of each distinct kind). */
const WARMUP_SECONDS = 2;

/** Deterministic: the same seed sends the same load. */
function prng(seed: number) {
  const r = new Rng(seed);
  return () => r.next();
}

/** The background ingestion's requests (a few a second): node's http client. */
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

/** One request on a check connection, in the order it was sent (HTTP/1.1 answers in order). */
interface InFlight {
  /** Index in the timed run, or -1 for a warm-up check. */
  i: number;
  dueAt: number;
  t: Target;
  ackedAtSend: number;
}

interface Target {
  account: number;
  feature: string;
  path: string;
  /** The whole request, bytes ready to write. */
  bytes: Buffer;
}

/**
 * A keep-alive HTTP/1.1 connection for the checks, written to directly: requests are precomputed
 * bytes, several may be outstanding (pipelining), and answers are parsed here (status line,
 * Content-Length, body) — the load generator shares the machine's two cores with the server, so
 * it must cost far less per request than node's http client does.
 */
class CheckConnection {
  readonly queue: InFlight[] = [];
  private head = 0;
  private pending: Buffer[] = [];
  private buf: Buffer = Buffer.alloc(0);
  private socket: net.Socket;
  private closed = false;
  constructor(
    private readonly url: URL,
    private readonly onAnswer: (f: InFlight, status: number, body: string) => void,
  ) {
    this.socket = this.connect();
  }

  get inFlight(): number {
    return this.queue.length - this.head;
  }

  private connect(): net.Socket {
    const s = net.connect({ host: this.url.hostname, port: Number(this.url.port), noDelay: true });
    s.on('data', (b: Buffer) => this.read(b));
    s.on('error', () => undefined);
    s.on('close', () => {
      // Whatever was outstanding is lost: count it as failed and go on with a new connection.
      if (this.closed) return;
      for (let k = this.head; k < this.queue.length; k++) this.onAnswer(this.queue[k], 0, '');
      this.queue.length = 0;
      this.head = 0;
      this.buf = Buffer.alloc(0);
      this.socket = this.connect();
    });
    return s;
  }

  /** Queued now, written by `flush` (all the requests due in one tick go out in one write). */
  send(f: InFlight): void {
    this.queue.push(f);
    this.pending.push(f.t.bytes);
  }

  flush(): void {
    if (!this.pending.length) return;
    this.socket.write(this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending));
    this.pending = [];
  }

  private read(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    for (;;) {
      const headEnd = this.buf.indexOf('\r\n\r\n');
      if (headEnd < 0) return;
      const head = this.buf.toString('latin1', 0, headEnd);
      const status = Number(head.slice(9, 12));
      const m = /\r\ncontent-length:\s*(\d+)/i.exec(head);
      if (!m) throw new Error(`answer without Content-Length: ${head}`);
      const end = headEnd + 4 + Number(m[1]);
      if (this.buf.length < end) return;
      const body = this.buf.toString('utf8', headEnd + 4, end);
      this.buf = this.buf.subarray(end);
      const f = this.queue[this.head++];
      if (this.head === this.queue.length) {
        this.queue.length = 0;
        this.head = 0;
      }
      this.onAnswer(f, status, body);
    }
  }

  close(): void {
    this.closed = true;
    this.socket.destroy();
  }
}

export async function runEntitlementsSender(cfg: EntitlementsSenderConfig): Promise<EntitlementsSenderResult> {
  const url = new URL(cfg.url);
  const rnd = prng(cfg.seed);
  const ingestAgent = new http.Agent({ keepAlive: true, maxSockets: 2 });
  const bearer = `Bearer ${cfg.secretKey}`;
  const basic = `Basic ${Buffer.from(`${cfg.writeKey}:`).toString('base64')}`;
  const targets: Target[] = Array.from({ length: 4096 }, () => {
    const account = Math.floor(rnd() * cfg.accounts.length);
    const feature = cfg.features[Math.floor(rnd() * cfg.features.length)];
    const a = cfg.accounts[account];
    const p = `/v1/entitlements/check?account=${encodeURIComponent(a.id)}&feature=${encodeURIComponent(feature)}`;
    return { account, feature, path: p, bytes: Buffer.from(`GET ${p} HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: ${bearer}\r\n\r\n`, 'latin1') };
  });
  // Per account: API Call events acknowledged by the server, and sent at all (acknowledged, in flight or failed).
  const acked = new Array<number>(cfg.accounts.length).fill(cfg.initialUsed);
  const sentEvents = new Array<number>(cfg.accounts.length).fill(cfg.initialUsed);
  let verified = 0;
  let wrong = 0;
  const verify = (t: Target, ackedAtSend: number, body: string) => {
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

  const latencies = new Float64Array(cfg.checks);
  let errors = 0;
  let done = 0;
  let warmDone = 0;
  let onDone: () => void = () => undefined;
  const onAnswer = (f: InFlight, status: number, body: string) => {
    if (f.i < 0) {
      warmDone++;
      onDone();
      return;
    }
    latencies[f.i] = performance.now() - f.dueAt;
    if (status !== 200) errors++;
    else verify(f.t, f.ackedAtSend, body);
    done++;
    onDone();
  };
  const conns = Array.from({ length: Math.max(1, cfg.connections ?? 8) }, () => new CheckConnection(url, onAnswer));
  /** The connection with the fewest answers outstanding (the next one in turn among equals). */
  let turn = 0;
  const pick = () => {
    let best = conns[turn];
    for (let k = 1; k < conns.length; k++) {
      const c = conns[(turn + k) % conns.length];
      if (c.inFlight < best.inFlight) best = c;
    }
    turn = (turn + 1) % conns.length;
    return best;
  };

  // Warm-up (untimed, unverified): each distinct check once.
  const distinct = [...new Map(targets.map((t) => [t.path, t])).values()];
  await new Promise<void>((resolve) => {
    onDone = () => warmDone === distinct.length && resolve();
    for (const t of distinct) pick().send({ i: -1, dueAt: 0, t, ackedAtSend: 0 });
    for (const c of conns) c.flush();
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

  const interval = 1000 / cfg.rate;
  /** `n` checks at the target rate, open loop; `timed`: answers recorded and verified (else a warm-up). */
  const paced = (n: number, timed: boolean) =>
    new Promise<void>((resolve) => {
      const t0 = performance.now();
      const warmBefore = warmDone;
      onDone = () => (timed ? done === n : warmDone - warmBefore === n) && resolve();
      let issued = 0;
      const tick = () => {
        const now = performance.now();
        // Everything due by now goes out, each timed from its due instant.
        while (issued < n && t0 + issued * interval <= now) {
          const i = issued++;
          const t = targets[i % targets.length];
          pick().send({ i: timed ? i : -1, dueAt: t0 + i * interval, t, ackedAtSend: acked[t.account] });
        }
        for (const c of conns) c.flush();
        if (issued < n) setTimeout(tick, Math.max(0, Math.min(interval, t0 + issued * interval - performance.now())));
      };
      tick();
    });
  // Then WARMUP_SECONDS at the target rate, untimed, with the ingestion running: the server's
  // code is optimized by then and its caches are in their steady rhythm (a freshly started
  // process answers its first few thousand requests from unoptimized code).
  const warmRun = Math.round(cfg.rate * WARMUP_SECONDS);
  await paced(warmRun, false);

  const cpu = cpuMeter(cfg.serverPid, cfg.dbName);
  const t0 = performance.now();
  const timedFrom = Date.now();
  await paced(cfg.checks, true);
  const seconds = (performance.now() - t0) / 1000;
  const timedTo = Date.now();
  const used = cpu();
  stop = true;
  await background;
  for (const c of conns) c.close();
  ingestAgent.destroy();
  const pctOf = (xs: Float64Array, p: number) => {
    const sorted = Float64Array.from(xs).sort();
    return Number(sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))].toFixed(2));
  };
  const pct = (p: number) => pctOf(latencies, p);
  const bySecond: number[] = [];
  for (let from = 0; from < cfg.checks; from += cfg.rate) bySecond.push(pctOf(latencies.subarray(from, Math.min(cfg.checks, from + cfg.rate)), 99));
  return { checks: cfg.checks, seconds, achieved_per_s: Math.round(cfg.checks / seconds), p50_ms: pct(50), p99_ms: pct(99), max_ms: pct(100), p99_ms_by_second: bySecond, errors, verified, wrong_answers: wrong, ingested, ingest_errors: ingestErrors, warmup_checks: distinct.length + warmRun, server_cpu_s: used.server, db_cpu_s: used.db, sender_cpu_s: used.sender, timed_from_ms: timedFrom, timed_to_ms: timedTo };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const result = await runEntitlementsSender(JSON.parse(process.argv[2]) as EntitlementsSenderConfig);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

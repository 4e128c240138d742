/**
 * `tandem bench ingest [--events N] [--batch-size B] [--connections C]`
 *
 * The full ingestion path, measured from outside: a `tandem serve` child process on a scratch
 * database (PostgreSQL next to DATABASE_URL, created and dropped here; else PGlite in a temporary
 * data directory), a live workspace, accounts created by group calls, then a separate sender
 * process (ingest-sender.ts) posting Segment batches over C keep-alive connections. Afterwards,
 * with the server stopped: every acknowledged messageId must be stored (`lost`), none twice
 * (`duplicates`); and the baseline — the same rows, exported from product_events, loaded with one
 * raw COPY into an identical table (`LIKE product_events INCLUDING ALL`: same columns, indexes and
 * unique key). `ratio` = events_per_s / copy_rows_per_s. Prints one JSON line.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PoolClient } from 'pg';
import type { Database } from '../../db/client.ts';
import { createMetric } from '../../modules/catalog/index.ts';
import { createWorkspace } from '../../modules/workspaces/index.ts';
import { createTandem } from '../../tandem.ts';
import { round, runTsChild, scratchDatabase, startServer, type ScratchDb } from './ingest-server.ts';
import { cpuOf, type SenderConfig, type SenderResult } from './ingest-sender.ts';

export interface IngestBenchOptions {
  events?: number;
  batchSize?: number;
  connections?: number;
  accounts?: number;
  identityRate?: number;
  anonymousRate?: number;
}

const SENDER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'ingest-sender.ts');

/** Creates a live workspace in the (not yet served) database; returns its write key. */
export async function createBenchWorkspace(db: ScratchDb, name: string): Promise<{ workspaceId: string; writeKey: string; secretKey: string }> {
  const database = await db.open();
  try {
    await database.migrate();
    const t = await createTandem({ database });
    const created = await createWorkspace(t.deps, { name, sandbox: false });
    // Billable metrics over what the sender emits, as a metered product has them: every event
    // named 'API Call' (3 in 8 of the events sent) feeds two usage rollups at ingest.
    const ctx = { deps: t.deps, workspaceId: created.workspace.id, asOf: t.deps.clock.now(), actor: { type: 'cli' as const } };
    await createMetric(ctx, { key: 'api_calls', name: 'API calls', event_name: 'API Call', aggregation: 'count', filters: [{ property: 'status', operator: 'eq', value: '200' }] });
    await createMetric(ctx, { key: 'request_bytes', name: 'Request bytes', event_name: 'API Call', aggregation: 'sum', property: 'request_bytes' });
    await t.close();
    return { workspaceId: created.workspace.id, writeKey: created.writeKey, secretKey: created.secretKey };
  } finally {
    await database.close();
  }
}

export async function benchIngest(opts: IngestBenchOptions): Promise<void> {
  const db = await scratchDatabase('ingest');
  const pgMode = db.kind === 'postgres';
  const events = opts.events ?? (pgMode ? 300_000 : 100_000);
  const batchSize = opts.batchSize ?? 500;
  const connections = opts.connections ?? 8;
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'tandem-bench-ingest-'));
  try {
    const ws = await createBenchWorkspace(db, 'Bench ingest');
    const server = await startServer(db);
    let sent: SenderResult;
    try {
      const cfg: SenderConfig = {
        url: server.url,
        writeKey: ws.writeKey,
        events,
        batchSize,
        connections,
        accounts: opts.accounts ?? 1000,
        usersPerAccount: 20,
        identityRate: opts.identityRate ?? 0.01,
        anonymousRate: opts.anonymousRate ?? 0,
        warmupEvents: Math.min(20_000, Math.max(batchSize * connections * 2, Math.floor(events / 20))),
        seed: 42,
        ackFile: path.join(tmp, 'acked.txt'),
        serverPid: server.child.pid,
        dbName: db.url ? new URL(db.url).pathname.slice(1) : undefined,
      };
      sent = await runTsChild<SenderResult>(SENDER, cfg);
    } finally {
      await server.stop();
    }
    const acked = readFileSync(path.join(tmp, 'acked.txt'), 'utf8').split('\n').filter(Boolean);

    const database = await db.open();
    let verify: { rows: number; distinct: number; lost: number };
    let copy: { rows: number; seconds: number; cpuS: number | null };
    try {
      verify = await countStored(database, ws.workspaceId, acked);
      copy = await copyBaseline(database, ws.workspaceId);
    } finally {
      await database.close();
    }
    const eventsPerS = events / sent.seconds;
    const cpuPerEvent = sent.server_cpu_s === null ? null : Math.round(((sent.server_cpu_s + (sent.db_cpu_s ?? 0)) / events) * 1e6);
    const copyCpuPerRow = copy.cpuS === null || copy.rows === 0 ? null : (copy.cpuS / copy.rows) * 1e6;
    const copyPerS = copy.rows / copy.seconds;
    const out = {
      database: db.kind,
      events,
      seconds: round(sent.seconds),
      events_per_s: Math.round(eventsPerS),
      copy_rows_per_s: Math.round(copyPerS),
      ratio: round(eventsPerS / copyPerS),
      p99_ms: sent.p99_ms,
      duplicates: verify.rows - verify.distinct,
      lost: verify.lost,
      // context (after the fields the issue names)
      batch_size: batchSize,
      connections,
      p50_ms: sent.p50_ms,
      requests: sent.requests,
      errors: sent.errors,
      rejected: sent.rejected,
      retries: sent.retries,
      acked: acked.length,
      rows: verify.rows,
      copy_rows: copy.rows,
      copy_seconds: round(copy.seconds),
      // CPU seconds spent during the timed run (2 cores shared by everything on this machine)
      server_cpu_s: sent.server_cpu_s,
      db_cpu_s: sent.db_cpu_s,
      sender_cpu_s: sent.sender_cpu_s,
      cpu_us_per_event: cpuPerEvent,
      // The same COPY as the baseline, in CPU rather than wall time (less at the mercy of what else
      // runs on the machine): its database CPU per row, and that ÷ cpu_us_per_event.
      copy_cpu_us_per_row: copyCpuPerRow === null ? null : round(copyCpuPerRow),
      cpu_ratio: cpuPerEvent === null || copyCpuPerRow === null || cpuPerEvent === 0 ? null : round(copyCpuPerRow / cpuPerEvent),
      load_avg_1m: round(os.loadavg()[0]),
    };
    process.stdout.write(`${JSON.stringify(out)}\n`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    await db.drop();
  }
}

/** Rows of the workspace, distinct messageIds, and acknowledged messageIds that are missing. */
async function countStored(database: Database, workspaceId: string, acked: readonly string[]) {
  const [c] = await database.query<{ n: number; d: number }>(
    'SELECT count(*)::int AS n, count(DISTINCT message_id)::int AS d FROM product_events WHERE workspace_id = $1',
    [workspaceId],
  );
  const stored = new Set((await database.query<{ message_id: string }>('SELECT message_id FROM product_events WHERE workspace_id = $1', [workspaceId])).map((r) => r.message_id));
  let lost = 0;
  for (const id of acked) if (!stored.has(id)) lost++;
  return { rows: c.n, distinct: c.d, lost };
}

/**
 * The baseline: the stored rows, exported as COPY text, loaded again with one COPY … FROM into an
 * identical table (same columns, CHECKs, indexes and unique key), one transaction, committed.
 * Only the load is timed.
 */
async function copyBaseline(database: Database, workspaceId: string): Promise<{ rows: number; seconds: number; cpuS: number | null }> {
  await database.query('DROP TABLE IF EXISTS product_events_copy');
  await database.query('CREATE TABLE product_events_copy (LIKE product_events INCLUDING ALL)');
  const exportSql = `COPY (SELECT * FROM product_events WHERE workspace_id = '${workspaceId.replace(/'/g, "''")}') TO`;
  try {
    if (database.pglite) {
      const pglite = database.pglite;
      const [exported] = await pglite.exec(`${exportSql} '/dev/blob'`);
      const blob = exported.blob!;
      const t0 = performance.now();
      const cpu0 = process.cpuUsage();
      const loaded = await pglite.query(`COPY product_events_copy FROM '/dev/blob'`, [], { blob });
      const cpu = process.cpuUsage(cpu0);
      const seconds = (performance.now() - t0) / 1000;
      return { rows: loaded.affectedRows ?? 0, seconds, cpuS: (cpu.user + cpu.system) / 1e6 };
    }
    const client = await database.pool!.connect();
    try {
      const chunks = await copyOut(client, `${exportSql} STDOUT`);
      const [{ pid }] = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows;
      const t0 = performance.now();
      const cpu0 = cpuOf(pid);
      const rows = await copyIn(client, 'COPY product_events_copy FROM STDIN', chunks);
      const cpu1 = cpuOf(pid);
      const seconds = (performance.now() - t0) / 1000;
      // The backend's CPU (the client only hands it the exported chunks); null when /proc cannot tell (a remote server).
      return { rows, seconds, cpuS: cpu0 !== null && cpu1 !== null ? cpu1 - cpu0 : null };
    } finally {
      client.release();
    }
  } finally {
    await database.query('DROP TABLE IF EXISTS product_events_copy');
  }
}

/*
 * COPY through pg's client API: a "submittable" (what pg-copy-streams is built on) that speaks the
 * COPY sub-protocol on the client's connection. Small enough not to need a dependency.
 */
interface PgConnection {
  query(text: string): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
  stream: NodeJS.WritableStream & { writableNeedDrain?: boolean };
}

function commandRows(msg: { text?: string }): number {
  const m = /(\d+)$/.exec(msg.text ?? '');
  return m ? Number(m[1]) : 0;
}

function copyOut(client: PoolClient, text: string): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let failed: unknown;
    client.query({
      submit: (c: PgConnection) => c.query(text),
      // The parser reuses its buffer: keep a copy of each row.
      handleCopyData: (msg: { chunk: Buffer }) => chunks.push(Buffer.from(msg.chunk)),
      handleCommandComplete: () => undefined,
      handleReadyForQuery: () => (failed ? reject(failed) : resolve(chunks)),
      handleError: (e: unknown) => ((failed = e), reject(e)),
      handleRowDescription: () => undefined,
      handleDataRow: () => undefined,
      handleEmptyQuery: () => undefined,
      handlePortalSuspended: () => undefined,
      handleCopyInResponse: () => undefined,
    } as never);
  });
}

function copyIn(client: PoolClient, text: string, chunks: readonly Buffer[]): Promise<number> {
  return new Promise((resolve, reject) => {
    let rows = 0;
    let failed: unknown;
    client.query({
      submit: (c: PgConnection) => c.query(text),
      async handleCopyInResponse(c: PgConnection) {
        // Batched into ~1 MB CopyData messages, respecting the socket's back-pressure.
        let pending: Buffer[] = [];
        let size = 0;
        const flush = async () => {
          if (!size) return;
          c.sendCopyFromChunk(Buffer.concat(pending, size));
          pending = [];
          size = 0;
          if (c.stream.writableNeedDrain) await new Promise((r) => c.stream.once('drain', r));
        };
        for (const chunk of chunks) {
          pending.push(chunk);
          size += chunk.length;
          if (size >= 1 << 20) await flush();
        }
        await flush();
        c.endCopyFrom();
      },
      handleCommandComplete: (msg: { text?: string }) => (rows = commandRows(msg)),
      handleReadyForQuery: () => (failed ? reject(failed) : resolve(rows)),
      handleError: (e: unknown) => ((failed = e), reject(e)),
      handleCopyData: () => undefined,
      handleRowDescription: () => undefined,
      handleDataRow: () => undefined,
      handleEmptyQuery: () => undefined,
      handlePortalSuspended: () => undefined,
    } as never);
  });
}

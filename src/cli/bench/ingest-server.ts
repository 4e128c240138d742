/**
 * Shared by the HTTP benchmarks (`tandem bench ingest`, `tandem bench entitlements`): a scratch
 * database (PostgreSQL: a database created next to DATABASE_URL's and dropped afterwards;
 * otherwise PGlite in a temporary data directory), a `tandem serve` child process on it, and a
 * TypeScript child process (the load generator) run with tsx.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { SERVER_NODE_FLAGS } from '../node-flags.ts';
import { openDatabase, type Database } from '../../db/client.ts';

export const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bin/tandem.js');

export interface ScratchDb {
  kind: 'postgres' | 'pglite';
  /** PostgreSQL: the scratch database's URL. */
  url?: string;
  /** PGlite: the temporary data directory. */
  dataDir?: string;
  /** Opens it in this process (PGlite: only while no server owns the directory). */
  open(poolSize?: number): Promise<Database>;
  /** The environment and arguments that make `tandem serve` use it. */
  serveEnv(): NodeJS.ProcessEnv;
  serveArgs(): string[];
  drop(): Promise<void>;
}

/**
 * A scratch database for a benchmark. `memory`: without DATABASE_URL, an in-memory PGlite for
 * benchmarks that run in this process only (no `serve` child can open it).
 */
export async function scratchDatabase(tag: string, opts: { memory?: boolean } = {}): Promise<ScratchDb> {
  const adminUrl = process.env.DATABASE_URL || undefined;
  if (adminUrl) {
    const name = `tandem_bench_${tag}_${process.pid}`;
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    try {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.query(`CREATE DATABASE ${name}`);
    } finally {
      await admin.end();
    }
    const u = new URL(adminUrl);
    u.pathname = `/${name}`;
    const url = u.toString();
    return {
      kind: 'postgres',
      url,
      open: (poolSize = 4) => openDatabase({ url, poolSize, applicationName: `tandem-bench-${tag}` }),
      serveEnv: () => ({ ...process.env, DATABASE_URL: url }),
      serveArgs: () => [],
      async drop() {
        const a = new pg.Client({ connectionString: adminUrl });
        await a.connect();
        await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
        await a.end();
      },
    };
  }
  if (opts.memory) {
    return {
      kind: 'pglite',
      open: () => openDatabase({ memory: true }),
      serveEnv: () => {
        throw new Error('an in-memory scratch database cannot be served by another process');
      },
      serveArgs: () => {
        throw new Error('an in-memory scratch database cannot be served by another process');
      },
      async drop() {},
    };
  }
  const dataDir = mkdtempSync(path.join(os.tmpdir(), `tandem-bench-${tag}-`));
  return {
    kind: 'pglite',
    dataDir,
    open: () => openDatabase({ dataDir }),
    serveEnv: () => ({ ...process.env, DATABASE_URL: '' }),
    serveArgs: () => ['--data-dir', dataDir],
    async drop() {
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface ServerProcess {
  child: ChildProcess;
  /** http://127.0.0.1:PORT */
  url: string;
  /** SIGTERM (graceful shutdown), waits for the exit. */
  stop(): Promise<void>;
  /** SIGKILL, waits for the exit. */
  kill(): Promise<void>;
  output(): string;
}

/** The server's own settings, when set for the bench (e.g. TANDEM_CHECK_PROCESS=0 to compare without the check process). */
const passedOn = () => Object.fromEntries(['TANDEM_CHECK_PROCESS', 'TANDEM_ENTITLEMENT_CACHE_MS', 'TANDEM_AUTH_CACHE_MS'].flatMap((k) => (process.env[k] === undefined ? [] : [[k, process.env[k]]])));

/** Starts `tandem serve --port 0` on the scratch database and waits until it listens. */
export async function startServer(db: ScratchDb, opts: { role?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<ServerProcess> {
  // e.g. TANDEM_BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the server.
  const nodeArgs = (process.env.TANDEM_BENCH_SERVER_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
  const child = spawn(process.execPath, [...SERVER_NODE_FLAGS, ...nodeArgs, BIN, 'serve', '--port', '0', '--role', opts.role ?? 'all', ...db.serveArgs()], {
    env: { LOG_LEVEL: 'warn', ...passedOn(), ...db.serveEnv(), ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  // TANDEM_BENCH_SERVER_LOG=FILE keeps all of the server's output (e.g. with --trace-gc-nvp).
  const log = process.env.TANDEM_BENCH_SERVER_LOG ? createWriteStream(process.env.TANDEM_BENCH_SERVER_LOG) : undefined;
  if (log) {
    child.stdout!.on('data', (b) => log.write(b));
    child.stderr!.on('data', (b) => log.write(b));
    child.once('exit', () => log.end());
  }
  child.stdout!.on('data', (b) => (out = (out + b).slice(-20_000)));
  child.stderr!.on('data', (b) => (out = (out + b).slice(-20_000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start within ${opts.timeoutMs ?? 120_000} ms:\n${out}`)), opts.timeoutMs ?? 120_000);
    const onData = () => {
      const m = /API\s+(http:\/\/[^\s]+)\/v1/.exec(out);
      if (m) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        resolve(m[1]);
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code}) before it was ready:\n${out}`));
    });
  });
  const signal = async (s: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(s);
    await exited;
  };
  return { child, url, stop: () => signal('SIGTERM'), kill: () => signal('SIGKILL'), output: () => out };
}

/** The tsx loader, by absolute URL, so a child process finds it whatever the working directory. */
export function tsxImport(): string {
  try {
    return import.meta.resolve('tsx');
  } catch {
    return 'tsx';
  }
}

/**
 * Runs a TypeScript file in its own Node process with `config` as JSON in argv[2]; resolves with
 * the last line it printed, parsed as JSON.
 */
export async function runTsChild<T>(file: string, config: unknown): Promise<T> {
  const child = spawn(process.execPath, ['--import', tsxImport(), file, JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (b) => (out += b));
  child.stderr!.on('data', (b) => {
    err += b;
    process.stderr.write(b);
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  const last = out.trim().split('\n').pop() ?? '';
  if (code !== 0) throw new Error(`${path.basename(file)} exited with ${code}: ${err.slice(-2000)}`);
  return JSON.parse(last) as T;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export const round = (x: number, digits = 2) => Number(x.toFixed(digits));

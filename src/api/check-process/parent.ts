/**
 * The check process: a small process of its own that serves `GET /v1/entitlements/check`.
 *
 * Why. Checks are the one request that must answer in a few milliseconds at thousands a second,
 * and everything else the API process does — ingestion, jobs, scoring, its garbage collector on a
 * heap of hundreds of megabytes — holds the checks queued behind it. On a day when the machine's
 * memory monitor stalled the API process for 12–50 ms every ~540 ms, a bare node process beside it
 * was not stalled (docs/BENCHMARKS.md). So the checks are served from a process whose heap holds
 * little more than the answers.
 *
 * How connections reach it. Both share the API's port: the API process reads the first bytes of
 * each new connection, and one that starts with `GET /v1/entitlements/check?` is handed over
 * (its socket, through IPC, with the bytes read). Every other connection goes to the API's HTTP
 * server as if nothing had happened. The check process answers the plain checks (child.ts,
 * parse.ts); at the first request on the connection that is anything else, or a check it cannot
 * answer (an error: a refused key, an unknown account), it hands the connection back with the
 * bytes of the requests not answered, and the API process's HTTP server answers them — the same
 * errors, the same envelope, the same hot path — and keeps the connection from then on. A client
 * that mixes checks with other calls on one connection ends up on the API process; one that
 * keeps a connection for checks stays on the check process. Both processes see the client's own
 * socket (the remote address is the client's).
 *
 * Where answers come from. The check process asks the API process (`Ask`): the API process
 * authorizes the key and builds the answer with `checkEntitlementBounded`, the same functions as
 * its own route, and the check process keeps it under the rules in answers.ts: fresh reads serve
 * for the cache's TTL; ingestion's re-read accounts and other writes' dropped workspaces reach
 * it through `followEntitlements` before the ingestion or the write answers, so a check after an
 * acknowledged event sees it, on either process.
 *
 * If the check process exits, the API process answers every connection itself (as it does
 * without one) and starts a new one a second later; the connections the old one held are lost
 * (their clients reconnect). `TANDEM_CHECK_PROCESS=0` runs without it.
 */
import { fork, type ChildProcess } from 'node:child_process';
import type http from 'node:http';
import type net from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Deps } from '../../context.ts';
import { checkEntitlementBounded, ENTITLEMENT_CACHE_MS, followEntitlements, REFRESH_AFTER_MS, REFRESH_ALONG_MS } from '../../modules/entitlements/index.ts';
import { authorize, authorizeCached, ctxFor } from '../auth.ts';
import { checkJson } from '../routes/entitlements.ts';
import { CHECK_START } from './parse.ts';
import type { Answer, Ask, ChildConfig, ToChild, ToParent } from './protocol.ts';
import { adoptHandle, detachHandle, stopReading } from './sockets.ts';

const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));
/** The check process runs its TypeScript through tsx, as bin/tandem.js does. */
const TSX = import.meta.resolve('tsx');
const RESTART_AFTER_MS = 1000;
/** A new connection that has not shown its first request line within this goes to the HTTP server (whose own timeouts apply). */
const SNIFF_TIMEOUT_MS = 10_000;
const DONE = Promise.resolve();
const DONE_WITHIN_MS = 5_000;

export interface CheckProcess {
  /** The check process's pid while it runs. */
  readonly pid: number | undefined;
  /** Counts since the start: connections handed over and back, checks asked of this process. */
  readonly stats: { handedOver: number; handedBack: number; asked: number; restarts: number };
  /** Resolves when the check process is up (at once when it is; after a restart's delay when it exited). */
  ready(): Promise<void>;
  close(): Promise<void>;
}

type Log = (msg: string) => void;

/**
 * Starts the check process for the API's HTTP server `server` (before or after it listens) and
 * resolves once it is ready to take connections; rejects, leaving the server as it was, if it
 * does not start.
 */
export async function startCheckProcess(o: {
  server: http.Server;
  deps: Deps;
  log?: Log;
  restartAfterMs?: number;
  /** The module the check process runs (tests: one that fails to start). */
  childModule?: string;
}): Promise<CheckProcess> {
  const { server, deps } = o;
  const log: Log = o.log ?? ((m) => deps.log.warn(m));
  const cfg: ChildConfig = {
    ttlMs: ENTITLEMENT_CACHE_MS,
    refreshAfterMs: REFRESH_AFTER_MS,
    refreshAlongMs: REFRESH_ALONG_MS,
    keepAliveTimeoutMs: server.keepAliveTimeout,
  };

  let child: ChildProcess | undefined;
  let ready = false;
  let closing = false;
  let seq = 0;
  let up: Promise<void>;
  const stats = { handedOver: 0, handedBack: 0, asked: 0, restarts: 0 };
  const dones = new Map<number, () => void>();
  /** Live accounts, per workspace, that the check process was given answers about (it may hold them). */
  const held = new Map<string, Set<string>>();
  /** Asks being answered: their answers may be about anything. */
  let asking = 0;

  const toChild = (m: ToChild) => {
    if (child?.connected) child.send(m);
  };
  /** Hands a connection (stopped reading) to the check process; if that fails, it is closed (its client reconnects). */
  const handOver = (socket: net.Socket, head: Buffer) => {
    const handle = detachHandle(socket);
    const c = child;
    if (!handle || !c?.connected) return void socket.destroy();
    stats.handedOver++;
    c.send({ t: 'conn', head } satisfies ToChild, handle as never, (err) => {
      if (err) (handle as { close?: () => void }).close?.();
    });
  };
  /**
   * Sends a message the check process says `done` to; resolves then, or when it exits. Ingestion
   * and writes wait for it, so one that is not done within DONE_WITHIN_MS is stopped: without it
   * the API process answers every check, and what it held is gone.
   */
  const request = (m: (n: number) => ToChild): Promise<void> => {
    const n = ++seq;
    const c = child;
    const p = new Promise<void>((resolve) => dones.set(n, resolve));
    const timer = setTimeout(() => {
      if (!dones.has(n) || child !== c) return;
      log(`tandem: the check process did not follow a change within ${DONE_WITHIN_MS} ms; stopping it`);
      c?.kill('SIGKILL');
    }, DONE_WITHIN_MS);
    toChild(m(n));
    return p.finally(() => clearTimeout(timer));
  };
  const settleAll = () => {
    for (const resolve of dones.values()) resolve();
    dones.clear();
  };

  // ---- connections -------------------------------------------------------------------------

  const httpListeners = server.listeners('connection') as Array<(socket: net.Socket) => void>;
  server.removeAllListeners('connection');
  const sniffing = new Set<net.Socket>();
  /** Gives the socket to the HTTP server, with the bytes already read from it. */
  const toHttp = (socket: net.Socket, head?: Buffer) => {
    if (head?.length) socket.unshift(head);
    for (const l of httpListeners) l.call(server, socket);
    if (head) socket.resume();
  };
  const sniff = (socket: net.Socket) => {
    let head: Buffer = Buffer.alloc(0);
    const stop = () => {
      socket.removeListener('data', onData);
      socket.removeListener('error', onError);
      socket.removeListener('close', stop);
      socket.setTimeout(0);
      sniffing.delete(socket);
    };
    const onError = () => {
      stop();
      socket.destroy();
    };
    const onData = (chunk: Buffer) => {
      head = head.length ? Buffer.concat([head, chunk]) : chunk;
      const n = Math.min(head.length, CHECK_START.length);
      const mayBeCheck = head.compare(CHECK_START, 0, n, 0, n) === 0;
      if (mayBeCheck && head.length < CHECK_START.length) return;
      stop();
      if (mayBeCheck && ready && !closing && child?.connected) {
        handOver(socket, Buffer.concat([head, ...stopReading(socket)]));
      } else {
        socket.pause();
        toHttp(socket, head);
      }
    };
    sniffing.add(socket);
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', stop);
    socket.setTimeout(SNIFF_TIMEOUT_MS, () => {
      stop();
      socket.pause();
      toHttp(socket, head);
    });
  };
  const onConnection = (socket: net.Socket) => {
    if (ready && !closing) sniff(socket);
    else toHttp(socket);
  };
  server.on('connection', onConnection);

  // ---- answers -----------------------------------------------------------------------------

  let answers: Answer[] = [];
  const answerOne = async (a: Ask): Promise<Answer> => {
    try {
      const who = { authorization: a.authorization, method: 'GET', mode: 'secret' } as const;
      const auth = authorizeCached(deps, who) ?? (await authorize(deps, who));
      const ctx = ctxFor(deps, auth, 'check_process');
      const { check, until } = await checkEntitlementBounded(ctx, a.account, a.feature, { fresh: a.fresh });
      const keep = !auth.workspace.sandbox;
      if (keep) {
        const accounts = held.get(auth.workspace.id);
        if (accounts) accounts.add(check.account);
        else held.set(auth.workspace.id, new Set([check.account]));
      }
      const keepMs = keep ? until - ctx.asOf.getTime() : 0;
      return { n: a.n, ok: true, body: JSON.stringify(checkJson(check)), workspace: auth.workspace.id, account: check.account, keepMs };
    } catch {
      return { n: a.n, ok: false };
    }
  };
  const onAsks = (asks: Ask[]) => {
    asking += asks.length;
    stats.asked += asks.length;
    for (const a of asks) {
      void answerOne(a).then((answer) => {
        asking--;
        if (!answers.length) setImmediate(flushAnswers);
        answers.push(answer);
      });
    }
  };
  const flushAnswers = () => {
    const out = answers;
    answers = [];
    if (out.length) toChild({ t: 'answers', answers: out });
  };

  const unfollow = followEntitlements({
    accountsRefreshed(workspaceId, accountIds) {
      if (!ready) return DONE;
      const accounts = held.get(workspaceId);
      if (!asking && !(accounts && accountIds.some((a) => accounts.has(a)))) return DONE;
      return request((n) => ({ t: 'refresh', n, workspace: workspaceId, accounts: accountIds }));
    },
    dropped(workspaceId) {
      if (!ready) return DONE;
      if (!asking && (workspaceId === null ? !held.size : !held.has(workspaceId))) return DONE;
      if (workspaceId === null) held.clear();
      else held.delete(workspaceId);
      return request((n) => ({ t: 'drop', n, workspace: workspaceId }));
    },
  });

  // ---- the process -------------------------------------------------------------------------

  const spawn = () =>
    new Promise<void>((resolve, reject) => {
      const c = fork(o.childModule ?? CHILD, [JSON.stringify(cfg)], {
        execArgv: ['--import', TSX],
        serialization: 'advanced',
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      child = c;
      c.on('message', (m: ToParent, handle?: unknown) => {
        switch (m.t) {
          case 'ready':
            ready = true;
            resolve();
            break;
          case 'asks':
            onAsks(m.asks);
            break;
          case 'done':
            dones.get(m.n)?.();
            dones.delete(m.n);
            break;
          case 'conn':
            stats.handedBack++;
            if (handle) toHttp(adoptHandle(handle, server), m.head);
            break;
        }
      });
      c.on('exit', (code, signal) => {
        const wasReady = ready;
        ready = false;
        held.clear();
        settleAll();
        if (child === c) child = undefined;
        if (!wasReady) reject(new Error(`the check process exited before it was ready (${signal ?? `code ${code}`})`));
        if (closing) return;
        log(`tandem: the check process exited (${signal ?? `code ${code}`}); the API process answers checks until it is back`);
        up = new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            if (closing) return resolve();
            stats.restarts++;
            up = spawn().catch((e: unknown) => log(`tandem: the check process did not start again: ${(e as Error).message}`));
            void up.then(resolve);
          }, o.restartAfterMs ?? RESTART_AFTER_MS);
          timer.unref();
        });
      });
    });

  up = spawn();
  try {
    await up;
  } catch (e) {
    // Not started: everything as it was without one.
    closing = true;
    unfollow();
    server.removeListener('connection', onConnection);
    for (const l of httpListeners) server.on('connection', l);
    throw e;
  }

  return {
    get pid() {
      return ready ? child?.pid : undefined;
    },
    stats,
    ready: () => up,
    async close() {
      if (closing) return;
      closing = true;
      unfollow();
      for (const s of sniffing) s.destroy();
      const c = child;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
      toChild({ t: 'close' });
      const timer = setTimeout(() => c.kill('SIGKILL'), 7_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * The check process: serves the plain entitlement checks of the connections the API process
 * hands it, from answers the API process builds (see parent.ts for the design, answers.ts for
 * the rules). Started by parent.ts; it loads nothing of the API's (no database, no fastify), so
 * its heap stays small.
 */
import type net from 'node:net';
import { requestIds } from '../request-ids.ts';
import { AnswerCache } from './answers.ts';
import { Connection, type ConnectionDeps } from './connection.ts';
import type { ChildConfig, ToChild, ToParent } from './protocol.ts';
import { adoptHandle, detachHandle } from './sockets.ts';

const cfg = JSON.parse(process.argv[2]) as ChildConfig;
const send = (m: ToParent, handle?: unknown) => {
  if (process.connected) process.send!(m, handle as never);
};

const cache = new AnswerCache({
  now: () => Date.now(),
  send: (asks) => send({ t: 'asks', asks }),
  ttlMs: cfg.ttlMs,
  refreshAfterMs: cfg.refreshAfterMs,
  refreshAlongMs: cfg.refreshAlongMs,
});
const nextRequestId = requestIds();
const connections = new Set<Connection>();
let closing = false;

/** The Date header, made once a second (as node's HTTP server does). */
let dateSecond = 0;
let dateText = '';
function date(): string {
  const s = Math.floor(Date.now() / 1000);
  if (s !== dateSecond) {
    dateSecond = s;
    dateText = new Date(s * 1000).toUTCString();
  }
  return dateText;
}

/** The response the API process's hot path writes for the same check (routes/entitlements.ts `checkFastPath`), with node's connection headers. */
function response(body: string): string {
  return (
    `HTTP/1.1 200 OK\r\nrequest-id: ${nextRequestId()}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
    `Date: ${date()}\r\nConnection: keep-alive\r\nKeep-Alive: timeout=${Math.floor(cfg.keepAliveTimeoutMs / 1000)}\r\n\r\n${body}`
  );
}

const deps: ConnectionDeps = {
  cache,
  response,
  handOver(socket: net.Socket, head: Buffer) {
    const handle = detachHandle(socket);
    if (handle) send({ t: 'conn', head }, handle);
  },
  closing: () => closing,
  keepAliveTimeoutMs: cfg.keepAliveTimeoutMs,
  connections,
};

process.on('message', (m: ToChild, handle?: unknown) => {
  switch (m.t) {
    case 'conn':
      if (!handle) break;
      if (closing) adoptHandle(handle).destroy();
      else new Connection(adoptHandle(handle), m.head, deps);
      break;
    case 'answers':
      cache.answered(m.answers);
      break;
    case 'refresh':
      cache.refresh(m.workspace, m.accounts).then(() => send({ t: 'done', n: m.n }));
      break;
    case 'drop':
      cache.drop(m.workspace);
      send({ t: 'done', n: m.n });
      break;
    case 'close':
      closing = true;
      for (const c of connections) c.drain();
      closeWhenIdle();
      break;
  }
});

/** Exits once every connection has ended (or after a grace period). */
function closeWhenIdle(): void {
  const started = Date.now();
  const poll = () => {
    if (!connections.size || Date.now() - started > 5_000) process.exit(0);
    setTimeout(poll, 20);
  };
  poll();
}

// The API process is gone: nothing to answer with.
process.on('disconnect', () => {
  cache.fail();
  process.exit(0);
});

send({ t: 'ready' });

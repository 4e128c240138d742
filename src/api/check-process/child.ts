/**
 * The check process: serves the plain entitlement checks of the connections the API process
 * hands it, from answers the API process builds (see parent.ts for the design, answers.ts for
 * the rules). Started by parent.ts; it loads nothing of the API's (no database, no fastify), so
 * its heap stays small.
 */
import type net from 'node:net';
import { requestIds } from '../request-ids.ts';
import { AnswerCache } from './answers.ts';
import { parseRequest } from './parse.ts';
import type { ChildConfig, ToChild, ToParent } from './protocol.ts';
import { adoptHandle, detachHandle, stopReading } from './sockets.ts';

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

interface Slot {
  raw: Buffer;
  done: boolean;
  body?: string;
}

/**
 * One handed-over connection. Requests are read in order; a check whose answer is kept is
 * written at once, one that is not waits for its ask; responses go out in request order. The
 * first request that is not a plain check, or a check the API process must answer itself (an
 * error), hands the connection back with the bytes of every request from it on, once the
 * responses before it are written — from then on the connection is the API process's.
 */
class Connection {
  private buf: Buffer;
  private readonly slots: Slot[] = [];
  private handingBack = false;
  /** Responses written and not yet handed to the kernel. */
  private unflushed = 0;

  constructor(private readonly socket: net.Socket, head: Buffer) {
    this.buf = Buffer.alloc(0);
    socket.setNoDelay(true);
    socket.setTimeout(cfg.keepAliveTimeoutMs, () => socket.destroy());
    socket.on('error', () => socket.destroy());
    socket.on('close', () => connections.delete(this));
    socket.on('data', this.onData);
    connections.add(this);
    this.onData(head);
  }

  private readonly onData = (chunk: Buffer): void => {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    let off = 0;
    let out = '';
    while (!this.handingBack) {
      const r = parseRequest(this.buf, off);
      if (r.kind === 'incomplete') break;
      if (r.kind === 'other') {
        this.handingBack = true;
        break;
      }
      const raw = this.buf.subarray(off, r.end);
      off = r.end;
      const body = cache.now(r);
      if (body !== undefined && !this.slots.length) {
        out += response(body);
        continue;
      }
      const slot: Slot = { raw, done: body !== undefined, body };
      this.slots.push(slot);
      if (!slot.done) {
        cache.get(r).then((b) => {
          slot.done = true;
          slot.body = b;
          this.drain();
        });
      }
    }
    this.buf = this.buf.subarray(off);
    if (out) this.write(out);
    if (this.handingBack || closing) this.drain();
  };

  /**
   * Writes responses; a connection is handed back only once they have all reached the kernel (the
   * other process writes next). A client that does not read its responses stops being read.
   */
  private write(out: string): void {
    this.unflushed++;
    const flowing = this.socket.write(out, () => {
      this.unflushed--;
      if (this.handingBack && !this.unflushed) this.drain();
    });
    if (!flowing && !this.handingBack) {
      this.socket.pause();
      this.socket.once('drain', this.resume);
    }
  }

  private readonly resume = (): void => {
    if (!this.handingBack) this.socket.resume();
  };

  /** Writes the answers due in order; hands the connection back, or ends it when closing, once nothing is ahead. */
  drain(): void {
    let out = '';
    while (this.slots.length && this.slots[0].done) {
      const s = this.slots[0];
      if (s.body === undefined) {
        this.handingBack = true;
        break;
      }
      out += response(s.body);
      this.slots.shift();
    }
    if (out) this.write(out);
    if (this.handingBack && !this.unflushed && (!this.slots.length || (this.slots[0].done && this.slots[0].body === undefined))) this.handBack();
    else if (closing && !this.slots.length) this.socket.end();
  }

  private handBack(): void {
    if (this.socket.destroyed) return;
    this.socket.removeListener('data', this.onData);
    this.socket.removeListener('drain', this.resume);
    const rest = stopReading(this.socket);
    const head = Buffer.concat([...this.slots.map((s) => s.raw), this.buf, ...rest]);
    connections.delete(this);
    this.socket.removeAllListeners('close');
    this.socket.removeAllListeners('error');
    const handle = detachHandle(this.socket);
    if (handle) send({ t: 'conn', head }, handle);
  }
}

process.on('message', (m: ToChild, handle?: unknown) => {
  switch (m.t) {
    case 'conn':
      if (!handle) break;
      if (closing) adoptHandle(handle).destroy();
      else new Connection(adoptHandle(handle), m.head);
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

/**
 * One connection the API process handed to the check process (child.ts), as a class of its own
 * so that its ordering rules can be tested without processes: responses in request order, and a
 * hand-back only once every response before it has reached the kernel.
 */
import type net from 'node:net';
import type { AnswerCache } from './answers.ts';
import { parseRequest } from './parse.ts';
import { stopReading } from './sockets.ts';

export interface ConnectionDeps {
  cache: Pick<AnswerCache, 'now' | 'get'>;
  /** The HTTP response for an answer's JSON. */
  response(body: string): string;
  /** Sends the socket (stopped, emptied) back to the API process with the bytes of the requests not answered. */
  handOver(socket: net.Socket, head: Buffer): void;
  /** Whether the process is closing: connections end once their answers are written. */
  closing(): boolean;
  keepAliveTimeoutMs: number;
  /** The open connections (a connection adds and removes itself). */
  connections: Set<Connection>;
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
export class Connection {
  private buf: Buffer;
  private readonly slots: Slot[] = [];
  private handingBack = false;
  /** Responses written and not yet handed to the kernel. */
  private unflushed = 0;

  constructor(
    private readonly socket: net.Socket,
    head: Buffer,
    private readonly deps: ConnectionDeps,
  ) {
    this.buf = Buffer.alloc(0);
    socket.setNoDelay(true);
    socket.setTimeout(deps.keepAliveTimeoutMs, () => socket.destroy());
    socket.on('error', () => socket.destroy());
    socket.on('close', () => deps.connections.delete(this));
    socket.on('data', this.onData);
    deps.connections.add(this);
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
      const body = this.deps.cache.now(r);
      if (body !== undefined && !this.slots.length) {
        out += this.deps.response(body);
        continue;
      }
      const slot: Slot = { raw, done: body !== undefined, body };
      this.slots.push(slot);
      if (!slot.done) {
        this.deps.cache.get(r).then((b) => {
          slot.done = true;
          slot.body = b;
          this.drain();
        });
      }
    }
    this.buf = this.buf.subarray(off);
    if (out) this.write(out);
    if (this.handingBack || this.deps.closing()) this.drain();
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
      out += this.deps.response(s.body);
      this.slots.shift();
    }
    if (out) this.write(out);
    if (this.handingBack && !this.unflushed && (!this.slots.length || (this.slots[0].done && this.slots[0].body === undefined))) this.handBack();
    else if (this.deps.closing() && !this.slots.length) this.socket.end();
  }

  private handBack(): void {
    if (this.socket.destroyed) return;
    this.socket.removeListener('data', this.onData);
    this.socket.removeListener('drain', this.resume);
    const rest = stopReading(this.socket);
    const head = Buffer.concat([...this.slots.map((s) => s.raw), this.buf, ...rest]);
    this.deps.connections.delete(this);
    this.socket.removeAllListeners('close');
    this.socket.removeAllListeners('error');
    this.deps.handOver(this.socket, head);
  }
}

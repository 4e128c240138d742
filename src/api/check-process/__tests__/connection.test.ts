import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type net from 'node:net';
import { describe, it } from 'node:test';
import { Connection, type ConnectionDeps } from '../connection.ts';

const check = (account: string) => `GET /v1/entitlements/check?account=${account}&feature=sso HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk_abc\r\n\r\n`;
const other = 'GET /v1/accounts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk_abc\r\n\r\n';

/**
 * A socket whose kernel buffer is full: every write is accepted by node but not yet by the
 * kernel (`write` returns false, its callback waits until `flush`).
 */
class FullSocket extends EventEmitter {
  destroyed = false;
  readonly written: string[] = [];
  private readonly pending: (() => void)[] = [];
  setNoDelay() {}
  setTimeout() {}
  pause() {}
  resume() {}
  read() {
    return null;
  }
  end() {}
  destroy() {
    this.destroyed = true;
  }
  write(data: string, cb: () => void): boolean {
    this.written.push(data);
    this.pending.push(cb);
    return false;
  }
  /** The kernel takes everything written so far. */
  flush(): void {
    for (const cb of this.pending.splice(0)) cb();
  }
}

function connect(answers: { now: (account: string) => string | undefined; get: (account: string) => Promise<string | undefined> }) {
  const socket = new FullSocket();
  const handedOver: string[] = [];
  const deps: ConnectionDeps = {
    cache: { now: (r) => answers.now(r.account), get: (r) => answers.get(r.account) },
    response: (body) => `<${body}>`,
    handOver: (_socket, head) => handedOver.push(head.toString('latin1')),
    closing: () => false,
    keepAliveTimeoutMs: 5000,
    connections: new Set(),
  };
  return { socket, handedOver, open: (bytes: string) => new Connection(socket as unknown as net.Socket, Buffer.from(bytes, 'latin1'), deps) };
}

/**
 * The API process writes the responses of the requests it is handed back. The check process's
 * own responses before them must have reached the kernel by then, or the two processes' bytes
 * could interleave on the connection (or the check process's be lost with the handle).
 */
describe('a check-process connection hands back only once its responses reached the kernel', () => {
  it('at a request that is not a plain check', () => {
    const c = connect({ now: (a) => `ok ${a}`, get: async (a) => `ok ${a}` });
    c.open(check('acct_1') + check('acct_2') + other + check('acct_3'));
    assert.deepEqual(c.socket.written, ['<ok acct_1><ok acct_2>']);
    assert.deepEqual(c.handedOver, [], 'not while the two responses wait for the kernel');
    c.socket.flush();
    assert.deepEqual(c.handedOver, [other + check('acct_3')], 'then, with every request from the other one on');
  });

  it('at a check the API process must answer itself (an error), answered after the ones before it', async () => {
    let answerLate!: (body: string | undefined) => void;
    const c = connect({
      now: (a) => (a === 'acct_1' ? 'ok acct_1' : undefined),
      get: (a) => (a === 'acct_2' ? new Promise((r) => (answerLate = r)) : Promise.resolve(undefined)),
    });
    c.open(check('acct_1') + check('acct_2') + check('acct_unknown'));
    assert.deepEqual(c.socket.written, ['<ok acct_1>']);
    answerLate('ok acct_2');
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(c.socket.written, ['<ok acct_1>', '<ok acct_2>'], 'in request order');
    assert.deepEqual(c.handedOver, [], 'acct_unknown is an error, but two responses still wait for the kernel');
    c.socket.flush();
    assert.deepEqual(c.handedOver, [check('acct_unknown')]);
  });
});

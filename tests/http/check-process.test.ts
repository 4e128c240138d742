import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startCheckProcess, type CheckProcess } from '../../src/api/check-process/parent.ts';
import { Scenario, type Customer } from '../scenarios/dsl.ts';
import { startHarness } from '../support/harness.ts';

/** A raw connection: writes what it is given, reads responses (Content-Length framed) in order. */
class Conn {
  private buf = '';
  private readonly waiters: Array<() => void> = [];
  readonly socket: net.Socket;
  constructor(port: number) {
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.setEncoding('latin1');
    this.socket.on('data', (d: string) => {
      this.buf += d;
      this.waiters.splice(0).forEach((w) => w());
    });
    this.socket.on('close', () => this.waiters.splice(0).forEach((w) => w()));
  }
  write(text: string) {
    this.socket.write(text);
  }
  async response(): Promise<{ status: number; headers: Record<string, string>; body: any }> {
    for (;;) {
      const headEnd = this.buf.indexOf('\r\n\r\n');
      if (headEnd >= 0) {
        const lines = this.buf.slice(0, headEnd).split('\r\n');
        const headers = Object.fromEntries(lines.slice(1).map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
        const length = Number(headers['content-length']);
        if (this.buf.length >= headEnd + 4 + length) {
          const body = this.buf.slice(headEnd + 4, headEnd + 4 + length);
          this.buf = this.buf.slice(headEnd + 4 + length);
          return { status: Number(lines[0].split(' ')[1]), headers, body: body ? JSON.parse(body) : undefined };
        }
      }
      if (this.socket.destroyed) throw new Error(`connection closed; unread: ${JSON.stringify(this.buf)}`);
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }
  close() {
    this.socket.destroy();
  }
}

/** A live workspace with the entitlement catalog, and a customer on its 'pro' plan (invoiced). */
async function liveCustomer(): Promise<{ s: Scenario; c: Customer }> {
  const h = await startHarness();
  const s = new Scenario(h, await h.workspace({ name: 'Live Co', sandbox: false }));
  await s.entitlementsCatalog();
  const c = await s.customer('Fast', { card: null });
  await s.subscribe(c, 'pro', { collection_method: 'send_invoice', days_until_due: 30 });
  return { s, c };
}

/**
 * The check process (api/check-process/): connections whose first request is an entitlement
 * check are handed to a process of their own, which answers from answers the API process builds.
 * Here a real one runs beside the test's server, and its answers are compared with fastify's
 * (app.inject) — after ingestion, after writes, for errors, on shared connections.
 */
describe('the check process', () => {
  let s: Scenario;
  let c: Customer;
  let bare: Customer;
  let sandbox: { secretKey: string; account: string };
  let checks: CheckProcess;
  let port: number;
  before(async () => {
    ({ s, c } = await liveCustomer());
    const h = s.h;
    await track(c, 3);
    bare = await s.customer('Bare', { card: null });
    const sb = await h.workspace({ name: 'Sandbox Co' });
    await s.ok(h.api(sb).post('/v1/features', { key: 'sso', name: 'SSO', type: 'boolean' }));
    sandbox = { secretKey: sb.secretKey, account: (await s.ok(h.api(sb).post('/v1/accounts', { name: 'Theirs' }))).id };
    checks = await startCheckProcess({ server: h.tandem.app.server, deps: h.tandem.deps, restartAfterMs: 0 });
    await h.tandem.app.listen({ port: 0, host: '127.0.0.1' });
    port = (h.tandem.app.server.address() as AddressInfo).port;
  });
  after(async () => {
    await checks?.close();
    await s?.close();
  });

  /** Events for the customer, acknowledged (through the API process). */
  async function track(cu: Customer, count: number) {
    const batch = Array.from({ length: count }, () => ({ type: 'track', event: 'API Call', userId: `u-${cu.externalId}`, messageId: randomUUID(), context: { groupId: cu.externalId } }));
    assert.equal((await s.api.post('/v1/batch', { batch })).status, 200);
  }
  const q = (account: string, feature: string) => `/v1/entitlements/check?account=${account}&feature=${feature}`;
  const request = (path: string, key = s.ws.secretKey, method = 'GET') => `${method} ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\n\r\n`;
  const injected = async (path: string, key = s.ws.secretKey) => {
    const r = await s.h.tandem.app.inject({ method: 'GET', url: path, headers: { authorization: `Bearer ${key}` } });
    return { status: r.statusCode, body: JSON.parse(r.body), headers: r.headers };
  };

  it("answers plain checks with fastify's answers, on connections handed to it", async () => {
    const before = { ...checks.stats };
    const conn = new Conn(port);
    try {
      for (const path of [q(c.id, 'api_calls'), q(c.id, 'sso'), q(bare.id, 'sso'), q(c.id, 'api_calls'), `/v1/entitlements/check?feature=sso&account=${c.id}`]) {
        conn.write(request(path));
        const r = await conn.response();
        const expected = await injected(path);
        assert.deepEqual([r.status, r.body], [200, expected.body], path);
        assert.equal(r.headers['content-type'], expected.headers['content-type']);
        assert.match(r.headers['request-id'], /^req_/);
        assert.equal(r.headers.connection, 'keep-alive');
      }
      assert.equal(checks.stats.handedOver, before.handedOver + 1, 'the connection went to the check process');
      assert.equal(checks.stats.handedBack, before.handedBack, 'and stayed there');
      assert.ok(checks.stats.asked > before.asked, 'which asked for the answers');
      // Kept answers are served without asking again (within the TTL of 1 s).
      const asked = checks.stats.asked;
      conn.write(request(q(c.id, 'sso')));
      assert.equal((await conn.response()).body.allowed, true);
      assert.ok(checks.stats.asked <= asked + 1, 'at most a refresh ahead of expiry');
    } finally {
      conn.close();
    }
  });

  it('sees events as soon as their ingestion is acknowledged, and a write as soon as it answers', async () => {
    const conn = new Conn(port);
    try {
      const check = async () => {
        conn.write(request(q(c.id, 'api_calls')));
        return (await conn.response()).body;
      };
      const start = Number((await check()).used);
      for (let i = 1; i <= 3; i++) {
        await track(c, 2);
        const r = await check();
        assert.equal(r.used, String(start + 2 * i), `after ingestion ${i}`);
        assert.deepEqual(r, (await injected(q(c.id, 'api_calls'))).body);
      }
      // A write through the API: the subscription canceled now.
      const sub = (await s.ok(s.api.get(`/v1/subscriptions?account=${c.id}`))).data[0];
      await s.ok(s.api.post(`/v1/subscriptions/${sub.id}/cancel`, { at_period_end: false }));
      const after = await check();
      assert.equal(after.reason, 'no_active_subscription');
      assert.deepEqual(after, (await injected(q(c.id, 'api_calls'))).body);
      await s.subscribe(c, 'pro', { collection_method: 'send_invoice', days_until_due: 30 });
      assert.equal((await check()).plan, 'pro');
    } finally {
      conn.close();
    }
  });

  it('hands a connection back at its first request that is not a plain check, or an error, with the requests after it', async () => {
    const before = { ...checks.stats };
    const conn = new Conn(port);
    try {
      // Pipelined: two checks, an error (unknown account), then other calls and a check, in one write.
      conn.write(request(q(c.id, 'sso')) + request(q(bare.id, 'sso')) + request(q('acct_missing', 'sso')) + request('/v1/accounts?limit=1') + request(q(c.id, 'sso')));
      const got = [];
      for (let i = 0; i < 5; i++) got.push(await conn.response());
      assert.deepEqual(
        got.map((r) => r.status),
        [200, 200, 404, 200, 200],
      );
      assert.equal(got[2].body.error.param, 'account');
      assert.equal(got[2].body.error.request_id, got[2].headers['request-id']);
      assert.equal(got[3].body.object, 'list');
      assert.deepEqual(got[4].body, (await injected(q(c.id, 'sso'))).body);
      assert.deepEqual([checks.stats.handedOver, checks.stats.handedBack], [before.handedOver + 1, before.handedBack + 1]);
      // The connection is the API process's now: more checks on it are answered there.
      conn.write(request(q(c.id, 'sso')));
      assert.equal((await conn.response()).status, 200);
      assert.equal(checks.stats.handedBack, before.handedBack + 1);
    } finally {
      conn.close();
    }
  });

  it('hands a connection back after thousands of pipelined checks, every response in its place', async () => {
    const before = { ...checks.stats };
    const socket = net.connect(port, '127.0.0.1');
    try {
      // Thousands of pipelined checks (megabytes of responses, more than the socket's buffers
      // hold while the client is slow to read), then another request and a check.
      const n = 5000;
      const text = request(q(c.id, 'sso')).repeat(n) + request('/v1/accounts?limit=1') + request(q(c.id, 'sso'));
      const chunks: Buffer[] = [];
      let size = 0;
      const all = new Promise<string>((resolve, reject) => {
        socket.on('data', (d: Buffer) => {
          chunks.push(d);
          size += d.length;
          // Slow to read: each chunk waits a turn before the next is read.
          socket.pause();
          setImmediate(() => socket.resume());
          const s = Buffer.concat(chunks).toString('latin1');
          if ((s.match(/HTTP\/1\.1 /g) ?? []).length === n + 2 && s.endsWith('}')) resolve(s);
        });
        socket.on('close', () => reject(new Error(`closed after ${size} bytes`)));
      });
      socket.write(text);
      const got = await all;
      const statuses = [...got.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => m[1]);
      assert.equal(statuses.length, n + 2);
      assert.ok(statuses.every((st) => st === '200'));
      assert.match(got.slice(got.lastIndexOf('HTTP/1.1 200', got.lastIndexOf('HTTP/1.1 200') - 1)), /"object":"list"/, 'the other request answered in its place');
      assert.deepEqual([checks.stats.handedOver, checks.stats.handedBack], [before.handedOver + 1, before.handedBack + 1]);
    } finally {
      socket.destroy();
    }
  });

  it("leaves other connections to the API process, reads a first request split across writes, and refuses bad keys with fastify's errors", async () => {
    const before = { ...checks.stats };
    const other = new Conn(port);
    const split = new Conn(port);
    const badKey = new Conn(port);
    try {
      other.write(request('/healthz'));
      assert.equal((await other.response()).status, 200);
      other.write(request(q(c.id, 'sso')));
      assert.equal((await other.response()).body.allowed, true);
      assert.equal(checks.stats.handedOver, before.handedOver, 'a connection that started with another request');

      const text = request(q(c.id, 'sso'));
      split.write(text.slice(0, 9));
      await new Promise((resolve) => setImmediate(resolve));
      split.write(text.slice(9, 40));
      await new Promise((resolve) => setImmediate(resolve));
      split.write(text.slice(40));
      assert.deepEqual((await split.response()).body, (await injected(q(c.id, 'sso'))).body);
      assert.equal(checks.stats.handedOver, before.handedOver + 1);

      badKey.write(request(q(c.id, 'sso'), 'sk_notakeyatall123'));
      const refused = await badKey.response();
      assert.deepEqual([refused.status, refused.body.error.code], [401, 'api_key_invalid']);
    } finally {
      other.close();
      split.close();
      badKey.close();
    }
  });

  it("answers a sandbox workspace's checks without keeping them (its test clock moves)", async () => {
    const conn = new Conn(port);
    try {
      for (let i = 0; i < 2; i++) {
        const asked = checks.stats.asked;
        conn.write(request(q(sandbox.account, 'sso'), sandbox.secretKey));
        const r = await conn.response();
        assert.deepEqual([r.status, r.body], [200, (await injected(q(sandbox.account, 'sso'), sandbox.secretKey)).body]);
        assert.equal(checks.stats.asked, asked + 1, 'asked every time');
      }
    } finally {
      conn.close();
    }
  });

  it('leaves the checks to the API process while the check process is down, and starts a new one', async () => {
    const pid = checks.pid!;
    process.kill(pid, 'SIGKILL');
    // Waits for the OS to report the exit (nothing here waits for time to pass).
    for (let i = 0; i < 500 && checks.pid === pid; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    await checks.ready();
    assert.notEqual(checks.pid, pid);
    assert.equal(checks.stats.restarts, 1);
    const conn = new Conn(port);
    try {
      conn.write(request(q(c.id, 'sso')));
      assert.deepEqual((await conn.response()).body, (await injected(q(c.id, 'sso'))).body);
    } finally {
      conn.close();
    }
  });
});

describe('a check process that does not start', () => {
  let s: Scenario;
  let c: Customer;
  let dir: string;
  before(async () => {
    ({ s, c } = await liveCustomer());
    dir = mkdtempSync(path.join(os.tmpdir(), 'tandem-check-process-'));
  });
  after(async () => {
    await s?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('leaves the server as it was: every connection, checks included, goes to the HTTP server', async () => {
    const server = s.h.tandem.app.server;
    const listeners = server.listeners('connection');
    const failing = path.join(dir, 'exits.mjs');
    writeFileSync(failing, 'process.exit(3);\n');
    await assert.rejects(startCheckProcess({ server, deps: s.h.tandem.deps, childModule: failing }), /exited before it was ready \(code 3\)/);
    assert.deepEqual(server.listeners('connection'), listeners, "the HTTP server's own connection listeners, and only those");

    await s.h.tandem.app.listen({ port: 0, host: '127.0.0.1' });
    const conn = new Conn((server.address() as AddressInfo).port);
    try {
      const check = `/v1/entitlements/check?account=${c.id}&feature=sso`;
      conn.write(`GET ${check} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${s.ws.secretKey}\r\n\r\n`);
      const r = await conn.response();
      const expected = await s.h.tandem.app.inject({ method: 'GET', url: check, headers: { authorization: `Bearer ${s.ws.secretKey}` } });
      assert.deepEqual([r.status, r.body], [200, JSON.parse(expected.body)]);
      assert.equal(r.body.allowed, true);
      // The same connection takes any other call: it is the HTTP server's.
      conn.write(`GET /v1/accounts/${c.id} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${s.ws.secretKey}\r\n\r\n`);
      assert.equal((await conn.response()).body.id, c.id);
    } finally {
      conn.close();
    }
  });
});

import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { checkFastPath } from '../../src/api/routes/entitlements.ts';
import { scenario, type Customer, type Scenario } from '../scenarios/dsl.ts';

/**
 * The entitlement check's hot path (api/routes/entitlements.ts checkFastPath, installed in the
 * HTTP server by api/app.ts) answers plain successful checks before fastify's routing; everything
 * else goes to fastify. In-process tests (app.inject) never reach it, so here the same requests
 * go over a real socket and through inject, and must get the same status, JSON and headers.
 */
describe('entitlement checks over a socket (the hot path in front of fastify)', () => {
  let s: Scenario;
  let c: Customer;
  let bare: Customer;
  let otherKey: string;
  let otherAccount: string;
  let readKey: { id: string; secret: string };
  let base: string;
  before(async () => {
    s = await scenario('2026-06-10T00:00:00Z');
    await s.entitlementsCatalog();
    await s.ok(s.api.post('/v1/features', { key: 'audit', name: 'Audit', type: 'boolean' }));
    c = await s.customer('Fast');
    await s.subscribe(c, 'pro');
    await s.track(c, 'API Call', 3);
    bare = await s.customer('Bare');
    readKey = await s.ok(s.api.post('/v1/api_keys', { name: 'reader', scopes: ['read'] }));
    const other = await s.h.workspace({ name: 'Other' });
    otherKey = other.secretKey;
    otherAccount = (await s.ok(s.h.api(other).post('/v1/accounts', { name: 'Theirs' }))).id;
    await s.h.tandem.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(s.h.tandem.app.server.address() as AddressInfo).port}`;
  });
  after(() => s.close());

  const overSocket = async (path: string, authorization: string | null = `Bearer ${s.ws.secretKey}`, method = 'GET') => {
    const r = await fetch(`${base}${path}`, { method, headers: authorization ? { authorization } : {} });
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : undefined, headers: r.headers };
  };
  const injected = async (path: string, authorization: string | null = `Bearer ${s.ws.secretKey}`, method: 'GET' | 'HEAD' = 'GET') => {
    const r = await s.h.tandem.app.inject({ method, url: path, headers: authorization ? { authorization } : {} });
    return { status: r.statusCode, body: r.body ? JSON.parse(r.body) : undefined, headers: r.headers };
  };
  /** Same status and JSON both ways (request ids aside), and the envelope's request_id is the response's request-id header. */
  const same = async (path: string, authorization?: string | null) => {
    const a = await overSocket(path, authorization);
    const b = await injected(path, authorization);
    const reqId = a.headers.get('request-id');
    assert.match(reqId ?? '', /^req_/, `${path}: request-id header`);
    assert.equal(a.headers.get('content-type'), b.headers['content-type'], `${path}: content-type`);
    if (a.body?.error) {
      assert.equal(a.body.error.request_id, reqId);
      a.body.error.request_id = b.body.error.request_id = 'req';
    }
    assert.deepEqual([a.status, a.body], [b.status, b.body], path);
    return a;
  };
  const q = (account: string, feature: string) => `/v1/entitlements/check?account=${account}&feature=${feature}`;

  it('answers plain checks as fastify does: limit, boolean, not in plan, no subscription, parameters in either order', async () => {
    const limit = await same(q(c.id, 'api_calls'));
    assert.deepEqual([limit.status, limit.body.object, limit.body.used, limit.body.remaining, limit.body.allowed], [200, 'entitlement_check', '3', '7', true]);
    assert.equal(limit.headers.get('content-length'), String(Buffer.byteLength(JSON.stringify(limit.body))));
    assert.equal((await same(q(c.id, 'sso'))).body.allowed, true);
    assert.equal((await same(q(c.id, 'audit'))).body.reason, 'not_in_plan');
    assert.equal((await same(q(bare.id, 'sso'))).body.reason, 'no_active_subscription');
    assert.equal((await same(`/v1/entitlements/check?feature=api_calls&account=${c.id}`)).body.used, '3');
    // Shapes the hot path leaves to fastify: an extra parameter, an encoded value, a trailing slash.
    assert.equal((await same(`${q(c.id, 'api_calls')}&extra=1`)).body.used, '3');
    assert.equal((await same(`/v1/entitlements/check?account=${c.id}&feature=%61pi_calls`)).body.used, '3');
    assert.equal((await same(`/v1/entitlements/check/?account=${c.id}&feature=sso`)).body.allowed, true);
  });

  it('answers every refusal and bad input with the same error envelope as fastify', async () => {
    assert.equal((await same(q(c.id, 'api_calls'), null)).status, 401);
    assert.equal((await same(q(c.id, 'api_calls'), 'Bearer sk_notakeyatall123')).status, 401);
    assert.equal((await same(q(c.id, 'api_calls'), `Bearer ${readKey.secret}`)).status, 200, 'a read-scoped key may check');
    assert.equal((await same(q(c.id, 'api_calls'), `Basic ${Buffer.from(`${s.ws.writeKey}:`).toString('base64')}`)).status, 403);
    assert.equal((await same(q(otherAccount, 'sso'))).status, 404, "another workspace's account");
    assert.equal((await same(q(c.id, 'sso'), `Bearer ${otherKey}`)).status, 404, 'our account with their key');
    assert.equal((await same(q(c.id, 'nonexistent'))).body.error.param, 'feature');
    assert.equal((await same(q('acct_missing', 'sso'))).body.error.param, 'account');
    assert.equal((await same(`/v1/entitlements/check?account=${c.id}`)).status, 400);
    assert.equal((await same(`/v1/entitlements/check?account=${c.id}&feature=`)).status, 400);
    assert.equal((await same(`/v1/entitlements/check?account=${c.id}&account=${c.id}&feature=sso`)).status, 400);
    const head = await overSocket(q(c.id, 'sso'), undefined, 'HEAD');
    assert.equal(head.status, (await injected(q(c.id, 'sso'), undefined, 'HEAD')).status);
  });

  it('sees events as soon as their ingestion is acknowledged', async () => {
    assert.equal((await overSocket(q(c.id, 'api_calls'))).body.used, '3');
    await s.track(c, 'API Call', 8);
    const r = await overSocket(q(c.id, 'api_calls'));
    assert.deepEqual([r.body.used, r.body.remaining, r.body.allowed, r.body.reason], ['11', '0', false, 'limit_reached']);
  });

  it("answers a live workspace's checks in the turn that parsed them, and refuses its cached keys as fastify does", async () => {
    // A live workspace's keys are cached (a sandbox's are not: each request reads its test clock),
    // so its checks take the synchronous path: the key and the answer both from memory.
    const live = await s.h.workspace({ name: 'Live', sandbox: false });
    const api = s.h.api(live);
    await s.ok(api.post('/v1/features', { key: 'sso', name: 'SSO', type: 'boolean' }));
    const acct = (await s.ok(api.post('/v1/accounts', { name: 'Live account' }))).id as string;
    const reader = await s.ok(api.post('/v1/api_keys', { name: 'reader', scopes: ['read'] }));
    const handedOver: string[] = [];
    /** Per request taken by the hot path: whether its answer was written before it returned. */
    const inTheSameTurn: boolean[] = [];
    let ids = 0;
    const fast = checkFastPath(s.h.tandem.deps, () => `req_live${++ids}`, () => false);
    const server = http.createServer((req, res) => {
      const fallback = (rq: http.IncomingMessage, rs: http.ServerResponse) => {
        handedOver.push(rq.headers.authorization!.slice(0, 6));
        s.h.tandem.app.routing(rq, rs);
      };
      if (fast(req, res, fallback)) inTheSameTurn.push(res.writableEnded);
      else fallback(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const at = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const get = async (authorization: string) => {
        const r = await fetch(`${at}${q(acct, 'sso')}`, { headers: { authorization } });
        return { status: r.status, id: r.headers.get('request-id'), body: (await r.json()) as any };
      };
      const expected = (await s.h.tandem.app.inject({ method: 'GET', url: q(acct, 'sso'), headers: { authorization: `Bearer ${live.secretKey}` } })).json();
      for (const key of [live.secretKey, live.secretKey, reader.secret, reader.secret]) {
        const r = await get(`Bearer ${key}`);
        assert.deepEqual([r.status, r.body], [200, expected]);
        assert.match(r.id ?? '', /^req_live\d+$/, 'answered by the hot path');
      }
      // A cached key with a cached answer is answered before the hot path returns (the reader's
      // first check waits for its key's lookup; entries live 1 s of wall time, hence "some").
      assert.ok(inTheSameTurn.some(Boolean), `answered in the same turn: ${inTheSameTurn.join(', ')}`);
      // Ingestion has just used the write key (its lookup is cached): refused with fastify's 403.
      await s.ok(s.h.api(live).post('/v1/track', { userId: 'u1', event: 'Signed In', messageId: 'live-1' }, { authorization: `Basic ${Buffer.from(`${live.writeKey}:`).toString('base64')}` }));
      const byWriteKey = await get(`Basic ${Buffer.from(`${live.writeKey}:`).toString('base64')}`);
      assert.deepEqual([byWriteKey.status, byWriteKey.body.error.code], [403, 'write_key_not_allowed']);
      // A revoked key: refused at once, though it was cached a moment ago.
      await s.ok(api.delete(`/v1/api_keys/${reader.id}`));
      const revoked = await get(`Bearer ${reader.secret}`);
      assert.deepEqual([revoked.status, revoked.body.error.code], [401, 'api_key_invalid']);
      assert.deepEqual(handedOver, ['Basic ', 'Bearer']);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('answers the plain successful checks itself and hands everything else to fastify untouched', async () => {
    const app = s.h.tandem.app;
    const handedOver: string[] = [];
    let ids = 0;
    const fast = checkFastPath(s.h.tandem.deps, () => `req_test${++ids}`, () => false);
    const server = http.createServer((req, res) => {
      const fallback = (rq: http.IncomingMessage, rs: http.ServerResponse) => {
        handedOver.push(rq.url!);
        app.routing(rq, rs);
      };
      if (!fast(req, res, fallback)) fallback(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const at = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const get = async (path: string, authorization = `Bearer ${s.ws.secretKey}`) => {
        const r = await fetch(`${at}${path}`, { headers: { authorization } });
        return { status: r.status, id: r.headers.get('request-id'), body: (await r.json()) as any };
      };
      for (const path of [q(c.id, 'api_calls'), q(c.id, 'sso'), q(bare.id, 'sso'), q(c.id, 'audit')]) {
        const r = await get(path);
        assert.equal(r.status, 200);
        assert.match(r.id ?? '', /^req_test\d+$/, `${path} answered by the hot path`);
        assert.deepEqual(r.body, (await injected(path)).body);
      }
      assert.deepEqual(handedOver, []);
      const refused = [q(c.id, 'nonexistent'), q(otherAccount, 'sso'), `${q(c.id, 'sso')}&extra=1`, `/v1/entitlements/check?account=${c.id}&feature=`];
      for (const path of refused) assert.notEqual((await get(path)).id?.startsWith('req_test'), true, path);
      // A revoked key: refused at once on both paths (the revocation is this process's write).
      assert.equal((await get(q(c.id, 'sso'), `Bearer ${readKey.secret}`)).status, 200);
      await s.ok(s.api.delete(`/v1/api_keys/${readKey.id}`));
      assert.equal((await get(q(c.id, 'sso'), `Bearer ${readKey.secret}`)).status, 401);
      assert.equal((await overSocket(q(c.id, 'sso'), `Bearer ${readKey.secret}`)).status, 401);
      assert.deepEqual(handedOver, [...refused, q(c.id, 'sso')]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Analytics } from '@segment/analytics-node';
import { startHarness, type Harness, type TestWorkspace } from '../support/harness.ts';

/**
 * The official Segment Node client, unchanged, pointed at Tandem on a real port. A small proxy
 * in front of the app simulates lost responses: the first request reaches Tandem and is stored,
 * but the client sees a 503 (or a dropped connection) and retries the very same batch.
 */
describe('the official Segment client (@segment/analytics-node)', () => {
  let h: Harness;
  let appUrl: string;
  let proxy: http.Server;
  let proxyUrl: string;
  let mode: 'pass' | 'store-then-503' | 'store-then-drop' = 'pass';
  const attempts: Array<{ retryCount: string | undefined; status: number }> = [];

  before(async () => {
    h = await startHarness();
    appUrl = await h.tandem.app.listen({ port: 0, host: '127.0.0.1' });
    proxy = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', async () => {
        const upstream = await fetch(appUrl + req.url, { method: req.method, headers: req.headers as Record<string, string>, body: Buffer.concat(chunks) });
        const body = Buffer.from(await upstream.arrayBuffer());
        attempts.push({ retryCount: req.headers['x-retry-count'] as string | undefined, status: upstream.status });
        const failure = mode;
        mode = 'pass';
        if (failure === 'store-then-503') {
          res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"simulated"}');
        } else if (failure === 'store-then-drop') {
          req.socket.destroy();
        } else {
          res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' }).end(body);
        }
      });
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise((resolve) => proxy.close(resolve));
    await h.close();
  });

  const client = (ws: TestWorkspace, host: string) => new Analytics({ writeKey: ws.writeKey, host, path: '/v1/batch', flushAt: 10, flushInterval: 100, maxRetries: 3, httpRequestTimeout: 60_000 });
  const rows = (ws: TestWorkspace) =>
    h.database.query<{ type: string; seq: string | null; user_id: string; account_id: string | null; message_id: string }>(
      `SELECT type, coalesce(properties->>'seq', traits->>'seq') AS seq, user_id, account_id, message_id FROM product_events WHERE workspace_id = $1`,
      [ws.id],
    );

  it('delivers identify, group, track and page calls, each exactly once', async () => {
    const ws = await h.workspace({ name: 'Client' });
    const analytics = client(ws, appUrl);
    const errors: unknown[] = [];
    analytics.on('error', (e) => errors.push(String((e as { reason?: unknown }).reason ?? e)));
    analytics.identify({ userId: 'user-1', traits: { email: 'ada@example-corp.com', name: 'Ada', seq: 'i1' } });
    analytics.group({ userId: 'user-1', groupId: 'org-1', traits: { name: 'Example Corp', website: 'example-corp.com', seq: 'g1' } });
    for (let i = 0; i < 25; i++) analytics.track({ userId: 'user-1', event: 'Report Generated', properties: { seq: `t${i}` } });
    analytics.page({ userId: 'user-1', name: 'Pricing', properties: { seq: 'p1' } });
    analytics.track({ anonymousId: 'visitor-1', event: 'Viewed Landing', properties: { seq: 'a1' } });
    await analytics.closeAndFlush({ timeout: 20_000 });
    assert.deepEqual(errors, []);
    const stored = await rows(ws);
    assert.equal(stored.length, 29);
    const seqs = stored.map((r) => r.seq).sort();
    assert.equal(new Set(seqs).size, 29, 'each event exactly once');
    const account = (await h.api(ws).get('/v1/accounts?external_id=org-1')).body.data[0];
    assert.equal(account.name, 'Example Corp');
    assert.deepEqual(account.domains, ['example-corp.com']);
    assert.ok(stored.filter((r) => r.user_id === 'user-1').every((r) => r.account_id === account.id));
    assert.match(stored[0].message_id, /.+/);
  });

  for (const failure of ['store-then-503', 'store-then-drop'] as const) {
    it(`retries a batch whose response was lost (${failure}) without storing duplicates`, async () => {
      const ws = await h.workspace({ name: `Retry ${failure}` });
      const analytics = client(ws, proxyUrl);
      attempts.length = 0;
      mode = failure;
      for (let i = 0; i < 10; i++) analytics.track({ userId: 'user-r', event: 'Retried', properties: { seq: `r${i}` } });
      await analytics.closeAndFlush({ timeout: 20_000 });
      assert.ok(attempts.length >= 2, `the client retried (${attempts.length} attempts)`);
      assert.equal(attempts[0].status, 200, 'the first attempt was stored by Tandem');
      assert.equal(attempts[1].retryCount, '1', 'the second attempt is a retry of the same batch');
      const stored = await rows(ws);
      assert.equal(stored.length, 10);
      assert.equal(new Set(stored.map((r) => r.seq)).size, 10);
    });
  }
});

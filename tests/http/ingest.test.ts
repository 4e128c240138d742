import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { newIds } from '../../src/kernel/ids.ts';
import { execOn, insertEvents, type NormalizedMessage } from '../../src/modules/events/index.ts';
import { startHarness, type Harness, type TestWorkspace } from '../support/harness.ts';

/** Segment-style Basic auth: the write key as user name, empty password. */
const basic = (key: string) => ({ authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}` });

describe('Segment-compatible ingestion', () => {
  let h: Harness;
  let ws: TestWorkspace;
  let other: TestWorkspace;
  const send = (path: string, body: unknown, headers: Record<string, string> = {}) => h.api(null).post(path, body, { ...basic(ws.writeKey), ...headers });
  const stored = async (w = ws) =>
    h.database.query<{ message_id: string; type: string; event: string | null; timestamp: Date; received_at: Date; sent_at: Date | null; context: any; user_id: string | null }>(
      'SELECT message_id, type, event, timestamp, received_at, sent_at, context, user_id FROM product_events WHERE workspace_id = $1 ORDER BY message_id',
      [w.id],
    );
  const count = async (w = ws) => (await stored(w)).length;

  before(async () => {
    h = await startHarness();
    ws = await h.workspace({ name: 'Ingest', clockStart: '2026-01-15T12:00:00Z' });
    other = await h.workspace({ name: 'Other' });
  });
  after(() => h.close());

  describe('authentication', () => {
    it('accepts Basic auth with the write key and an empty password', async () => {
      const r = await send('/v1/track', { userId: 'u1', event: 'Signed Up', messageId: 'auth-1' });
      assert.equal(r.status, 200);
      assert.deepEqual(r.body, { success: true });
      assert.deepEqual((await stored()).map((e) => e.message_id), ['auth-1']);
    });

    it('accepts a secret key too (Bearer), and refuses a wrong or missing key with 401', async () => {
      assert.equal((await h.api(ws).post('/v1/track', { userId: 'u1', event: 'E', messageId: 'auth-2' })).status, 200);
      const wrong = await h.api(null).post('/v1/track', { userId: 'u1', event: 'E', messageId: 'auth-3' }, basic('wk_doesnotexist0000000000000000'));
      assert.equal(wrong.status, 401);
      assert.equal(wrong.body.error.code, 'api_key_invalid');
      assert.equal((await h.api(null).post('/v1/track', { userId: 'u1', event: 'E', messageId: 'auth-4' })).status, 401);
      assert.ok(!(await stored()).some((e) => e.message_id === 'auth-3' || e.message_id === 'auth-4'));
    });

    it('refuses the write key on the management API with 403', async () => {
      const r = await h.api(ws.writeKey).get('/v1/accounts');
      assert.equal(r.status, 403);
      assert.equal(r.body.error.code, 'write_key_not_allowed');
      assert.equal((await h.api(ws.writeKey).post('/v1/accounts', { name: 'X' })).status, 403);
    });

    it('keeps each workspace’s events apart, and its messageIds: the same id in two workspaces is two events', async () => {
      await h.api(null).post('/v1/track', { userId: 'u1', event: 'E', messageId: 'auth-1' }, basic(other.writeKey));
      assert.equal(await count(other), 1);
      assert.equal((await stored()).filter((e) => e.message_id === 'auth-1').length, 1);
    });
  });

  describe('authentication by writeKey in the body (Segment HTTP API)', () => {
    it('accepts a write key in the body of a single call or a batch when no Authorization header is sent, and never stores it', async () => {
      const w = await h.workspace({ name: 'Body key' });
      assert.equal((await h.api(null).post('/v1/track', { userId: 'u1', event: 'E', messageId: 'bk-1', writeKey: w.writeKey })).status, 200);
      assert.equal((await h.api(null).post('/v1/batch', { writeKey: w.writeKey, batch: [{ type: 'track', userId: 'u1', event: 'E', messageId: 'bk-2' }] })).status, 200);
      // Libraries that put the key into every message of a batch.
      const each = [3, 4].map((i) => ({ type: 'track', userId: 'u1', event: 'E', messageId: `bk-${i}`, writeKey: w.writeKey }));
      assert.equal((await h.api(null).post('/v1/batch', { batch: each })).status, 200);
      const rows = await stored(w);
      assert.deepEqual(rows.map((e) => e.message_id), ['bk-1', 'bk-2', 'bk-3', 'bk-4']);
      assert.ok(!JSON.stringify(rows).includes(w.writeKey), 'the key is not stored with the events');
      // An Idempotency-Key works as with the header: the key's workspace is known before the replay check.
      const body = { userId: 'u1', event: 'E', messageId: 'bk-5', writeKey: w.writeKey };
      assert.equal((await h.api(null).post('/v1/track', body, { 'idempotency-key': 'bk-idem' })).status, 200);
      const again = await h.api(null).post('/v1/track', body, { 'idempotency-key': 'bk-idem' });
      assert.equal(again.status, 200);
      assert.equal(again.headers['idempotent-replayed'], 'true');
    });

    it('prefers the Authorization header, and refuses a missing, unknown or mixed body key with 401, storing nothing', async () => {
      const w = await h.workspace({ name: 'Body key 2' });
      const other2 = await h.workspace({ name: 'Body key 3' });
      // The header decides: the body's key of another workspace does not move the event there.
      assert.equal((await h.api(null).post('/v1/track', { userId: 'u1', event: 'E', messageId: 'bk-h', writeKey: other2.writeKey }, basic(w.writeKey))).status, 200);
      assert.equal(await count(w), 1);
      assert.equal(await count(other2), 0);
      const unknown = await h.api(null).post('/v1/track', { userId: 'u1', event: 'E', messageId: 'bk-x', writeKey: 'wk_doesnotexist0000000000000000' });
      assert.equal(unknown.status, 401);
      assert.equal(unknown.body.error.code, 'api_key_invalid');
      const mixed = await h.api(null).post('/v1/batch', {
        batch: [
          { type: 'track', userId: 'u1', event: 'E', messageId: 'bk-m1', writeKey: w.writeKey },
          { type: 'track', userId: 'u1', event: 'E', messageId: 'bk-m2', writeKey: other2.writeKey },
        ],
      });
      assert.equal(mixed.status, 401);
      assert.equal(mixed.body.error.code, 'api_key_missing');
      assert.equal((await h.api(null).post('/v1/batch', { batch: [{ type: 'track', userId: 'u1', event: 'E', messageId: 'bk-n' }] })).body.error.code, 'api_key_missing');
      assert.equal((await h.api(null).post('/v1/track', { userId: 'u1', event: 'E', messageId: 'bk-s', writeKey: 42 })).status, 401);
      assert.equal(await count(w), 1);
      assert.equal(await count(other2), 0);
      // The management API never reads a body key.
      assert.equal((await h.api(null).post('/v1/accounts', { name: 'X', writeKey: w.writeKey })).status, 401);
    });
  });

  describe('single calls', () => {
    it('stores track, identify, group, page, screen and alias', async () => {
      for (const [path, body] of [
        ['/v1/track', { userId: 's1', event: 'Clicked' }],
        ['/v1/identify', { userId: 's1', traits: { email: 's1@example.org' } }],
        ['/v1/group', { userId: 's1', groupId: 'grp-s', traits: { name: 'S Inc' } }],
        ['/v1/page', { anonymousId: 'anon-s', name: 'Pricing' }],
        ['/v1/screen', { userId: 's1', name: 'Home' }],
        ['/v1/alias', { userId: 's1', previousId: 'anon-s' }],
      ] as const) {
        const r = await send(path, { ...body, messageId: `single-${path}` });
        assert.equal(r.status, 200, `${path}: ${JSON.stringify(r.body)}`);
      }
      const rows = (await stored()).filter((e) => e.message_id.startsWith('single-'));
      assert.deepEqual(rows.map((e) => e.type).sort(), ['alias', 'group', 'identify', 'page', 'screen', 'track']);
      assert.equal(rows.find((e) => e.type === 'page')!.event, 'Pricing');
    });

    it('accepts text/plain JSON bodies', async () => {
      const r = await h.tandem.app.inject({
        method: 'POST',
        url: '/v1/track',
        headers: { ...basic(ws.writeKey), 'content-type': 'text/plain; charset=utf-8' },
        payload: JSON.stringify({ userId: 'u1', event: 'Plain', messageId: 'plain-1' }),
      });
      assert.equal(r.statusCode, 200, r.body);
      assert.ok((await stored()).some((e) => e.message_id === 'plain-1'));
    });

    it('generates a messageId when none is sent', async () => {
      assert.equal((await send('/v1/track', { userId: 'no-mid', event: 'E' })).status, 200);
      const row = (await stored()).find((e) => e.user_id === 'no-mid')!;
      assert.match(row.message_id, /^tandem-[0-9a-f-]{36}$/);
    });

    it('corrects clock skew exactly like Segment', async () => {
      // The workspace clock (its test clock) reads 12:00:00 when the request arrives. The device's
      // clock is an hour slow: it says the event happened at 10:59:30 and the request left at 11:00:00.
      // 12:00:00 − (11:00:00 − 10:59:30) = 11:59:30.
      const r = await send('/v1/track', { userId: 'u1', event: 'Skewed', messageId: 'skew-1', timestamp: '2026-01-15T10:59:30.000Z', sentAt: '2026-01-15T11:00:00.000Z' });
      assert.equal(r.status, 200);
      const row = (await stored()).find((e) => e.message_id === 'skew-1')!;
      assert.equal(new Date(row.timestamp).toISOString(), '2026-01-15T11:59:30.000Z');
      assert.equal(new Date(row.received_at).toISOString(), '2026-01-15T12:00:00.000Z');
      assert.equal(new Date(row.sent_at!).toISOString(), '2026-01-15T11:00:00.000Z');
      // Without sentAt the timestamp is kept as sent (a backfill of old events).
      await send('/v1/track', { userId: 'u1', event: 'Old', messageId: 'skew-2', timestamp: '2025-06-01T08:00:00Z' });
      assert.equal(new Date((await stored()).find((e) => e.message_id === 'skew-2')!.timestamp).toISOString(), '2025-06-01T08:00:00.000Z');
    });

    it('answers 400 naming the field, and stores nothing, for an invalid message', async () => {
      const before = await count();
      const cases: Array<[string, unknown, string, string | null]> = [
        ['/v1/track', { event: 'No user', messageId: 'bad-1' }, 'parameter_missing', 'userId'],
        ['/v1/track', { userId: 'u1', messageId: 'bad-2' }, 'parameter_missing', 'event'],
        ['/v1/group', { userId: 'u1', messageId: 'bad-3' }, 'parameter_missing', 'groupId'],
        ['/v1/track', { userId: 'u1', event: 'E', timestamp: 'last tuesday', messageId: 'bad-4' }, 'parameter_invalid', 'timestamp'],
        ['/v1/identify', { userId: 'u1', traits: 'vip', messageId: 'bad-5' }, 'parameter_invalid', 'traits'],
        ['/v1/track', [{ userId: 'u1', event: 'E' }], 'parameter_invalid', 'body'],
      ];
      for (const [path, body, code, param] of cases) {
        const r = await send(path, body);
        assert.equal(r.status, 400, `${path} ${JSON.stringify(body)} → ${r.status}`);
        assert.equal(r.body.error.code, code);
        assert.equal(r.body.error.param, param);
      }
      assert.equal(await count(), before);
    });

    it('answers 400 for invalid JSON and an empty body', async () => {
      const before = await count();
      for (const payload of ['{"userId": "u1", "event": ', '', 'null', '"just a string"']) {
        const r = await h.tandem.app.inject({ method: 'POST', url: '/v1/track', headers: { ...basic(ws.writeKey), 'content-type': 'application/json' }, payload });
        assert.equal(r.statusCode, 400, `payload ${JSON.stringify(payload)} → ${r.statusCode} ${r.body}`);
      }
      assert.equal(await count(), before);
    });

    it('limits a single event to 32 KB', async () => {
      const r = await send('/v1/track', { userId: 'u1', event: 'Big', messageId: 'big-1', properties: { blob: 'x'.repeat(33 * 1024) } });
      assert.equal(r.status, 400);
      assert.equal(r.body.error.code, 'event_too_large');
      assert.ok(!(await stored()).some((e) => e.message_id === 'big-1'));
      const ok = await send('/v1/track', { userId: 'u1', event: 'Almost', messageId: 'big-2', properties: { blob: 'x'.repeat(31 * 1024) } });
      assert.equal(ok.status, 200);
    });

    it('never answers 500 to garbage', async () => {
      const garbage: unknown[] = [
        0,
        true,
        [],
        { userId: null, anonymousId: null },
        { userId: 'u', event: { nested: true } },
        { userId: 'u', event: 'E', properties: { s: '\u0000' } },
        { userId: 'u', event: 'E', timestamp: '-271821-04-20T00:00:00Z' },
        { userId: 'u', event: 'E', timestamp: '0001-01-01T00:00:00Z' },
        { userId: 'u', event: 'E', sentAt: '2026-01-15T12:00:00Z', timestamp: '1000-01-01T00:00:00Z' },
        { userId: 'x'.repeat(5000), event: 'E' },
        { userId: 'u', event: 'E', messageId: 'm'.repeat(300) },
        { userId: 'u', event: 'E', context: 'ctx' },
        { userId: 'u', event: 'E', context: { groupId: {} } },
        { userId: 'u', event: 'E', context: { traits: { email: 12, company: 'acme' } } },
      ];
      for (const body of garbage) {
        for (const path of ['/v1/track', '/v1/identify', '/v1/group', '/v1/batch']) {
          const r = await send(path, body);
          assert.ok(r.status < 500, `${path} ${JSON.stringify(body).slice(0, 80)} → ${r.status} ${JSON.stringify(r.body)}`);
        }
      }
    });
  });

  describe('batch', () => {
    it('stores the valid messages and lists the rejected ones', async () => {
      const r = await send('/v1/batch', {
        batch: [
          { type: 'track', userId: 'b1', event: 'One', messageId: 'batch-1' },
          { type: 'track', event: 'No user', messageId: 'batch-2' },
          { type: 'track', userId: 'b1', messageId: 'batch-3' },
          { type: 'identify', anonymousId: 'anon-b', traits: { plan: 'free' }, messageId: 'batch-4' },
          'not a message',
          { type: 'track', userId: 'b1', event: 'Huge', messageId: 'batch-6', properties: { blob: 'y'.repeat(40 * 1024) } },
          { type: 'unknown', userId: 'b1', messageId: 'batch-7' },
        ],
      });
      assert.equal(r.status, 200);
      assert.equal(r.body.success, true);
      assert.deepEqual(
        r.body.rejected.map((x: any) => [x.index, x.messageId, x.code, x.param]),
        [
          [1, 'batch-2', 'parameter_missing', 'batch[1].userId'],
          [2, 'batch-3', 'parameter_missing', 'batch[2].event'],
          [4, null, 'parameter_invalid', 'batch[4]'],
          [5, 'batch-6', 'event_too_large', 'batch[5]'],
          [6, 'batch-7', 'parameter_invalid', 'batch[6].type'],
        ],
      );
      const ids = (await stored()).map((e) => e.message_id).filter((m) => m.startsWith('batch-'));
      assert.deepEqual(ids, ['batch-1', 'batch-4']);
    });

    it('merges the batch-level context into each message and applies the batch sentAt', async () => {
      const r = await send('/v1/batch', {
        batch: [
          { type: 'track', userId: 'c1', event: 'E', messageId: 'ctx-1', context: { ip: '10.0.0.1' }, timestamp: '2026-01-15T11:00:00Z' },
          { type: 'track', userId: 'c1', event: 'E', messageId: 'ctx-2' },
        ],
        context: { library: { name: 'analytics-python', version: '2.3' }, ip: '192.168.1.1' },
        sentAt: '2026-01-15T11:00:10Z',
      });
      assert.equal(r.status, 200);
      const rows = (await stored()).filter((e) => e.message_id.startsWith('ctx-'));
      assert.deepEqual(rows[0].context, { library: { name: 'analytics-python', version: '2.3' }, ip: '10.0.0.1' });
      assert.deepEqual(rows[1].context, { library: { name: 'analytics-python', version: '2.3' }, ip: '192.168.1.1' });
      assert.equal(new Date(rows[0].timestamp).toISOString(), '2026-01-15T11:59:50.000Z', '12:00:00 − (11:00:10 − 11:00:00)');
    });

    it('refuses a batch over 500 KB with a 400, even when it is over the 1 MB body limit', async () => {
      const message = (i: number) => ({ type: 'track', userId: 'big', event: 'E', messageId: `huge-${i}`, properties: { blob: 'z'.repeat(20 * 1024) } });
      for (const n of [26, 60]) {
        const r = await send('/v1/batch', { batch: Array.from({ length: n }, (_, i) => message(i)) });
        assert.equal(r.status, 400, `${n} messages`);
        assert.equal(r.body.error.code, 'batch_too_large');
      }
      assert.ok(!(await stored()).some((e) => e.message_id.startsWith('huge-')));
      const ok = await send('/v1/batch', { batch: Array.from({ length: 20 }, (_, i) => message(i)) });
      assert.equal(ok.status, 200, 'about 400 KB is fine');
      assert.equal((await stored()).filter((e) => e.message_id.startsWith('huge-')).length, 20);
    });

    it('accepts a gzip-compressed body, and answers 400 to a corrupt one', async () => {
      const post = (payload: Buffer) =>
        h.tandem.app.inject({ method: 'POST', url: '/v1/batch', headers: { ...basic(ws.writeKey), 'content-type': 'application/json', 'content-encoding': 'gzip' }, payload });
      const ok = await post(gzipSync(JSON.stringify({ batch: [{ type: 'track', userId: 'gz', event: 'Zipped', messageId: 'gzip-1' }] })));
      assert.equal(ok.statusCode, 200, ok.body);
      assert.ok((await stored()).some((e) => e.message_id === 'gzip-1'));
      const bad = await post(Buffer.from('definitely not gzip'));
      assert.equal(bad.statusCode, 400, bad.body);
      // The limits apply to the inflated JSON: 600 KB of repetitive JSON compresses to a few KB.
      const big = gzipSync(JSON.stringify({ batch: Array.from({ length: 30 }, (_, i) => ({ type: 'track', userId: 'gz', event: 'E', messageId: `gzip-big-${i}`, properties: { blob: 'q'.repeat(20 * 1024) } })) }));
      assert.ok(big.length < 50 * 1024);
      const refused = await post(big);
      assert.equal(refused.statusCode, 400);
      assert.equal(JSON.parse(refused.body).error.code, 'batch_too_large');
    });

    it('answers 400 when the body is not a batch', async () => {
      for (const [body, param] of [
        [{}, 'batch'],
        [{ batch: 'x' }, 'batch'],
        [{ batch: [], context: [] }, 'context'],
        [{ batch: [], sentAt: 'noon' }, 'sentAt'],
      ] as const) {
        const r = await send('/v1/batch', body);
        assert.equal(r.status, 400, JSON.stringify(body));
        assert.equal(r.body.error.param, param);
      }
      assert.deepEqual((await send('/v1/batch', { batch: [] })).body, { success: true });
    });

    it('answers 400 naming the batch context when it holds what no message may (a NUL, a lone surrogate, too deep), storing nothing', async () => {
      let deep: Record<string, unknown> = { leaf: 1 };
      for (let i = 0; i < 70; i++) deep = { d: deep };
      for (const [context, words] of [
        [{ ip: 'a\u0000b' }, 'NUL'],
        [{ page: { title: '\ud800 alone' } }, 'surrogate'],
        [deep, 'nests deeper'],
      ] as const) {
        const id = `bad-ctx-${words.replace(/ /g, '-')}`;
        const r = await send('/v1/batch', { batch: [{ type: 'track', userId: 'c9', event: 'E', messageId: id }], context });
        assert.equal(r.status, 400, words);
        assert.equal(r.body.error.code, 'parameter_invalid');
        assert.equal(r.body.error.param, 'context');
        assert.match(r.body.error.message, new RegExp(words));
        assert.ok(!(await stored()).some((e) => e.message_id === id), 'nothing stored');
      }
    });
  });

  describe('deduplication by messageId', () => {
    const batch = (ids: string[]) => ({ batch: ids.map((id) => ({ type: 'track', userId: 'd1', event: 'Dup', messageId: id })) });

    it('stores each messageId once when the same batch is sent twice', async () => {
      const body = batch(['dup-1', 'dup-2', 'dup-3']);
      assert.equal((await send('/v1/batch', body)).status, 200);
      assert.equal((await send('/v1/batch', body)).status, 200);
      assert.deepEqual((await stored()).map((e) => e.message_id).filter((m) => m.startsWith('dup-')), ['dup-1', 'dup-2', 'dup-3']);
    });

    it('stores only the new messages of a batch that overlaps an earlier one, and duplicates inside one batch once', async () => {
      assert.equal((await send('/v1/batch', batch(['dup-2', 'dup-3', 'dup-4', 'dup-5', 'dup-5']))).status, 200);
      assert.equal((await send('/v1/track', { userId: 'd1', event: 'Dup', messageId: 'dup-1' })).status, 200);
      const ids = (await stored()).map((e) => e.message_id).filter((m) => m.startsWith('dup-'));
      assert.deepEqual(ids, ['dup-1', 'dup-2', 'dup-3', 'dup-4', 'dup-5']);
    });

    it('keeps the first delivery of a messageId (a retry with changed content changes nothing)', async () => {
      await send('/v1/track', { userId: 'd1', event: 'First', messageId: 'dup-x' });
      await send('/v1/track', { userId: 'd1', event: 'Second', messageId: 'dup-x' });
      assert.equal((await stored()).find((e) => e.message_id === 'dup-x')!.event, 'First');
    });

    it('stores concurrent, overlapping batches of a workspace (combined into shared statements) once per messageId', async () => {
      const w = await h.workspace({ name: 'Concurrent' });
      const ids = (k: number) => Array.from({ length: 40 }, (_, i) => `cc-${String(k * 20 + i).padStart(4, '0')}`); // each overlaps the next by half
      const answers = await Promise.all(Array.from({ length: 8 }, (_, k) => h.api(null).post('/v1/batch', batch(ids(k)), basic(w.writeKey))));
      assert.deepEqual(answers.map((r) => r.status), answers.map(() => 200));
      const all = new Set(Array.from({ length: 8 }, (_, k) => ids(k)).flat());
      assert.deepEqual((await stored(w)).map((e) => e.message_id), [...all].sort());
    });

    it('keeps each message its own received_at when one statement stores the messages of several requests', async () => {
      const w = await h.workspace({ name: 'Received at' });
      const message = (id: string, receivedAt: string): NormalizedMessage => ({
        index: 0, messageId: id, type: 'track', event: 'E', userId: 'u1', anonymousId: null, groupId: null, previousId: null,
        timestamp: new Date('2026-01-15T11:00:00Z'), sentAt: null, receivedAt: new Date(receivedAt), properties: null, traits: null, context: null,
      });
      const messages = [message('ra-1', '2026-01-15T12:00:00.100Z'), message('ra-2', '2026-01-15T12:00:00.250Z')];
      assert.equal(await insertEvents(execOn(h.database), { workspaceId: w.id, messages, ids: newIds('pev', 2), accountIds: [null, null] }), 2);
      assert.deepEqual((await stored(w)).map((e) => [e.message_id, new Date(e.received_at).toISOString()]), [
        ['ra-1', '2026-01-15T12:00:00.100Z'],
        ['ra-2', '2026-01-15T12:00:00.250Z'],
      ]);
    });
  });
});

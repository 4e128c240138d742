import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { normalizeMessage } from '../../src/modules/events/index.ts';
import { startHarness, type Harness, type TestWorkspace } from '../support/harness.ts';

/**
 * The ingestion routes hand the service the JSON text they parsed, and messages from a text
 * without NUL or surrogate escapes are not serialized again (normalize.ts `parsedFromCleanJson`).
 * Here texts written in the ways clients write them go through the HTTP routes, and each answer
 * must be what normalization without that shortcut gives for the same message.
 */
const basic = (key: string) => ({ authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}` });

/** The same message text with its pieces as given (raw JSON fragments, escapes kept as written). */
const track = (id: string, props: string, extra = '') => `{"type":"track","userId":"fp-user","event":"E","messageId":"${id}"${extra},"properties":${props}}`;
const pad = (n: number) => `"${'x'.repeat(n)}"`;
const nested = (levels: number) => '{"d":'.repeat(levels) + '1' + '}'.repeat(levels);

/** Message texts: clean ones (fast path) and every kind the exact path refuses or must look at. */
const MESSAGES: Record<string, string> = {
  plain: track('fp-plain', '{"plan":"pro","n":1.5,"ok":true,"none":null,"list":[1,"two"]}'),
  emoji: track('fp-emoji', '{"face":"😀","e":"caf\\u00e9","tab":"a\\tb","quote":"\\"q\\""}'),
  escapedBackslash: track('fp-backslash', '{"path":"C:\\\\u0000\\\\dir"}'),
  nulEscape: track('fp-nul', '{"s":"a\\u0000b"}'),
  loneSurrogateEscape: track('fp-lone', '{"s":"\\uD800"}'),
  pairedSurrogateEscapes: track('fp-pair', '{"s":"\\ud83d\\ude00"}'),
  exactly32k: '',
  over32k: '',
  exponentsOver32k: track('fp-exp', `{"xs":[${Array(1_600).fill('1e20').join(',')}]}`),
  tooDeep: track('fp-deep', nested(64)),
  deepEnough: track('fp-deep-ok', nested(63)),
  badTimestamp: track('fp-ts', '{}', ',"timestamp":"2026-13-01T00:00:00.000Z"'),
  isoTimestamp: track('fp-ts-ok', '{}', ',"timestamp":"2026-01-15T11:59:58.250Z","sentAt":"2026-01-15T11:59:59.000Z"'),
  offsetTimestamp: track('fp-ts-offset', '{}', ',"timestamp":"2026-01-31T13:00:00+01:00"'),
};
const sized = (id: string, bytes: number) => {
  const head = track(id, pad(0).replace('""', '{"blob":""}'));
  return track(id, `{"blob":${pad(bytes - head.length)}}`);
};
MESSAGES.exactly32k = sized('fp-32k', 32 * 1024);
MESSAGES.over32k = sized('fp-32k-plus', 32 * 1024 + 1);

describe('ingestion fast path: the same answers as exact normalization, over HTTP', () => {
  let h: Harness;
  let ws: TestWorkspace;
  const post = (url: string, payload: string) => h.tandem.app.inject({ method: 'POST', url, headers: { ...basic(ws.writeKey), 'content-type': 'application/json' }, payload });
  const storedIds = async () =>
    (await h.database.query<{ message_id: string }>('SELECT message_id FROM product_events WHERE workspace_id = $1 AND message_id LIKE $2 ORDER BY message_id', [ws.id, 'fp-%'])).map((r) => r.message_id);

  before(async () => {
    h = await startHarness();
    ws = await h.workspace({ name: 'Fast path', clockStart: '2026-01-15T12:00:00Z' });
  });
  after(() => h.close());

  it('a batch: the rejected list and the stored rows are what exact normalization says', async () => {
    const texts = Object.values(MESSAGES);
    assert.equal(Buffer.byteLength(MESSAGES.exactly32k), 32 * 1024);
    const body = `{"batch":[${texts.join(',')}],"sentAt":"2026-01-15T12:00:00.000Z"}`;
    const r = await post('/v1/batch', body);
    assert.equal(r.statusCode, 200, r.body);
    const parsed = JSON.parse(body) as { batch: unknown[] };
    const expected = parsed.batch.flatMap((raw, index) => {
      const n = normalizeMessage(raw, {
        index,
        receivedAt: new Date('2026-01-15T12:00:00Z'),
        batchSentAt: new Date('2026-01-15T12:00:00.000Z'),
        paramPrefix: `batch[${index}].`,
        newMessageId: () => 'unused',
      });
      return n.ok ? [] : [{ index, messageId: (raw as { messageId: string }).messageId, ...n.error }];
    });
    assert.deepEqual(JSON.parse(r.body).rejected, expected);
    // Each kind of refusal is in there, and the rest was stored.
    assert.deepEqual(
      expected.map((x) => [x.messageId, x.code]),
      [
        ['fp-nul', 'parameter_invalid'],
        ['fp-lone', 'parameter_invalid'],
        ['fp-32k-plus', 'event_too_large'],
        ['fp-exp', 'event_too_large'],
        ['fp-deep', 'parameter_invalid'],
        ['fp-ts', 'parameter_invalid'],
      ],
    );
    const rejectedIds = new Set(expected.map((x) => x.messageId));
    const ids = parsed.batch.map((m) => (m as { messageId: string }).messageId);
    assert.deepEqual(await storedIds(), ids.filter((id) => !rejectedIds.has(id)).sort());
    const [row] = await h.database.query<{ properties: Record<string, string>; timestamp: Date }>(
      'SELECT properties, timestamp FROM product_events WHERE workspace_id = $1 AND message_id = $2',
      [ws.id, 'fp-emoji'],
    );
    assert.deepEqual(row.properties, { face: '😀', e: 'café', tab: 'a\tb', quote: '"q"' });
    const [skewed] = await h.database.query<{ timestamp: Date }>('SELECT timestamp FROM product_events WHERE workspace_id = $1 AND message_id = $2', [ws.id, 'fp-ts-ok']);
    assert.equal(new Date(skewed.timestamp).toISOString(), '2026-01-15T11:59:59.250Z', '12:00:00 − (11:59:59 − 11:59:58.250)');
  });

  it('single calls: each answer (200, or the 400 envelope) is what exact normalization says', async () => {
    for (const [name, text] of Object.entries(MESSAGES)) {
      const single = text.replace('"type":"track",', '').replace(/"messageId":"fp-/, '"messageId":"fp-single-');
      const raw = JSON.parse(single) as unknown;
      const n = normalizeMessage(raw, { index: 0, type: 'track', receivedAt: new Date('2026-01-15T12:00:00Z'), paramPrefix: '', bytes: Buffer.byteLength(single), newMessageId: () => 'unused' });
      const r = await post('/v1/track', single);
      if (n.ok) assert.equal(r.statusCode, 200, `${name}: ${r.body}`);
      else {
        assert.equal(r.statusCode, 400, `${name}: ${r.body}`);
        const error = JSON.parse(r.body).error;
        assert.deepEqual({ code: error.code, message: error.message, param: error.param }, n.error, name);
      }
    }
  });
});

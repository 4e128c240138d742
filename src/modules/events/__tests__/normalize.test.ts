import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { correctSkew, normalizeMessage, type NormalizeOptions } from '../index.ts';

const receivedAt = new Date('2026-03-01T11:00:05.000Z');
const opts = (o: Partial<NormalizeOptions> = {}): NormalizeOptions => ({ index: 0, receivedAt, paramPrefix: '', newMessageId: () => 'generated-1', ...o });

describe('clock-skew correction (Segment: timestamp = receivedAt − (sentAt − timestamp))', () => {
  it('cancels a device clock that is one hour slow', () => {
    // Device clock: event at 09:59:30, request sent at 10:00:00 → the event happened 30 s before sending.
    // Received at 11:00:05 by the server → 11:00:05 − 30 s = 10:59:35.
    const t = correctSkew(receivedAt, new Date('2026-03-01T09:59:30Z'), new Date('2026-03-01T10:00:00Z'));
    assert.equal(t.toISOString(), '2026-03-01T10:59:35.000Z');
  });

  it('cancels a device clock that runs ahead, to the millisecond', () => {
    // Device 2 days ahead: timestamp 2026-03-03T11:00:00.250, sentAt 2026-03-03T11:00:01.000 → 750 ms before sending.
    const t = correctSkew(receivedAt, new Date('2026-03-03T11:00:00.250Z'), new Date('2026-03-03T11:00:01.000Z'));
    assert.equal(t.toISOString(), '2026-03-01T11:00:04.250Z');
  });

  it('takes the timestamp as sent without sentAt, and receivedAt without a timestamp', () => {
    assert.equal(correctSkew(receivedAt, new Date('2026-02-01T00:00:00Z'), null).toISOString(), '2026-02-01T00:00:00.000Z');
    assert.equal(correctSkew(receivedAt, null, new Date('2026-02-01T00:00:00Z')).toISOString(), receivedAt.toISOString());
  });

  it('uses the batch-level sentAt when the message has none', () => {
    const r = normalizeMessage(
      { type: 'track', userId: 'u', event: 'E', timestamp: '2026-03-01T09:59:30.000Z' },
      opts({ batchSentAt: new Date('2026-03-01T10:00:00.000Z') }),
    );
    assert.ok(r.ok);
    assert.equal(r.value.timestamp.toISOString(), '2026-03-01T10:59:35.000Z');
    assert.equal(r.value.sentAt?.toISOString(), '2026-03-01T10:00:00.000Z');
  });
});

describe('normalizeMessage', () => {
  it('accepts a track call and fills the defaults', () => {
    const r = normalizeMessage({ userId: 42, event: 'Signed Up', properties: { plan: 'pro' } }, opts({ type: 'track' }));
    assert.ok(r.ok);
    assert.equal(r.value.userId, '42', 'numeric ids become strings');
    assert.equal(r.value.messageId, 'generated-1');
    assert.equal(r.value.timestamp.toISOString(), receivedAt.toISOString());
    assert.deepEqual(r.value.properties, { plan: 'pro' });
  });

  const rejects = (raw: unknown, o: Partial<NormalizeOptions>, code: string, param: string) => {
    const r = normalizeMessage(raw, opts(o));
    assert.ok(!r.ok, `expected a rejection for ${JSON.stringify(raw)}`);
    assert.equal(r.error.code, code);
    assert.equal(r.error.param, param);
  };

  it('names the field of each problem', () => {
    rejects({ event: 'E' }, { type: 'track' }, 'parameter_missing', 'userId');
    rejects({ userId: '', anonymousId: null, event: 'E' }, { type: 'track' }, 'parameter_missing', 'userId');
    rejects({ userId: 'u' }, { type: 'track' }, 'parameter_missing', 'event');
    rejects({ userId: 'u', event: 7 }, { type: 'track' }, 'parameter_invalid', 'event');
    rejects({ userId: 'u' }, { type: 'group' }, 'parameter_missing', 'groupId');
    rejects({ userId: 'u' }, { type: 'alias', paramPrefix: 'batch[2].' }, 'parameter_missing', 'batch[2].previousId');
    rejects({ anonymousId: 'a', previousId: 'p' }, { type: 'alias' }, 'parameter_missing', 'userId');
  });

  it('validates types, timestamps and shapes', () => {
    rejects({ userId: 'u', event: 'E' }, {}, 'parameter_missing', 'type');
    rejects({ type: 'purchase', userId: 'u' }, {}, 'parameter_invalid', 'type');
    rejects({ userId: 'u', event: 'E', timestamp: 'yesterday' }, { type: 'track' }, 'parameter_invalid', 'timestamp');
    rejects({ userId: 'u', event: 'E', properties: [1, 2] }, { type: 'track' }, 'parameter_invalid', 'properties');
    rejects({ userId: { id: 1 }, event: 'E' }, { type: 'track' }, 'parameter_invalid', 'userId');
    rejects({ userId: 'u', event: 'E', context: { groupId: ['x'] } }, { type: 'track' }, 'parameter_invalid', 'context.groupId');
    rejects('not an object', { paramPrefix: 'batch[4].' }, 'parameter_invalid', 'batch[4]');
  });

  it('refuses what PostgreSQL could not store: NUL characters, lone surrogates, deep nesting', () => {
    rejects({ userId: 'u', event: 'E\u0000' }, { type: 'track' }, 'parameter_invalid', 'body');
    rejects({ userId: 'u', event: 'E', properties: { s: '\ud800' } }, { type: 'track' }, 'parameter_invalid', 'body');
    let deep: unknown = 1;
    for (let i = 0; i < 100; i++) deep = { d: deep };
    rejects({ userId: 'u', event: 'E', properties: deep }, { type: 'track' }, 'parameter_invalid', 'body');
    // An escaped backslash followed by "u0000" is ordinary text.
    assert.ok(normalizeMessage({ userId: 'u', event: 'path\\u0000' }, opts({ type: 'track' })).ok);
    assert.ok(normalizeMessage({ userId: 'u', event: 'emoji 😀' }, opts({ type: 'track' })).ok);
  });

  it('limits a message to 32 KB', () => {
    const big = { userId: 'u', event: 'E', properties: { blob: 'x'.repeat(33 * 1024) } };
    rejects(big, { type: 'track', paramPrefix: 'batch[0].' }, 'event_too_large', 'batch[0]');
    assert.ok(normalizeMessage({ userId: 'u', event: 'E', properties: { blob: 'x'.repeat(31 * 1024) } }, opts({ type: 'track' })).ok);
  });

  it('merges the batch context under the message context', () => {
    const r = normalizeMessage({ type: 'track', userId: 'u', event: 'E', context: { ip: '1.2.3.4', groupId: 'g1' } }, opts({ batchContext: { library: { name: 'x' }, ip: '9.9.9.9' } }));
    assert.ok(r.ok);
    assert.deepEqual(r.value.context, { library: { name: 'x' }, ip: '1.2.3.4', groupId: 'g1' });
    assert.equal(r.value.groupId, 'g1');
  });
});

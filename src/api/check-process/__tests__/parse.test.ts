import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_HEAD_BYTES, parseRequest } from '../parse.ts';

const check = (head: string) => Buffer.from(`${head}\r\n\r\n`, 'latin1');
const plain = 'GET /v1/entitlements/check?account=acct_1&feature=sso HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk_abc';

describe('the check process reads only plain checks', () => {
  it('reads a plain check, its key and its end, and the next request after it', () => {
    const one = check(plain);
    const buf = Buffer.concat([one, check(plain.replace('acct_1', 'acct_2'))]);
    const first = parseRequest(buf, 0);
    assert.deepEqual(first, { kind: 'check', end: one.length, authorization: 'Bearer sk_abc', account: 'acct_1', feature: 'sso' });
    assert.equal((parseRequest(buf, one.length) as { account: string }).account, 'acct_2');
    assert.equal(parseRequest(check(`${plain}\r\nConnection: keep-alive\r\nauthorization-extra: 1`), 0).kind, 'check');
    assert.equal((parseRequest(check(plain.replace('Authorization:', 'authorization:  ')), 0) as { authorization: string }).authorization, 'Bearer sk_abc');
  });

  it('waits for the rest of a head that may still be a check', () => {
    for (const n of [1, 5, 30, plain.length]) assert.deepEqual(parseRequest(Buffer.from(plain.slice(0, n), 'latin1'), 0), { kind: 'incomplete' }, `${n} bytes`);
  });

  it('leaves everything else to the HTTP server', () => {
    const others = [
      'POST /v1/track HTTP/1.1\r\nHost: x',
      plain.replace('GET', 'HEAD'),
      plain.replace('HTTP/1.1', 'HTTP/1.0'),
      plain.replace('feature=sso', 'feature=sso&x=1'),
      plain.replace('feature=sso', 'feature=s%20o'),
      plain.replace('/check?', '/check/?'),
      'GET /v1/entitlements/check?account=acct_1&feature=sso HTTP/1.1\r\nHost: x',
      `${plain}\r\nAuthorization: Bearer sk_other`,
      `${plain}\r\nContent-Length: 0`,
      `${plain}\r\nTransfer-Encoding: chunked`,
      `${plain}\r\nConnection: close`,
      `${plain}\r\nConnection: Upgrade\r\nUpgrade: websocket`,
      `${plain}\r\nExpect: 100-continue`,
      `${plain}\r\n folded`,
      `${plain}\r\nno colon`,
    ];
    for (const head of others) assert.deepEqual(parseRequest(check(head), 0), { kind: 'other' }, JSON.stringify(head));
    assert.deepEqual(parseRequest(Buffer.from('GET /healthz HT', 'latin1'), 0), { kind: 'other' }, 'a head that cannot be a check');
    assert.deepEqual(parseRequest(Buffer.from(`${plain}\r\nX: ${'a'.repeat(MAX_HEAD_BYTES)}`, 'latin1'), 0), { kind: 'other' }, 'past the head limit');
  });
});

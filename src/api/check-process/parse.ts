import { CHECK_PREFIX, plainCheckQuery } from '../check-query.ts';

/** A plain entitlement check the check process may answer: the key as sent, and the query. */
export interface CheckRequest {
  authorization: string;
  account: string;
  feature: string;
}

export type Parsed =
  /** The request's head has not all arrived. */
  | { kind: 'incomplete' }
  /** A plain check, whose bytes end at `end`. */
  | ({ kind: 'check'; end: number } & CheckRequest)
  /** Anything else: the API process's HTTP server answers it (and every later request on the connection). */
  | { kind: 'other' };

/** Node's default limit on a request's head (`--max-http-header-size`). */
export const MAX_HEAD_BYTES = 16 * 1024;

/** A request that would start with these bytes may be a check; anything else is not. */
export const CHECK_START = Buffer.from(`GET ${CHECK_PREFIX}`, 'latin1');

/**
 * Reads the HTTP/1.1 request starting at `from` in `buf`. It recognizes only the plain check,
 * written the way HTTP clients write it:
 *
 *   GET /v1/entitlements/check?account=acct_1&feature=sso HTTP/1.1\r\n
 *   Host: …\r\n
 *   Authorization: Bearer sk_…\r\n
 *   \r\n
 *
 * — HTTP/1.1, exactly one Authorization header, the plain query (`plainCheckQuery`), and no sign
 * of a body, an upgrade, an `Expect` or a `Connection: close`. Anything else, or anything it is
 * not sure of (a folded header line, a head past node's limit), is `other`: node's parser in the
 * API process reads it instead, so no request is read two ways.
 */
export function parseRequest(buf: Buffer, from: number): Parsed {
  const headEnd = buf.indexOf('\r\n\r\n', from, 'latin1');
  if (headEnd < 0) {
    const n = Math.min(buf.length - from, CHECK_START.length);
    const mayBeCheck = buf.compare(CHECK_START, 0, n, from, from + n) === 0;
    return mayBeCheck && buf.length - from <= MAX_HEAD_BYTES ? { kind: 'incomplete' } : { kind: 'other' };
  }
  if (headEnd - from > MAX_HEAD_BYTES) return { kind: 'other' };
  const lines = buf.toString('latin1', from, headEnd).split('\r\n');
  const [method, url, version, extra] = lines[0].split(' ');
  if (method !== 'GET' || version !== 'HTTP/1.1' || extra !== undefined || !url.startsWith(CHECK_PREFIX)) return { kind: 'other' };
  const q = plainCheckQuery(url);
  if (!q) return { kind: 'other' };
  let authorization: string | undefined;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    const colon = line.indexOf(':');
    if (colon <= 0 || line[0] === ' ' || line[0] === '\t') return { kind: 'other' };
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).trim();
    switch (name) {
      case 'authorization':
        if (authorization !== undefined) return { kind: 'other' };
        authorization = value;
        break;
      case 'content-length':
      case 'transfer-encoding':
      case 'expect':
      case 'upgrade':
        return { kind: 'other' };
      case 'connection':
        if (/close|upgrade/i.test(value)) return { kind: 'other' };
        break;
    }
  }
  if (!authorization) return { kind: 'other' };
  return { kind: 'check', end: headEnd + 4, authorization, account: q.account, feature: q.feature };
}

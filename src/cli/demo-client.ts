import type { FastifyInstance } from 'fastify';

/**
 * The demo company is built only through the public HTTP API: every call goes through the
 * app's full request pipeline (auth, validation, idempotency, error mapping) in process, with
 * fastify's `inject` — no socket, so seeding does not depend on a free port, and `npm start`
 * can seed before it listens.
 */
export class DemoApiError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly body: unknown,
  ) {
    const err = (body as { error?: { code?: string; message?: string } })?.error;
    super(`${method} ${path} → ${status} ${err?.code ?? ''}: ${err?.message ?? JSON.stringify(body).slice(0, 300)}`);
  }
  get code(): string | undefined {
    return (this.body as { error?: { code?: string } })?.error?.code;
  }
}

export interface DemoKeys {
  secretKey: string;
  writeKey: string;
}

export interface DemoApi {
  get<T = any>(path: string): Promise<T>;
  post<T = any>(path: string, body?: unknown, opts?: { idempotencyKey?: string }): Promise<T>;
  /** Every object of a list endpoint, following `starting_after` cursors. */
  list<T extends { id: string } = any>(path: string): Promise<T[]>;
  /** Segment-compatible ingestion with the write key (HTTP Basic, empty password). */
  ingest<T = any>(path: '/v1/batch' | '/v1/group' | '/v1/identify' | '/v1/track', body: unknown): Promise<T>;
  /** Requests made so far (for the summary). */
  readonly calls: number;
}

export function demoApi(app: FastifyInstance, keys: DemoKeys): DemoApi {
  let calls = 0;
  const send = async (method: 'GET' | 'POST', path: string, authorization: string, body?: unknown, extra: Record<string, string> = {}) => {
    calls += 1;
    const res = await app.inject({
      method,
      url: path,
      headers: { authorization, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...extra },
      payload: body === undefined ? undefined : JSON.stringify(body),
    });
    let parsed: unknown = res.body;
    try {
      parsed = JSON.parse(res.body);
    } catch {
      /* not JSON */
    }
    if (res.statusCode >= 300) throw new DemoApiError(method, path, res.statusCode, parsed);
    return parsed as any;
  };
  const bearer = `Bearer ${keys.secretKey}`;
  const basic = `Basic ${Buffer.from(`${keys.writeKey}:`).toString('base64')}`;
  const api: DemoApi = {
    get: (path) => send('GET', path, bearer),
    post: (path, body = {}, opts = {}) => send('POST', path, bearer, body, opts.idempotencyKey ? { 'idempotency-key': opts.idempotencyKey } : {}),
    async list(path) {
      const out: any[] = [];
      const sep = path.includes('?') ? '&' : '?';
      let after: string | undefined;
      for (;;) {
        const page = await send('GET', `${path}${sep}limit=100${after ? `&starting_after=${encodeURIComponent(after)}` : ''}`, bearer);
        out.push(...page.data);
        if (!page.has_more || page.data.length === 0) return out;
        after = page.data[page.data.length - 1].id;
      }
    },
    ingest: (path, body) => send('POST', path, basic, body),
    get calls() {
      return calls;
    },
  };
  return api;
}

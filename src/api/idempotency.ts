import { hash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Deps } from '../context.ts';
import { rows, sql } from '../db/sql.ts';
import { AppError } from '../kernel/errors.ts';

declare module 'fastify' {
  interface FastifyRequest {
    idempotency?: { key: string; workspaceId: string; replayed: boolean };
  }
}

/**
 * Card numbers and CVCs never reach the stored hash (a sha256 of a 16-digit number is easy to
 * reverse by brute force): they are reduced to their last four digits and length first.
 */
const SENSITIVE = new Set(['number', 'cvc', 'cvv']);

/** Stable JSON: object keys sorted, so {"a":1,"b":2} and {"b":2,"a":1} are the same request. */
function canonical(v: unknown, key = ''): string {
  if (SENSITIVE.has(key) && (typeof v === 'string' || typeof v === 'number')) {
    const digits = String(v).replace(/\D/g, '');
    return JSON.stringify(`redacted:${digits.length}:${key === 'number' ? digits.slice(-4) : ''}`);
  }
  if (Array.isArray(v)) return `[${v.map((x) => canonical(x)).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v as object)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k], k)}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/**
 * `Idempotency-Key` on every POST, as Stripe does it: the first request claims the key (a row
 * with a unique (workspace, key)); its response is stored when sent; a retry with the same key
 * and the same request gets the stored response; with a different request, a 409. A 5xx frees
 * the key so the client can retry. Keys are kept 24 hours.
 * The hooks are attached to the POST routes only (registered before the routes: an onRoute hook
 * sees the routes added after it), so other requests do not run them at all.
 */
export function registerIdempotency(app: FastifyInstance, deps: Deps) {
  const preHandler = async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.method !== 'POST') return;
    const header = request.headers['idempotency-key'];
    if (header === undefined || !request.auth) return;
    const key = Array.isArray(header) ? header[0] : header;
    if (!key || key.length > 255 || !/^[\x21-\x7e]+$/.test(key)) throw new AppError({ code: 'idempotency_key_invalid', param: 'Idempotency-Key' });
    const workspaceId = request.auth.workspace.id;
    const path = request.url.split('?')[0];
    const requestHash = hash('sha256', `${request.method} ${path}\n${canonical(request.body ?? null)}`, 'hex');
    const claimed = await rows(
      deps.database.db,
      sql`INSERT INTO idempotency_keys (workspace_id, key, request_hash, created_at)
          VALUES (${workspaceId}, ${key}, ${requestHash}, ${deps.clock.now()})
          ON CONFLICT (workspace_id, key) DO NOTHING RETURNING key`,
    );
    if (claimed.length > 0) {
      request.idempotency = { key, workspaceId, replayed: false };
      return;
    }
    const [prior] = await rows<{ request_hash: string; response_status: number | null; response_body: string | null }>(
      deps.database.db,
      sql`SELECT request_hash, response_status, response_body FROM idempotency_keys WHERE workspace_id = ${workspaceId} AND key = ${key}`,
    );
    if (!prior) throw new AppError({ code: 'idempotency_key_in_use' });
    if (prior.request_hash !== requestHash) throw new AppError({ code: 'idempotency_key_reused', param: 'Idempotency-Key' });
    if (prior.response_status === null) throw new AppError({ code: 'idempotency_key_in_use' });
    request.idempotency = { key, workspaceId, replayed: true };
    return reply
      .code(Number(prior.response_status))
      .header('idempotent-replayed', 'true')
      .type('application/json')
      .serializer((p: unknown) => p as string)
      .send(prior.response_body ?? '');
  };

  const onSend = async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    const idem = request.idempotency;
    if (!idem || idem.replayed) return payload;
    if (reply.statusCode >= 500) {
      await deps.database.db.execute(sql`DELETE FROM idempotency_keys WHERE workspace_id = ${idem.workspaceId} AND key = ${idem.key}`);
    } else {
      const body = typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8') : JSON.stringify(payload ?? null);
      await deps.database.db.execute(
        sql`UPDATE idempotency_keys SET response_status = ${reply.statusCode}, response_body = ${body}
            WHERE workspace_id = ${idem.workspaceId} AND key = ${idem.key}`,
      );
    }
    return payload;
  };

  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (!methods.includes('POST')) return;
    // First among the route's own hooks, as a global hook would be: a replay runs none of them.
    route.preHandler = [preHandler, ...[route.preHandler ?? []].flat()];
    route.onSend = [onSend, ...[route.onSend ?? []].flat()];
  });
}

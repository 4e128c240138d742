import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Ctx, Deps } from '../context.ts';
import { AppError } from '../kernel/errors.ts';
import { authenticate, authenticateCached, scopeAllows, type Authenticated, type Scope } from '../modules/workspaces/index.ts';

export type AuthMode = 'secret' | 'ingest' | 'none';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** 'secret' (default under /v1): Bearer sk_…; 'ingest': Basic wk_… or sk_…; 'none': public. */
    auth?: AuthMode;
    /** Scope a secret key needs; default read for GET, write otherwise. */
    scope?: Scope;
  }
  interface FastifyRequest {
    auth?: Authenticated;
  }
}

/** Reads "Bearer sk_…" or, for ingestion, Segment's "Basic base64(wk_…:)" (or, without the header, a `writeKey` in the body: `bodyKey`). */
function extractKey(header: string | undefined, mode: AuthMode): string | undefined {
  if (!header) return undefined;
  const [scheme, value] = header.split(/\s+/, 2);
  if (!value) return undefined;
  if (/^bearer$/i.test(scheme)) return value.trim();
  if (/^basic$/i.test(scheme)) {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const user = decoded.includes(':') ? decoded.slice(0, decoded.indexOf(':')) : decoded;
    // Stripe-style clients also send the secret key as the Basic user name; a write key sent this
    // way to the management API is recognised, so the answer is the precise 403, not a 401.
    return mode === 'ingest' || user.startsWith('sk_') || user.startsWith('wk_') ? user : undefined;
  }
  return undefined;
}

/**
 * Who may make this request: the key from the Authorization header, its workspace, and a check
 * that a secret key has the scope the request needs (`read` for GET and HEAD, `write` otherwise,
 * unless the route names one). Throws the catalogue's AppError (api_key_missing, api_key_invalid,
 * write_key_not_allowed, api_key_scope). Shared by the hook below and the entitlement-check fast
 * path (`checkFastPath` in routes/entitlements.ts), so both answer the same keys the same way.
 */
export async function authorize(deps: Deps, req: AuthRequest): Promise<Authenticated> {
  const raw = keyOf(req);
  return allowed(await authenticate(deps, raw), req);
}

/**
 * `authorize` when the key's lookup is cached: synchronous, without a promise (the entitlement
 * check's hot path); undefined when it has to wait for the database (then call `authorize`).
 * Throws the same errors as `authorize`.
 */
export function authorizeCached(deps: Deps, req: AuthRequest): Authenticated | undefined {
  const auth = authenticateCached(deps, keyOf(req));
  return auth && allowed(auth, req);
}

interface AuthRequest {
  authorization: string | undefined;
  method: string;
  mode: AuthMode;
  scope?: Scope;
  bodyKey?: string;
}

function keyOf(req: AuthRequest): string {
  const raw = extractKey(req.authorization, req.mode) ?? (req.mode === 'ingest' ? req.bodyKey : undefined);
  if (!raw) throw new AppError({ code: 'api_key_missing' });
  return raw;
}

function allowed(auth: Authenticated, req: AuthRequest): Authenticated {
  if (auth.key.kind === 'write' && req.mode !== 'ingest') throw new AppError({ code: 'write_key_not_allowed' });
  if (auth.key.kind === 'secret') {
    const needed: Scope = req.scope ?? (req.method === 'GET' || req.method === 'HEAD' ? 'read' : 'write');
    if (!scopeAllows(auth.key.scopes, needed)) {
      throw new AppError({ code: 'api_key_scope', message: `This request needs the '${needed}' scope; the key has ${auth.key.scopes.map((s) => `'${s}'`).join(', ') || 'none'}.` });
    }
  }
  return auth;
}

export function authHook(deps: Deps) {
  return async function onRequest(request: FastifyRequest, _reply: FastifyReply) {
    const config = request.routeOptions.config;
    const mode: AuthMode = config?.auth ?? (request.url.startsWith('/v1/') ? 'secret' : 'none');
    if (mode === 'none') return;
    // Segment's other way: no Authorization header and the write key in the body (`writeKey`),
    // checked by the ingestion routes once the body is parsed (routes/ingest.ts).
    if (mode === 'ingest' && !request.headers.authorization) return;
    request.auth = await authorize(deps, { authorization: request.headers.authorization, method: request.method, mode, scope: config?.scope });
  };
}

/** The command context for an authenticated request: workspace, the instant read once, actor. */
export function ctxOf(deps: Deps, request: FastifyRequest): Ctx {
  const auth = request.auth;
  if (!auth) throw new Error('ctxOf() on an unauthenticated route');
  return ctxFor(deps, auth, request.id);
}

export function ctxFor(deps: Deps, auth: Authenticated, requestId: string): Ctx {
  return { deps, workspaceId: auth.workspace.id, asOf: auth.asOf, actor: { type: 'api_key', id: auth.key.id }, requestId };
}

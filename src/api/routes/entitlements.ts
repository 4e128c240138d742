import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../context.ts';
import type { Authenticated } from '../../modules/workspaces/index.ts';
import { accountUsage, checkEntitlement, checkEntitlementNow, clearEntitlementCache, invalidateWorkspace, type EntitlementCheck } from '../../modules/entitlements/index.ts';
import { authorize, authorizeCached, ctxFor, ctxOf } from '../auth.ts';
import { CHECK_PREFIX, plainCheckQuery } from '../check-query.ts';
import { errorResponses, IdParam } from '../schemas.ts';

const Check = z
  .object({
    object: z.literal('entitlement_check'),
    account: z.string(),
    feature: z.string(),
    allowed: z.boolean(),
    type: z.enum(['boolean', 'limit']).nullable(),
    limit: z.number().nullable(),
    used: z.string().nullable(),
    remaining: z.string().nullable(),
    percent_used: z.string().nullable(),
    period: z.object({ start: z.string(), end: z.string() }).nullable(),
    subscription: z.string().nullable(),
    plan: z.string().nullable(),
    reason: z.string().nullable(),
  })
  .meta({ id: 'EntitlementCheck' });

/** The check's JSON object, the same on both paths (this route and `checkFastPath`). */
export const checkJson = (check: EntitlementCheck) => ({ object: 'entitlement_check' as const, ...check });

export function entitlementRoutes(app: FastifyInstance, deps: Deps) {
  /*
   * Entitlement answers are cached in this process (modules/entitlements/entitlements.service.ts)
   * and in its check process (api/check-process/). Ingestion refreshes the accounts it touched
   * itself; any other write through this API — a subscription, a plan, a merge, a test-clock
   * advance, a hosted checkout — drops the cached answers of its workspace, in both, before its
   * response is sent, so the next check reads them afresh.
   * (Writes by other processes are bounded by the cache's TTL; see the service.)
   */
  app.addHook('onSend', (request, _reply, payload, done) => {
    if (request.method !== 'GET' && request.method !== 'HEAD' && request.method !== 'OPTIONS' && request.routeOptions.config?.auth !== 'ingest') {
      // hosted pages: no key names the workspace; rare enough to forget everything
      const dropped = request.auth ? invalidateWorkspace(request.auth.workspace.id) : clearEntitlementCache();
      dropped.then(() => done(null, payload), done);
      return;
    }
    done(null, payload);
  });
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get(
    '/v1/entitlements/check',
    {
      schema: {
        tags: ['Usage'],
        summary: 'May this account use this feature? How much is left this period?',
        querystring: z.object({ account: z.string().min(1), feature: z.string().min(1) }),
        response: { 200: Check, ...errorResponses },
      },
      // The hot path (thousands of checks a second): the answer is built from the typed
      // EntitlementCheck, so it is written with JSON.stringify instead of being re-parsed by zod
      // on the way out. The schema above still documents it (OpenAPI).
      serializerCompiler: () => (data) => JSON.stringify(data),
    },
    async (request) => checkJson(await checkEntitlement(ctxOf(deps, request), request.query.account, request.query.feature)),
  );
  r.get(
    '/v1/accounts/:id/usage',
    {
      schema: {
        tags: ['Usage'],
        summary: "Current-period usage of each metered feature of the account's plan, against its limit",
        params: IdParam,
        response: {
          200: z.object({ object: z.literal('account_usage'), account: z.string(), subscription: z.string().nullable(), plan: z.string().nullable(), data: z.array(Check) }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const u = await accountUsage(ctxOf(deps, request), request.params.id);
      return { object: 'account_usage' as const, account: u.account, subscription: u.subscription, plan: u.plan, data: u.items.map((i) => ({ object: 'entitlement_check' as const, ...i })) };
    },
  );
}

/**
 * The check route's hot path, in front of fastify (app.ts installs it in the HTTP server, before
 * fastify's routing): thousands of checks a second, where fastify's routing, hooks, request and
 * reply objects and per-request logger cost about as much as the check itself. It answers only the
 * plain successful case — `GET /v1/entitlements/check?account=…&feature=…` with nothing to decode,
 * no body, a Bearer key that may read, an account and feature that exist — through the same
 * functions as the route above: `authorize` (auth.ts, the auth hook's), `checkEntitlement` (with
 * `checkEntitlementNow` first: a fully cached answer is written in the turn that parsed the
 * request), `checkJson`, and the app's request ids. Anything else — another shape of query, a
 * HEAD, a missing or refused key, an unknown account, a failure — is handed to fastify untouched
 * (nothing has been written), which answers it as it answers every request: the error envelope
 * with its request id, or the same 200. Returns false when the request is not its to answer.
 */
export function checkFastPath(deps: Deps, nextRequestId: () => string, isClosing: () => boolean) {
  const send = (res: ServerResponse, id: string, check: EntitlementCheck) => {
    const body = JSON.stringify(checkJson(check));
    res.writeHead(200, ['request-id', id, 'content-type', 'application/json; charset=utf-8', 'content-length', String(Buffer.byteLength(body))]);
    res.end(body);
  };
  return (req: IncomingMessage, res: ServerResponse, fallback: (req: IncomingMessage, res: ServerResponse) => void): boolean => {
    const url = req.url;
    if (req.method !== 'GET' || !url?.startsWith(CHECK_PREFIX)) return false;
    const authorization = req.headers.authorization;
    if (!authorization || req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined || isClosing()) return false;
    const q = plainCheckQuery(url);
    if (!q) return false;
    const who = { authorization, method: 'GET', mode: 'secret' } as const;
    // The common case, a cached key and a cached answer, is answered in this turn without a
    // promise: less CPU per check, and less garbage for the young generation's pauses, which
    // hold the checks arriving meanwhile (`bench entitlements` prints them).
    let auth: Authenticated | undefined;
    let id = '';
    let now: EntitlementCheck | undefined;
    try {
      auth = authorizeCached(deps, who);
      if (auth) {
        id = nextRequestId();
        now = checkEntitlementNow(ctxFor(deps, auth, id), q.account, q.feature);
      }
    } catch {
      return false; // a refused key: fastify answers it (nothing was written)
    }
    if (now) {
      send(res, id, now);
      return true;
    }
    const answered = auth
      ? checkEntitlement(ctxFor(deps, auth, id), q.account, q.feature).then((check) => send(res, id, check))
      : authorize(deps, who).then((found) => {
          const rid = nextRequestId();
          const ctx = ctxFor(deps, found, rid);
          const check = checkEntitlementNow(ctx, q.account, q.feature);
          if (check) return send(res, rid, check);
          return checkEntitlement(ctx, q.account, q.feature).then((c) => send(res, rid, c));
        });
    answered.catch(() => {
      if (!res.headersSent && !res.writableEnded) fallback(req, res);
    });
    return true;
  };
}

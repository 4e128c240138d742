import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../context.ts';
import { accountUsage, checkEntitlement, clearEntitlementCache, invalidateWorkspace } from '../../modules/entitlements/index.ts';
import { ctxOf } from '../auth.ts';
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

export function entitlementRoutes(app: FastifyInstance, deps: Deps) {
  /*
   * Entitlement answers are cached in this process (modules/entitlements/entitlements.service.ts).
   * Ingestion invalidates the accounts it touched itself; any other write through this API — a
   * subscription, a plan, a merge, a test-clock advance, a hosted checkout — drops the cached
   * answers of its workspace before its response is sent, so the next check reads them afresh.
   * (Writes by other processes are bounded by the cache's TTL; see the service.)
   */
  app.addHook('onSend', (request, _reply, payload, done) => {
    if (request.method !== 'GET' && request.method !== 'HEAD' && request.method !== 'OPTIONS' && request.routeOptions.config?.auth !== 'ingest') {
      if (request.auth) invalidateWorkspace(request.auth.workspace.id);
      else clearEntitlementCache(); // hosted pages: no key names the workspace; rare enough to forget everything
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
    async (request) => ({ object: 'entitlement_check' as const, ...(await checkEntitlement(ctxOf(deps, request), request.query.account, request.query.feature)) }),
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

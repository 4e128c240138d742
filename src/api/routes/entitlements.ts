import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../context.ts';
import { accountUsage, checkEntitlement } from '../../modules/entitlements/index.ts';
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

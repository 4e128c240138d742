import Fastify, { type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import scalar from '@scalar/fastify-api-reference';
import { jsonSchemaTransform, jsonSchemaTransformObject, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { Deps } from '../context.ts';
import type { JobRunner } from '../jobs/runner.ts';
import { newId } from '../kernel/ids.ts';
import { authHook } from './auth.ts';
import { errorHandler, sendError } from './errors.ts';
import { registerIdempotency } from './idempotency.ts';
import { routeFiles } from './routes/index.ts';

declare module 'fastify' {
  interface FastifyInstance {
    routeList: Array<{ method: string; url: string; hidden: boolean }>;
  }
}

export interface AppOptions {
  logLevel?: string;
}

/** The HTTP API: parse (zod) → authenticate → idempotency → call the service → map the result. */
export async function buildApp(deps: Deps, runner: JobRunner, opts: AppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: opts.logLevel && opts.logLevel !== 'silent' ? { level: opts.logLevel } : false,
    genReqId: () => newId('req'),
    bodyLimit: 1024 * 1024,
    trustProxy: true,
    routerOptions: { ignoreTrailingSlash: true },
  });
  // Every route, for the OpenAPI completeness and tenant-isolation tests.
  const routeList: Array<{ method: string; url: string; hidden: boolean }> = [];
  app.decorate('routeList', routeList);
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) routeList.push({ method, url: route.url, hidden: Boolean((route.schema as { hide?: boolean } | undefined)?.hide) });
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((request, reply) => sendError(reply, request, 'route_not_found', `No such endpoint: ${request.method} ${request.url.split('?')[0]}.`));
  app.addHook('onRequest', async (request, reply) => {
    reply.header('request-id', request.id);
  });
  app.addHook('onRequest', authHook(deps));
  registerIdempotency(app, deps);
  // A change may have enqueued work (outbox deliveries): wake the local worker instead of waiting for its poll.
  app.addHook('onResponse', async (request) => {
    if (request.method !== 'GET') runner.notify();
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Tandem API',
        version: '0.1.0',
        description:
          'One revenue engine for self-serve and sales-led growth. Money is integer minor units plus a currency; timestamps are ISO 8601 UTC; lists are cursor-paginated; every POST accepts an Idempotency-Key.',
      },
      components: {
        securitySchemes: {
          secretKey: { type: 'http', scheme: 'bearer', description: 'A secret key (sk_…) of the workspace' },
          writeKey: { type: 'http', scheme: 'basic', description: 'Segment-style: the write key (wk_…) as user name, empty password' },
        },
      },
      security: [{ secretKey: [] }],
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });

  for (const routes of routeFiles) routes(app, deps, runner);

  await app.register(scalar, { routePrefix: '/docs', configuration: { url: '/openapi.json', title: 'Tandem API reference' } });
  return app;
}

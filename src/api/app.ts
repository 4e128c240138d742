import http from 'node:http';
import Fastify, { type FastifyInstance, type FastifyRequest, type FastifyServerFactory } from 'fastify';
import swagger from '@fastify/swagger';
import scalar from '@scalar/fastify-api-reference';
import { jsonSchemaTransform, jsonSchemaTransformObject, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { Deps } from '../context.ts';
import type { JobRunner } from '../jobs/runner.ts';
import { requestIds } from './request-ids.ts';
import { authHook } from './auth.ts';
import { errorHandler, sendError } from './errors.ts';
import { registerIdempotency } from './idempotency.ts';
import { checkFastPath } from './routes/entitlements.ts';
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
  const nextRequestId = requestIds();
  let closing = false;
  const fastCheck = checkFastPath(deps, nextRequestId, () => closing);
  /*
   * The HTTP server is node's, set up as fastify sets up its own (timeouts), with the entitlement
   * check's hot path in front of fastify's routing: a plain successful check is answered there
   * (see checkFastPath); every other request, and any check it does not answer, goes to fastify.
   * In-process tests (app.inject) go to fastify directly; tests/http/entitlements-fast-path.test.ts
   * compares both paths over a real socket.
   */
  const serverFactory: FastifyServerFactory = (handler, options) => {
    const o = options as { keepAliveTimeout?: number; requestTimeout?: number; connectionTimeout?: number; maxRequestsPerSocket?: number | null };
    const server = http.createServer((req, res) => {
      if (!fastCheck(req, res, handler)) handler(req, res);
    });
    server.keepAliveTimeout = o.keepAliveTimeout ?? 72_000;
    server.requestTimeout = o.requestTimeout ?? 0;
    server.setTimeout(o.connectionTimeout ?? 0);
    if (o.maxRequestsPerSocket) server.maxRequestsPerSocket = o.maxRequestsPerSocket;
    return server;
  };
  const app = Fastify({
    logger: opts.logLevel && opts.logLevel !== 'silent' ? { level: opts.logLevel } : false,
    serverFactory,
    genReqId: nextRequestId,
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
  // Fastify answers requests that arrive while it closes with 503; so does the fast path: it steps aside.
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.setNotFoundHandler((request, reply) => sendError(reply, request, 'route_not_found', `No such endpoint: ${request.method} ${request.url.split('?')[0]}.`));
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('request-id', request.id);
    done();
  });
  app.addHook('onRequest', authHook(deps));
  // Hooks that only writes need are attached to the routes that take writes (by the onRoute hooks
  // below, which see every route added after them): a GET — thousands of entitlement checks a
  // second — runs none of them.
  registerIdempotency(app, deps);
  // A change may have enqueued work (outbox deliveries): wake the local worker instead of waiting for its poll.
  const notify = (request: FastifyRequest, _reply: unknown, done: () => void) => {
    if (request.method !== 'GET') runner.notify();
    done();
  };
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (methods.some((m) => m !== 'GET' && m !== 'HEAD')) route.onResponse = [...[route.onResponse ?? []].flat(), notify];
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

import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../context.ts';
import {
  createApiKey,
  getWorkspace,
  listApiKeys,
  listAuditLog,
  revokeApiKey,
  SCOPES,
  type ApiKey,
  type AuditEntry,
} from '../../modules/workspaces/index.ts';
import { ctxOf } from '../auth.ts';
import { errorResponses, IdParam, iso, listOf, page, PageQuery, Timestamp } from '../schemas.ts';

const WorkspaceSchema = z
  .object({
    id: z.string(),
    object: z.literal('workspace'),
    name: z.string(),
    sandbox: z.boolean(),
    test_clock: z.object({ frozen_time: Timestamp, status: z.enum(['ready', 'advancing']) }).nullable(),
    created_at: Timestamp,
  })
  .meta({ id: 'Workspace' });

const ApiKeySchema = z
  .object({
    id: z.string(),
    object: z.literal('api_key'),
    kind: z.enum(['secret', 'write']),
    name: z.string(),
    scopes: z.array(z.enum(['read', 'write', 'admin'])),
    redacted: z.string(),
    created_at: Timestamp,
    revoked_at: Timestamp.nullable(),
  })
  .meta({ id: 'ApiKey' });

const AuditSchema = z
  .object({
    id: z.string(),
    object: z.literal('audit_entry'),
    actor: z.object({ type: z.string(), id: z.string().nullable() }),
    action: z.string(),
    entity: z.object({ type: z.string(), id: z.string() }),
    before: z.unknown(),
    after: z.unknown(),
    request_id: z.string().nullable(),
    created_at: Timestamp,
  })
  .meta({ id: 'AuditEntry' });

const keyOut = (k: ApiKey) => ({
  id: k.id,
  object: 'api_key' as const,
  kind: k.kind,
  name: k.name,
  scopes: k.scopes,
  redacted: k.redacted,
  created_at: iso(k.createdAt)!,
  revoked_at: iso(k.revokedAt),
});

const auditOut = (a: AuditEntry) => ({
  id: a.id,
  object: 'audit_entry' as const,
  actor: { type: a.actorType, id: a.actorId },
  action: a.action,
  entity: { type: a.entityType, id: a.entityId },
  before: a.before,
  after: a.after,
  request_id: a.requestId,
  created_at: iso(a.createdAt)!,
});

export function workspaceRoutes(app: FastifyInstance, deps: Deps) {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get('/v1/workspace', { schema: { tags: ['Workspace'], summary: 'The workspace of the calling key', response: { 200: WorkspaceSchema, ...errorResponses } } }, async (request) => {
    const ws = await getWorkspace(deps, request.auth!.workspace.id);
    return {
      id: ws.id,
      object: 'workspace' as const,
      name: ws.name,
      sandbox: ws.sandbox,
      test_clock: ws.sandbox && ws.testClockTime ? { frozen_time: iso(ws.testClockTime)!, status: ws.testClockStatus } : null,
      created_at: iso(ws.createdAt)!,
    };
  });

  r.post(
    '/v1/api_keys',
    {
      config: { scope: 'admin' },
      schema: {
        tags: ['Workspace'],
        summary: 'Create an API key (the secret is returned once)',
        body: z.object({
          name: z.string().min(1).max(200),
          kind: z.enum(['secret', 'write']).default('secret'),
          scopes: z.array(z.enum(SCOPES as ['read', 'write', 'admin'])).min(1).default(['read']),
        }),
        response: { 200: ApiKeySchema.extend({ secret: z.string() }), ...errorResponses },
      },
    },
    async (request) => {
      const { key, secret } = await createApiKey(ctxOf(deps, request), request.body);
      return { ...keyOut(key), secret };
    },
  );

  r.get(
    '/v1/api_keys',
    { config: { scope: 'admin' }, schema: { tags: ['Workspace'], summary: 'List API keys', querystring: PageQuery, response: { 200: listOf(ApiKeySchema), ...errorResponses } } },
    async (request) => {
      const rows = await listApiKeys(ctxOf(deps, request), { limit: request.query.limit, startingAfter: request.query.starting_after });
      return page(rows, request.query.limit, keyOut);
    },
  );

  r.delete(
    '/v1/api_keys/:id',
    { config: { scope: 'admin' }, schema: { tags: ['Workspace'], summary: 'Revoke an API key', params: IdParam, response: { 200: ApiKeySchema, ...errorResponses } } },
    async (request) => keyOut(await revokeApiKey(ctxOf(deps, request), request.params.id)),
  );

  r.get(
    '/v1/audit_log',
    {
      config: { scope: 'admin' },
      schema: {
        tags: ['Workspace'],
        summary: 'The audit log: one entry per change, newest first',
        querystring: PageQuery.extend({ entity_id: z.string().optional() }),
        response: { 200: listOf(AuditSchema), ...errorResponses },
      },
    },
    async (request) => {
      const q = request.query;
      const rows = await listAuditLog(ctxOf(deps, request), { limit: q.limit, startingAfter: q.starting_after, entityId: q.entity_id });
      return page(rows, q.limit, auditOut);
    },
  );
}

import { createGunzip } from 'node:zlib';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../context.ts';
import { AppError } from '../../kernel/errors.ts';
import { identityResolver } from '../../modules/accounts/index.ts';
import { ingestBatch, ingestSingle, INGEST_BODY_LIMIT_BYTES, MAX_BATCH_BYTES, MAX_EVENT_BYTES, type MessageType } from '../../modules/events/index.ts';
import { authorize, ctxOf } from '../auth.ts';
import { errorResponses } from '../schemas.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Ingestion routes: the size limit of the request body (checked before parsing: a clear 400, not a 413). */
    ingestMaxBytes?: number;
  }
  interface FastifyRequest {
    /** Size of the raw ingestion body in bytes. */
    ingestBytes?: number;
    /** The JSON text the ingestion body was parsed from (the service scans it once instead of serializing each message). */
    ingestJson?: string;
  }
}

const id = z.union([z.string(), z.number()]);
const json = z.record(z.string(), z.unknown());
const common = {
  messageId: z.string().optional().describe('Deduplicates per workspace; a message without one gets a random id (and cannot be deduplicated on retry).'),
  userId: id.optional().describe('userId or anonymousId is required'),
  anonymousId: id.optional(),
  timestamp: z.string().optional().describe('ISO 8601; corrected for clock skew when sentAt is given: receivedAt − (sentAt − timestamp)'),
  sentAt: z.string().optional(),
  context: json.optional().describe('context.groupId ties the message to an account; context.traits (email, company.id) helps resolve it'),
  properties: json.optional(),
  traits: json.optional(),
};
const Message = z
  .looseObject({
    type: z.enum(['track', 'identify', 'group', 'page', 'screen', 'alias']).optional().describe('required in a batch'),
    ...common,
    event: z.string().optional().describe('track: required'),
    groupId: id.optional().describe('group: required'),
    name: z.string().optional().describe('page/screen name'),
    previousId: id.optional().describe('alias: required'),
  })
  .meta({ id: 'SegmentMessage' });
const Rejected = z.object({ index: z.number().int(), messageId: z.string().nullable(), code: z.string(), message: z.string(), param: z.string().nullable() });
const Success = z.object({ success: z.literal(true), rejected: z.array(Rejected).optional() }).meta({ id: 'IngestResponse' });
const noValidation = () => (data: unknown) => ({ value: data });

const SINGLE: Array<{ type: MessageType; summary: string }> = [
  { type: 'track', summary: 'Record an action a user performed (Segment track)' },
  { type: 'identify', summary: 'Tie a user to their traits (Segment identify)' },
  { type: 'group', summary: 'Associate a user with an account (Segment group)' },
  { type: 'page', summary: 'Record a page view (Segment page)' },
  { type: 'screen', summary: 'Record a mobile screen view (Segment screen)' },
  { type: 'alias', summary: 'Merge two user identities (Segment alias)' },
];

/**
 * The Segment-compatible HTTP API. Basic auth with the write key (or a secret key). Bodies are
 * application/json or text/plain JSON, measured raw: over 32 KB (single call) or 500 KB (batch)
 * is a 400. Validation is the events module's (per message, so a batch keeps its valid messages);
 * the zod schemas here document the shapes. 200 `{success: true}` once the rows are committed.
 */
export function ingestRoutes(app: FastifyInstance, deps: Deps) {
  app.register(async (scope) => {
    scope.removeContentTypeParser(['application/json', 'text/plain']);
    scope.addContentTypeParser(['application/json', 'text/plain'], { parseAs: 'buffer', bodyLimit: INGEST_BODY_LIMIT_BYTES }, (request, body, done) => {
      const buf = body as Buffer;
      request.ingestBytes = buf.length;
      const max = request.routeOptions.config.ingestMaxBytes ?? INGEST_BODY_LIMIT_BYTES;
      if (buf.length > max) return done(tooLarge(request, buf.length), undefined);
      try {
        const text = buf.toString('utf8');
        request.ingestJson = text;
        done(null, JSON.parse(text));
      } catch (e) {
        done(new AppError({ code: 'body_invalid_json', message: `The request body is not valid JSON: ${(e as Error).message}` }), undefined);
      }
    });
    // A declared length over the limit is refused before the body is read. Bodies sent with
    // Content-Encoding: gzip (some Segment libraries can) are inflated; the limits apply to the
    // inflated JSON, and the 1 MB body limit still caps what is inflated (no zip bombs).
    scope.addHook('preParsing', async (request: FastifyRequest, _reply, payload) => {
      const max = request.routeOptions.config.ingestMaxBytes;
      const declared = Number(request.headers['content-length'] ?? 0);
      if (max && declared > max) throw tooLarge(request, declared);
      if (!/^\s*(x-)?gzip\s*$/i.test(String(request.headers['content-encoding'] ?? ''))) return payload;
      const inflated = createGunzip() as ReturnType<typeof createGunzip> & { receivedEncodedLength: number };
      inflated.receivedEncodedLength = 0;
      payload.on('data', (chunk: Buffer) => (inflated.receivedEncodedLength += chunk.length));
      payload.on('error', (e) => inflated.destroy(e));
      return payload.pipe(inflated);
    });

    // Segment's writeKey authentication: a request without an Authorization header names its key
    // in the body, `writeKey` (a batch's, or one every message of the batch carries alike).
    scope.addHook('preHandler', async (request: FastifyRequest) => {
      if (request.auth) return;
      request.auth = await authorize(deps, { authorization: undefined, method: request.method, mode: 'ingest', bodyKey: bodyWriteKey(request.body) });
    });

    const r = scope.withTypeProvider<ZodTypeProvider>();
    for (const { type, summary } of SINGLE) {
      r.post(
        `/v1/${type}`,
        {
          config: { auth: 'ingest', ingestMaxBytes: MAX_EVENT_BYTES },
          validatorCompiler: noValidation,
          schema: { tags: ['Ingestion'], summary, security: [{ writeKey: [] }, { secretKey: [] }], body: Message, response: { 200: Success, ...errorResponses } },
        },
        async (request) => {
          await ingestSingle(ctxOf(deps, request), { type, body: request.body, bytes: request.ingestBytes ?? 0, json: takeJson(request) }, identityResolver);
          return { success: true as const };
        },
      );
    }

    r.post(
      '/v1/batch',
      {
        config: { auth: 'ingest', ingestMaxBytes: MAX_BATCH_BYTES },
        validatorCompiler: noValidation,
        schema: {
          tags: ['Ingestion'],
          summary: 'Send many messages at once (Segment batch); valid messages are stored, invalid ones listed in `rejected`',
          security: [{ writeKey: [] }, { secretKey: [] }],
          body: z.object({ batch: z.array(Message), context: json.optional().describe('merged into each message context'), sentAt: z.string().optional() }),
          response: { 200: Success, ...errorResponses },
        },
      },
      async (request) => {
        const result = await ingestBatch(ctxOf(deps, request), { body: request.body, bytes: request.ingestBytes ?? 0, json: takeJson(request) }, identityResolver);
        return result.rejected.length ? { success: true as const, rejected: result.rejected } : { success: true as const };
      },
    );
  });
}

/** The body's `writeKey`: its own, or the one every message of a batch carries (none when they differ). */
function bodyWriteKey(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const own = (body as { writeKey?: unknown }).writeKey;
  if (typeof own === 'string') return own;
  const batch = (body as { batch?: unknown }).batch;
  if (!Array.isArray(batch) || batch.length === 0) return undefined;
  const keys = new Set(batch.map((m) => (typeof m === 'object' && m !== null ? (m as { writeKey?: unknown }).writeKey : undefined)));
  const [only] = keys;
  return keys.size === 1 && typeof only === 'string' ? only : undefined;
}

/** The parsed text, for the service's one scan of it; not kept on the request (up to 500 KB) while the rows are stored. */
function takeJson(request: FastifyRequest): string | undefined {
  const json = request.ingestJson;
  request.ingestJson = undefined;
  return json;
}

function tooLarge(request: FastifyRequest, bytes: number): AppError {
  const batch = request.routeOptions.config.ingestMaxBytes === MAX_BATCH_BYTES;
  return new AppError(
    batch
      ? { code: 'batch_too_large', message: `The request body is ${bytes} bytes; a batch may be at most ${MAX_BATCH_BYTES} bytes (500 KB).` }
      : { code: 'event_too_large', message: `The request body is ${bytes} bytes; an event may be at most ${MAX_EVENT_BYTES} bytes (32 KB).` },
  );
}

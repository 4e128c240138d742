import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import { AppError, ERROR_CATALOGUE, type ErrorCode } from '../kernel/errors.ts';

export function sendError(reply: FastifyReply, request: FastifyRequest, code: ErrorCode, message?: string, param?: string | null) {
  const entry = ERROR_CATALOGUE[code];
  return reply
    .code(entry.status)
    .type('application/json')
    .serializer(JSON.stringify)
    .send({ error: { type: entry.type, code, message: message ?? entry.message, param: param ?? null, request_id: request.id } });
}

const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'body_invalid_json',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'body_invalid_json',
  FST_ERR_CTP_BODY_TOO_LARGE: 'body_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'parameter_invalid',
};

/**
 * One mapping from failures to the error envelope: expected failures by their catalogue code,
 * request-shape problems as 4xx naming the parameter, and anything else as a 500 with the
 * request id (logged with its stack).
 */
export function errorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  if (error instanceof AppError) return sendError(reply, request, error.code, error.message, error.param);
  if (hasZodFastifySchemaValidationErrors(error)) {
    const first = error.validation[0];
    const where = error.validationContext ?? 'body';
    const path = first?.instancePath?.replace(/^\//, '').replace(/\//g, '.') ?? '';
    const missing = first?.keyword === 'invalid_type' && /received undefined/.test(first.message ?? '');
    const param = path || (where === 'body' ? null : where);
    const message = `Invalid ${where}${path ? ` parameter '${path}'` : ''}: ${first?.message ?? 'invalid value'}.`;
    return sendError(reply, request, missing ? 'parameter_missing' : 'parameter_invalid', message, param);
  }
  if (isResponseSerializationError(error)) {
    request.log.error({ err: error, cause: error.cause }, 'response did not match its schema');
    return sendError(reply, request, 'internal_error');
  }
  const mapped = error.code ? FASTIFY_CODES[error.code] : undefined;
  if (mapped) return sendError(reply, request, mapped, mapped === 'body_invalid_json' ? `The request body is not valid JSON: ${error.message}` : undefined);
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
    return sendError(reply, request, 'parameter_invalid', error.message);
  }
  request.log.error({ err: error }, 'unhandled error');
  return sendError(reply, request, 'internal_error');
}

/**
 * The error catalogue: every expected failure has a stable snake_case code, an HTTP status,
 * a Stripe-style error type and a user-safe default message. Domain code returns these
 * (through `Result`) or throws `AppError`; anything else that is thrown is a bug and is
 * answered as a 500 carrying the request id.
 */
export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'idempotency_error'
  | 'card_error'
  | 'rate_limit_error'
  | 'api_error';

interface CatalogueEntry {
  status: number;
  type: ErrorType;
  message: string;
}

export const ERROR_CATALOGUE = {
  // request shape
  parameter_invalid: { status: 400, type: 'invalid_request_error', message: 'A parameter is invalid.' },
  parameter_missing: { status: 400, type: 'invalid_request_error', message: 'A required parameter is missing.' },
  body_invalid_json: { status: 400, type: 'invalid_request_error', message: 'The request body is not valid JSON.' },
  body_too_large: { status: 413, type: 'invalid_request_error', message: 'The request body is too large.' },
  unsupported_media_type: { status: 415, type: 'invalid_request_error', message: 'Send the body as application/json.' },
  route_not_found: { status: 404, type: 'invalid_request_error', message: 'No such endpoint.' },
  method_not_allowed: { status: 405, type: 'invalid_request_error', message: 'Method not allowed on this endpoint.' },
  resource_missing: { status: 404, type: 'invalid_request_error', message: 'No such object.' },
  state_conflict: { status: 409, type: 'invalid_request_error', message: 'The object is not in a state that allows this.' },
  // authentication and permission
  api_key_missing: { status: 401, type: 'authentication_error', message: 'No API key provided. Send "Authorization: Bearer sk_…".' },
  api_key_invalid: { status: 401, type: 'authentication_error', message: 'The API key is invalid or has been revoked.' },
  api_key_scope: { status: 403, type: 'permission_error', message: 'The API key does not have the scope this request needs.' },
  write_key_not_allowed: { status: 403, type: 'permission_error', message: 'A write key can only send events to the ingestion API.' },
  // idempotency
  idempotency_key_reused: {
    status: 409,
    type: 'idempotency_error',
    message: 'This Idempotency-Key was used with a different request body.',
  },
  idempotency_key_in_use: {
    status: 409,
    type: 'idempotency_error',
    message: 'A request with this Idempotency-Key is still being processed.',
  },
  idempotency_key_invalid: {
    status: 400,
    type: 'idempotency_error',
    message: 'The Idempotency-Key header must be 1 to 255 printable characters.',
  },
  // test clocks
  test_clock_unavailable: {
    status: 400,
    type: 'invalid_request_error',
    message: 'Test clocks exist only in sandbox workspaces.',
  },
  test_clock_advancing: {
    status: 409,
    type: 'invalid_request_error',
    message: 'The test clock is already advancing; wait for it to finish.',
  },
  test_clock_backwards: {
    status: 400,
    type: 'invalid_request_error',
    message: 'A test clock only moves forward.',
  },
  // money
  currency_mismatch: { status: 400, type: 'invalid_request_error', message: 'Amounts in different currencies cannot be combined.' },
  currency_unknown: { status: 400, type: 'invalid_request_error', message: 'Unknown ISO 4217 currency code.' },
  amount_invalid: { status: 400, type: 'invalid_request_error', message: 'Amounts are integers in the currency’s minor unit.' },
  // generic
  rate_limited: { status: 429, type: 'rate_limit_error', message: 'Too many requests.' },
  internal_error: { status: 500, type: 'api_error', message: 'Something went wrong on our side. Quote the request id if you contact support.' },
  service_unavailable: { status: 503, type: 'api_error', message: 'The service is starting or its database is unreachable.' },
  // ingestion and identity (events, accounts)
  event_too_large: { status: 400, type: 'invalid_request_error', message: 'An event may be at most 32 KB.' },
  batch_too_large: { status: 400, type: 'invalid_request_error', message: 'A batch may be at most 500 KB.' },
  domain_taken: { status: 409, type: 'invalid_request_error', message: 'The domain already belongs to another account.' },
  external_id_taken: { status: 409, type: 'invalid_request_error', message: 'Another account already has this external id.' },
  // catalog
  key_taken: { status: 409, type: 'invalid_request_error', message: 'Another object of this kind already has this key.' },
  // payments (cards, processors)
  card_number_invalid: { status: 400, type: 'invalid_request_error', message: 'The card number is not a valid card number.' },
  card_expired: { status: 400, type: 'invalid_request_error', message: 'The card has expired.' },
  card_declined: { status: 402, type: 'card_error', message: 'The card was declined.' },
  card_processing_error: { status: 402, type: 'card_error', message: 'An error occurred while processing the card. Try again.' },
  // checkout, portal, upgrade policy and quotes
  checkout_session_expired: { status: 409, type: 'invalid_request_error', message: 'This checkout link has expired; ask for a new one.' },
  quote_required: { status: 409, type: 'invalid_request_error', message: 'This plan is sold through a quote; sales will prepare one for you.' },
  contact_sales_required: { status: 409, type: 'invalid_request_error', message: 'This plan is sold through our sales team; they will contact you.' },
  payment_method_not_allowed: { status: 409, type: 'invalid_request_error', message: 'This way of paying is not available for this plan.' },
  approval_role_required: { status: 403, type: 'permission_error', message: 'Approving this quote needs the approver role its rules name.' },
  quote_expired: { status: 409, type: 'invalid_request_error', message: 'The quote has expired.' },
  quote_start_mismatch: { status: 409, type: 'invalid_request_error', message: "The quote's start date does not match the renewal of the running subscription." },
  // scoring
  scoring_model_immutable: { status: 409, type: 'invalid_request_error', message: 'This scoring model version has run; its config never changes. Create a new version.' },
} as const satisfies Record<string, CatalogueEntry>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** An expected failure: a catalogue code plus specifics (message override, offending parameter). */
export interface AppErrorData {
  code: ErrorCode;
  message?: string;
  param?: string;
  details?: Record<string, unknown>;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly param?: string;
  readonly details?: Record<string, unknown>;
  constructor(data: AppErrorData) {
    super(data.message ?? ERROR_CATALOGUE[data.code].message);
    this.name = 'AppError';
    this.code = data.code;
    this.param = data.param;
    this.details = data.details;
  }
  get status(): number {
    return ERROR_CATALOGUE[this.code].status;
  }
  get type(): ErrorType {
    return ERROR_CATALOGUE[this.code].type;
  }
}

export function appError(code: ErrorCode, message?: string, param?: string): AppError {
  return new AppError({ code, message, param });
}

export function notFound(entity: string, id: string, param = 'id'): AppError {
  return new AppError({ code: 'resource_missing', message: `No such ${entity}: '${id}'.`, param });
}

export function isAppError(e: unknown): e is AppError {
  return e instanceof AppError;
}

/**
 * The one error vocabulary of the API (contract §1, "Errors"). Services throw these; the
 * GraphQL `formatError` and the REST envelope translate them; nothing else invents codes.
 */
export const ERROR_STATUS = {
  BAD_REQUEST: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  INTERNAL_SERVER_ERROR: 500,
  UPSTREAM_ERROR: 502,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** Apollo's own request-level codes, kept as-is so Apollo tooling recognises them. */
export const APOLLO_REQUEST_CODES = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
  'BAD_REQUEST',
]);

export interface ErrorDetails {
  field?: string;
  reason?: string;
}

export class AppError extends Error {
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: ErrorDetails,
    /** Extra, client-safe extensions (e.g. retryAfterSeconds). */
    readonly extra?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'AppError';
    this.status = ERROR_STATUS[code];
  }
}

export class BadRequestError extends AppError {
  constructor(message: string, details?: ErrorDetails) {
    super('BAD_REQUEST', message, details);
  }
}

export class UnauthenticatedError extends AppError {
  constructor(message = 'Authentication required') {
    super('UNAUTHENTICATED', message);
  }
}

export class ForbiddenError extends AppError {
  constructor(message = 'Not allowed', details?: ErrorDetails) {
    super('FORBIDDEN', message, details);
  }
}

export class NotFoundError extends AppError {
  constructor(what = 'Resource') {
    super('NOT_FOUND', `${what} not found`);
  }
}

export class RateLimitedError extends AppError {
  constructor(retryAfterSeconds: number, message = 'Too many requests') {
    super('RATE_LIMITED', message, undefined, { retryAfterSeconds: Math.max(1, Math.ceil(retryAfterSeconds)) });
  }
}

export class PayloadTooLargeError extends AppError {
  constructor(message = 'Payload too large', details?: ErrorDetails) {
    super('PAYLOAD_TOO_LARGE', message, details);
  }
}

export class UpstreamError extends AppError {
  constructor(message = 'An upstream provider failed', details?: ErrorDetails) {
    super('UPSTREAM_ERROR', message, details);
  }
}

export function statusOf(code: string): number {
  if (code in ERROR_STATUS) return ERROR_STATUS[code as ErrorCode];
  return APOLLO_REQUEST_CODES.has(code) ? 400 : 500;
}

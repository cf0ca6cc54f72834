import type { ErrorDescription } from '../core/errors';

/** OpenAI's error body: SDKs read `error.type` / `error.code` to pick their exception class and retry policy. */
export interface OpenAiErrorBody {
  error: { message: string; type: string; code: string | null; param: string | null };
}

export interface OpenAiError {
  status: number;
  body: OpenAiErrorBody;
  retryAfterSeconds?: number;
  /**
   * False when retrying cannot help (an exhausted balance): sent as `x-should-retry`, which
   * the official SDKs obey, so they do not hammer us with 429 retries.
   */
  shouldRetry?: boolean;
}

/** Our field names as the OpenAI request names them (the send input calls the last message `content`). */
function paramOf(field: string | undefined): string | null {
  if (!field) return null;
  if (field === 'modelId') return 'model';
  if (field === 'content' || field.startsWith('messageHistory')) return 'messages';
  return field;
}

const UNAVAILABLE = new Set(['PROVIDER_UNAVAILABLE', 'PROVIDER_RATE_LIMITED', 'PROVIDER_QUOTA_EXHAUSTED', 'MODERATION_UNAVAILABLE', 'SHARED_STATE_UNAVAILABLE', 'DATABASE_UNAVAILABLE']);

/**
 * One error of this server as OpenAI would answer it. The status and `code` follow OpenAI
 * where it has an equivalent (404 model_not_found, 429 insufficient_quota,
 * rate_limit_exceeded, content_filter); otherwise `code` is our `details.reason` in lower
 * case, so clients can still tell the cases apart. The message is the one every transport
 * sends (describeError keeps unexpected errors' own text out).
 */
export function toOpenAiError(d: ErrorDescription): OpenAiError {
  const reason = d.details?.reason;
  const param = paramOf(d.details?.field);
  const make = (status: number, type: string, code: string | null, extra: Partial<OpenAiError> = {}): OpenAiError => ({
    status,
    body: { error: { message: d.message, type, code, param } },
    ...extra,
  });
  const own = reason ? reason.toLowerCase() : null;
  switch (d.code) {
    case 'BAD_REQUEST':
      if (reason === 'UNKNOWN_MODEL') return make(404, 'invalid_request_error', 'model_not_found');
      if (reason === 'CONTEXT_TOO_LONG') return make(400, 'invalid_request_error', 'context_length_exceeded');
      return make(400, 'invalid_request_error', own);
    case 'UNAUTHENTICATED':
      return make(401, 'authentication_error', 'invalid_api_key');
    case 'FORBIDDEN':
      if (reason === 'INSUFFICIENT_BALANCE') return make(429, 'insufficient_quota', 'insufficient_quota', { shouldRetry: false });
      if (reason === 'CONTENT_BLOCKED') return make(400, 'invalid_request_error', 'content_filter');
      return make(403, 'permission_error', own);
    case 'NOT_FOUND':
      return make(404, 'invalid_request_error', 'not_found');
    case 'PAYLOAD_TOO_LARGE':
      return make(413, 'invalid_request_error', own);
    case 'RATE_LIMITED':
      return make(429, 'requests', 'rate_limit_exceeded', d.retryAfterSeconds !== undefined ? { retryAfterSeconds: d.retryAfterSeconds } : {});
    case 'UPSTREAM_ERROR':
      return make(reason && UNAVAILABLE.has(reason) ? 503 : 502, 'server_error', own);
    default:
      return make(d.status >= 400 && d.status < 500 ? d.status : 500, d.status < 500 ? 'invalid_request_error' : 'server_error', null);
  }
}

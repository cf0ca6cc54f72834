import OpenAI from 'openai';
import { type ReasonOf, UpstreamError } from '../core/errors';

type ProviderReason = ReasonOf<'UPSTREAM_ERROR'>;

/** What an operator needs to see about a provider failure; logged, never sent as such. */
export interface ProviderFailureInfo {
  /** The provider's HTTP status, when it answered. */
  httpStatus?: number;
  /** The provider's own message, cleaned of anything that looks like a key. */
  providerMessage?: string;
  /** The provider's request id (`x-request-id`), for a support ticket. */
  requestId?: string;
  /** Which upstream (base URL) failed. */
  upstream?: string;
}

/**
 * An UPSTREAM_ERROR from an AI or speech provider. The client sees the code, the reason and a
 * message quoting the provider; `info` is for the log line.
 */
export class ProviderError extends UpstreamError {
  constructor(
    message: string,
    reason: ProviderReason,
    readonly info: ProviderFailureInfo = {},
  ) {
    super(message, { reason });
  }
}

/** A base URL as logs and errors show it: no credentials in the authority, no query string. */
export function upstreamOf(baseUrl: string): string {
  try {
    const u = new URL(baseUrl);
    return `${u.protocol}//${u.host}${u.pathname.replace(/\/$/, '')}`;
  } catch {
    return 'invalid URL';
  }
}

/** Longest provider message quoted to a client. */
const QUOTE_LIMIT = 200;

/** Balance and quota errors, whatever their status: DeepSeek 402, OpenAI/Moonshot 429, Zhipu 1113, DashScope Arrearage. */
const QUOTA = /insufficient|exceeded[_ ](your[_ ])?current[_ ]quota|quota[_ ]exceeded|arrearage|overdue|billing|余额|欠费|资源包|额度/i;

/** Anything that looks like a credential, in case a provider echoes one back. */
const SECRET = /\b(sk|ak|key|pk|rk)-[A-Za-z0-9_*.-]{4,}|Bearer\s+\S+/gi;

export function cleanProviderMessage(text: string): string {
  const clean = text.replace(SECRET, '[redacted]').replace(/\s+/g, ' ').trim();
  return clean.length > QUOTE_LIMIT ? `${clean.slice(0, QUOTE_LIMIT - 1)}…` : clean;
}

/** The provider's message from an error body: OpenAI's `{error: {message}}` and the shapes others use. */
function bodyMessage(body: unknown): string | undefined {
  if (typeof body === 'string') return body;
  if (!body || typeof body !== 'object') return undefined;
  const b = body as Record<string, unknown>;
  for (const key of ['message', 'msg', 'error_msg', 'detail']) {
    if (typeof b[key] === 'string' && b[key]) return b[key] as string;
  }
  if (b.error !== undefined && b.error !== body) return bodyMessage(b.error);
  return undefined;
}

function bodyCode(body: unknown): string {
  if (!body || typeof body !== 'object') return '';
  const b = body as Record<string, unknown>;
  return [b.code, b.type].filter((v) => typeof v === 'string' || typeof v === 'number').join(' ');
}

/** The reason for an HTTP answer (or an error object in a stream) from a provider. */
export function reasonForStatus(status: number | undefined, code: string, message: string): ProviderReason {
  if (status === 402 || QUOTA.test(code) || QUOTA.test(message)) return 'PROVIDER_QUOTA_EXHAUSTED';
  if (status === undefined) return 'PROVIDER_STREAM_INTERRUPTED';
  if (status === 429) return 'PROVIDER_RATE_LIMITED';
  if (status === 408) return 'PROVIDER_TIMEOUT';
  if (status >= 500) return 'PROVIDER_UNAVAILABLE';
  return 'PROVIDER_REJECTED';
}

/**
 * Any failure talking to a provider as a ProviderError with the reason clients branch on:
 * `who` names the provider in the message ("The AI provider", "The speech provider").
 */
export function toProviderError(err: unknown, who: string, upstream?: string): ProviderError {
  if (err instanceof ProviderError) return err;
  if (err instanceof OpenAI.APIConnectionTimeoutError) {
    return new ProviderError(`${who} did not answer in time`, 'PROVIDER_TIMEOUT', { upstream });
  }
  if (err instanceof OpenAI.APIError && typeof err.status === 'number') {
    const raw = bodyMessage(err.error) ?? err.message.replace(/^\d{3}\s*/, '');
    const providerMessage = cleanProviderMessage(raw);
    const reason = reasonForStatus(err.status, bodyCode(err.error), raw);
    const info = { httpStatus: err.status, providerMessage, requestId: err.requestID ?? undefined, upstream };
    return new ProviderError(`${who} answered ${err.status}: ${providerMessage}`, reason, info);
  }
  return new ProviderError(`${who} could not be reached`, 'PROVIDER_UNAVAILABLE', { upstream });
}

/** An error object a provider sent inside a 200 stream (`data: {"error": {...}}`). */
export function streamedProviderError(body: unknown, who: string, upstream?: string): ProviderError {
  const raw = bodyMessage(body) ?? 'unknown error';
  const providerMessage = cleanProviderMessage(raw);
  const inner = (body as { error?: unknown } | null)?.error ?? body;
  const reason = reasonForStatus(undefined, bodyCode(inner), raw);
  return new ProviderError(`${who} failed mid-reply: ${providerMessage}`, reason, { providerMessage, upstream });
}

/** Whether a failure before the first token may succeed on another try or another upstream. */
export function isTransient(reason: string | undefined): boolean {
  return reason === 'PROVIDER_UNAVAILABLE' || reason === 'PROVIDER_RATE_LIMITED' || reason === 'PROVIDER_TIMEOUT' || reason === 'PROVIDER_STREAM_INTERRUPTED';
}

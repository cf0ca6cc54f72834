import { UpstreamError } from '../../core/errors';
import type { CatalogModel } from '../../models/model-catalog';

/*
 * What generation needs from an AI provider. Each adapter (OpenAI-compatible, echo) turns
 * its provider's stream into these pieces; nothing past this file knows a provider's format.
 */

export interface ChatTurn {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
}

/** A piece of a streamed reply: text, and (once, at the end) the provider's token usage. */
export interface StreamPiece {
  delta?: string;
  usage?: Usage;
}

export interface ChatProvider {
  /** Streams a reply; aborting `signal` stops the upstream request. Throws UpstreamError. */
  stream(model: CatalogModel, turns: ChatTurn[], signal: AbortSignal): AsyncIterable<StreamPiece>;
}

/** Whether a failure before the first token is worth another try. */
export function isRetryable(err: unknown): boolean {
  return err instanceof UpstreamError && err.details?.reason !== 'ABORTED' && err.details?.reason !== 'BAD_REQUEST_TO_PROVIDER';
}


import type { Upstream } from '../../models/catalog-config';
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
  /** Part of completionTokens spent thinking, when the provider says. */
  reasoningTokens?: number | null;
  /** True when no usage came from the provider and the server counted it. */
  estimated?: boolean;
}

/** A piece of a streamed reply. */
export interface StreamPiece {
  /** Text of the answer. */
  delta?: string;
  /** Text of the model's visible reasoning (DeepSeek's `reasoning_content`, Ollama's `reasoning`). */
  reasoning?: string;
  /** The provider's token usage (usually once, at the end). */
  usage?: Usage;
  /** The provider's `finish_reason`, as sent (`stop`, `length`, `content_filter`, `sensitive`, ...). */
  finish?: string;
  /** Nothing for the user, but the provider is alive: a keep-alive comment or an empty chunk. */
  alive?: true;
}

export interface ProviderCall {
  model: CatalogModel;
  /** Which of the model's upstreams to call; undefined for the built-in model. */
  upstream?: Upstream;
  turns: ChatTurn[];
  /** Aborting stops the upstream request. */
  signal: AbortSignal;
}

export interface ChatProvider {
  /**
   * Streams a reply. Throws ProviderError (an UpstreamError) when the provider fails, sends
   * an error, or the stream ends with neither a finish reason nor `[DONE]`.
   */
  stream(call: ProviderCall): AsyncIterable<StreamPiece>;
}

import OpenAI from 'openai';
import { UpstreamError } from '../../core/errors';
import type { CatalogModel } from '../../models/model-catalog';
import type { ChatProvider, ChatTurn, StreamPiece } from './provider';

/** Any OpenAI-compatible API (OpenAI, DeepSeek, Qwen, Moonshot, vLLM, Ollama) through the SDK. */
export class OpenAICompatibleProvider implements ChatProvider {
  private readonly clients = new Map<string, OpenAI>();

  private client(model: CatalogModel): OpenAI {
    const key = `${model.baseURL}|${model.apiKey ?? ''}`;
    let client = this.clients.get(key);
    if (!client) {
      // Retries are ours (only before the first token); timeouts come from the caller's signal.
      client = new OpenAI({ baseURL: model.baseURL, apiKey: model.apiKey ?? 'not-needed', maxRetries: 0, timeout: 24 * 3600 * 1000 });
      this.clients.set(key, client);
    }
    return client;
  }

  async *stream(model: CatalogModel, turns: ChatTurn[], signal: AbortSignal): AsyncIterable<StreamPiece> {
    let stream;
    try {
      stream = await this.client(model).chat.completions.create(
        { model: model.upstreamModel, messages: turns, stream: true, stream_options: { include_usage: true } },
        { signal },
      );
    } catch (err) {
      throw toUpstreamError(err, signal);
    }
    try {
      for await (const chunk of stream) {
        const delta = chunk.choices[0]?.delta?.content;
        if (delta) yield { delta };
        if (chunk.usage) {
          yield { usage: { promptTokens: chunk.usage.prompt_tokens, completionTokens: chunk.usage.completion_tokens, totalTokens: chunk.usage.total_tokens } };
        }
      }
    } catch (err) {
      throw toUpstreamError(err, signal);
    }
    // The SDK ends an aborted stream quietly; the caller decides what an abort means.
    if (signal.aborted) throw toUpstreamError(signal.reason, signal);
  }
}

function toUpstreamError(err: unknown, signal: AbortSignal): UpstreamError {
  if (err instanceof UpstreamError) return err;
  if (signal.aborted) return new UpstreamError('The AI reply was aborted', { reason: 'ABORTED' });
  if (err instanceof OpenAI.APIError && typeof err.status === 'number') {
    const reason = err.status === 429 ? 'PROVIDER_RATE_LIMITED' : err.status >= 500 ? 'PROVIDER_ERROR' : 'BAD_REQUEST_TO_PROVIDER';
    return new UpstreamError(`The AI provider answered ${err.status}`, { reason });
  }
  return new UpstreamError('The AI provider could not be reached', { reason: 'PROVIDER_UNREACHABLE' });
}


import { createParser } from 'eventsource-parser';
import OpenAI from 'openai';
import type { Upstream } from '../../models/catalog-config';
import type { CatalogModel } from '../../models/model-catalog';
import { ProviderError, streamedProviderError, toProviderError, upstreamOf } from '../../models/provider-errors';
import type { ChatProvider, ChatTurn, ProviderCall, StreamPiece } from './provider';
import { readChunk } from './chunks';

const WHO = 'The AI provider';

/**
 * Any OpenAI-compatible API (OpenAI, DeepSeek, Qwen, Kimi, GLM, SiliconFlow, Ark, Ollama,
 * vLLM). The SDK sends the request and turns HTTP errors into typed errors; the stream is read
 * here, because real providers send what the SDK's reader does not take: `data: null`, chunks
 * without `choices`, error objects mid-stream, keep-alive comments that must count as life.
 */
export class OpenAICompatibleProvider implements ChatProvider {
  private readonly clients = new Map<string, OpenAI>();

  private client(upstream: Upstream): OpenAI {
    const key = `${upstream.baseURL}|${upstream.apiKey ?? ''}`;
    let client = this.clients.get(key);
    if (!client) {
      // Retries are ours (only before the first token); timeouts come from the caller's signal.
      client = new OpenAI({ baseURL: upstream.baseURL, apiKey: upstream.apiKey ?? 'not-needed', maxRetries: 0, timeout: 24 * 3600 * 1000 });
      this.clients.set(key, client);
    }
    return client;
  }

  async *stream({ model, upstream, turns, signal }: ProviderCall): AsyncIterable<StreamPiece> {
    if (!upstream) throw new ProviderError(`Model ${model.id} has no provider configured`, 'PROVIDER_REJECTED');
    const where = upstreamOf(upstream.baseURL);
    let response: Response;
    try {
      response = await this.client(upstream)
        .chat.completions.create(requestBody(model, upstream, turns), { signal, headers: model.headers })
        .asResponse();
    } catch (err) {
      throw signal.aborted ? aborted() : toProviderError(err, WHO, where);
    }
    const requestId = response.headers.get('x-request-id') ?? undefined;
    if (!response.body) throw new ProviderError(`${WHO} answered with an empty body`, 'PROVIDER_STREAM_INTERRUPTED', { upstream: where, requestId });
    // Some endpoints ignore `stream: true` and answer one JSON completion.
    if ((response.headers.get('content-type') ?? '').includes('application/json')) {
      yield* wholeCompletion(await response.json().catch(() => null), where);
      return;
    }

    const pieces: StreamPiece[] = [];
    let sawDone = false;
    let finished = false;
    let failure: ProviderError | undefined;
    const parser = createParser({
      onComment: () => pieces.push({ alive: true }),
      onEvent: (event) => {
        if (sawDone || failure) return;
        const data = event.data.trim();
        if (data === '[DONE]') return void (sawDone = true);
        let json: unknown;
        try {
          json = JSON.parse(data);
        } catch {
          return void pieces.push({ alive: true }); // a line no client can read is skipped, like the SDK's reader
        }
        const chunk = readChunk(json, event.event === 'error');
        if (chunk.error) return void (failure = streamedProviderError(chunk.error, WHO, where));
        if (chunk.piece.finish) finished = true;
        pieces.push(chunk.piece);
      },
    });
    const decoder = new TextDecoder();
    try {
      for await (const bytes of response.body as unknown as AsyncIterable<Uint8Array>) {
        parser.feed(decoder.decode(bytes, { stream: true }));
        yield* pieces.splice(0);
        if (failure) throw failure;
        if (sawDone) break;
      }
    } catch (err) {
      if (signal.aborted) throw aborted();
      if (err instanceof ProviderError) throw err;
      throw new ProviderError(`${WHO} dropped the connection mid-reply`, 'PROVIDER_STREAM_INTERRUPTED', { upstream: where, requestId });
    }
    if (signal.aborted) throw aborted();
    if (!sawDone && !finished) {
      throw new ProviderError(`${WHO} ended the stream before the reply was finished`, 'PROVIDER_STREAM_INTERRUPTED', { upstream: where, requestId });
    }
  }
}

const aborted = () => new ProviderError('The AI reply was aborted', 'ABORTED');

/** The chat completion request: the catalog's options, then its extraBody on top. */
function requestBody(model: CatalogModel, upstream: Upstream, turns: ChatTurn[]): OpenAI.ChatCompletionCreateParamsStreaming {
  return {
    model: upstream.model,
    messages: turns,
    stream: true,
    ...(model.streamOptions ? { stream_options: { include_usage: true } } : {}),
    ...(model.maxTokens !== null ? { max_tokens: model.maxTokens } : {}),
    ...(model.temperature !== null ? { temperature: model.temperature } : {}),
    ...model.extraBody,
  };
}

/** A non-streamed completion as pieces. */
function* wholeCompletion(json: unknown, where: string): Iterable<StreamPiece> {
  const body = json as { choices?: Array<{ message?: { content?: unknown; reasoning_content?: unknown; reasoning?: unknown }; finish_reason?: unknown }>; usage?: unknown; error?: unknown } | null;
  if (!body || body.error || !Array.isArray(body.choices)) {
    throw body?.error ? streamedProviderError(body.error, WHO, where) : new ProviderError(`${WHO} answered with something unreadable`, 'PROVIDER_STREAM_INTERRUPTED', { upstream: where });
  }
  const choice = body.choices[0];
  const message = choice?.message;
  const { piece } = readChunk({ choices: [{ delta: message ?? {}, finish_reason: choice?.finish_reason ?? 'stop' }], usage: body.usage }, false);
  yield piece;
}

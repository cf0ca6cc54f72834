import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { listenFake, scriptedDelays } from './http-fake';

/*
 * An OpenAI-compatible chat endpoint that answers with recorded provider traffic: a stream from
 * test/fixtures/streams (byte for byte, event by event, optionally paced) or a recorded error
 * answer. What each call sent is kept for the test to check.
 */

export const FIXTURES = join(__dirname, '..', 'fixtures', 'streams');

export interface StreamFixture {
  file: string;
  provider: string;
  source: string;
  expected: {
    content: string;
    reasoning: string;
    finishReason: string | null;
    done: boolean;
    usage: { promptTokens: number | null; completionTokens: number | null; totalTokens: number | null; reasoningTokens: number | null } | null;
  };
}

export interface ErrorFixture {
  file: string;
  provider: string;
  source: string;
  status: number;
  message: string;
}

export const MANIFEST = JSON.parse(readFileSync(join(FIXTURES, 'manifest.json'), 'utf8')) as { streams: StreamFixture[]; errors: ErrorFixture[] };

/** How to answer one call. */
export type Replay =
  /** A recorded stream (a file in the fixtures), each event `delayMs` after the one before, once `gate` resolves. */
  | { stream: string; delayMs?: number; gate?: Promise<unknown> }
  /** A recorded error answer (a `.error.json` file in the fixtures). */
  | { error: string }
  /** Accept the request and never answer. */
  | { hang: true };

export interface ReplayCall {
  body: Record<string, unknown>;
  headers: IncomingHttpHeaders;
}

/** The SSE events of a recording, each with its trailing blank line (LF or CRLF kept as recorded). */
export function sseEvents(raw: string): string[] {
  return raw.split(/(?<=\r?\n\r?\n)/).filter((e) => e.length > 0);
}

export async function startReplayProvider(options: { apiKey?: string; rejectStreamOptions?: boolean } = {}) {
  const apiKey = options.apiKey ?? 'sk-replay';
  const delays = scriptedDelays();

  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json', 'x-request-id': `req-replay-${state.calls.length}` });
    res.end(JSON.stringify(body));
  };

  const server = await listenFake(async (req, res, raw) => {
    if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) return json(res, 404, { error: { message: 'not found' } });
    const body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
    state.calls.push({ body, headers: req.headers });
    if (req.headers.authorization !== `Bearer ${apiKey}`) return json(res, 401, { error: { message: 'Incorrect API key provided', type: 'invalid_request_error', code: 'invalid_api_key' } });
    // Like Fireworks, Azure AI Foundry and Databricks endpoints that do not know the field.
    if (options.rejectStreamOptions && 'stream_options' in body) {
      return json(res, 400, { error: { object: 'error', type: 'invalid_request_error', message: 'Extra inputs are not permitted, field: stream_options' } });
    }
    const replay = state.next.shift() ?? state.default;
    if ('hang' in replay) return;
    if ('error' in replay) {
      const recorded = JSON.parse(readFileSync(join(FIXTURES, replay.error), 'utf8')) as { status: number; body: unknown };
      return json(res, recorded.status, recorded.body);
    }
    await replay.gate;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-request-id': `req-replay-${state.calls.length}` });
    res.flushHeaders();
    req.socket.setNoDelay(true);
    const events = sseEvents(readFileSync(join(FIXTURES, replay.stream), 'utf8'));
    for (const [i, event] of events.entries()) {
      if (i > 0 && replay.delayMs) await delays.sleep(replay.delayMs);
      if (res.destroyed) return;
      res.write(event);
    }
    res.end();
  });

  const state = {
    baseURL: `${server.url}/v1`,
    apiKey,
    calls: [] as ReplayCall[],
    /** Answers for the next calls, one each. */
    next: [] as Replay[],
    /** The answer when `next` is empty. */
    default: { stream: 'deepseek-chat.sse' } as Replay,
    async close(): Promise<void> {
      delays.clear();
      await server.close();
    },
  };
  return state;
}

export type ReplayProvider = Awaited<ReturnType<typeof startReplayProvider>>;

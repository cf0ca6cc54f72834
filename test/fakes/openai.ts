import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { listenFake, scriptedDelays } from './http-fake';

/**
 * How the fake answers one call:
 * - 'ok': a normal answer.
 * - 'error500' / 'error429': OpenAI's error JSON with that status (429 carries `retry-after: 0`
 *   so the SDK's retries don't sleep).
 * - 'hang': never answers, socket stays open.
 * - 'hangAfterFirstChunk': sends the headers and the first chunk, then nothing more.
 * - 'breakMidStream': sends two chunks, then destroys the socket.
 * - 'slow': waits `delayMs` (at least 50 ms) between chunks / before answering.
 */
export type FakeOpenAIMode = 'ok' | 'error500' | 'error429' | 'hang' | 'hangAfterFirstChunk' | 'breakMidStream' | 'slow';

export interface FakeUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

/** The fields of a chat completion request the fake reads (the rest is kept as sent). */
export interface ChatRequestBody {
  model?: string;
  messages?: Array<{ role?: string; content?: unknown; [key: string]: unknown }>;
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  [key: string]: unknown;
}

export interface FakeChatCall {
  body: ChatRequestBody;
  headers: IncomingHttpHeaders;
  /** True when the client closed the connection before the response was finished. */
  aborted: boolean;
  mode: FakeOpenAIMode;
  /** The reply text this call was (or would have been) answered with. */
  reply?: string;
  usage?: FakeUsage;
  /** Resolves once the response is closed: finished, aborted by the client, or broken by the fake. */
  closed: Promise<void>;
}

export interface FakeTranscription {
  model?: string;
  /** Undefined when the request had no language field. */
  language?: string;
  filename?: string;
  contentType?: string;
  bytes: number;
  /** The response_format field, when sent. */
  responseFormat?: string;
}

/** A scripted failure of one transcription call: OpenAI's error JSON with this status. */
export interface FakeTranscriptionError {
  status: number;
  message: string;
  type?: string;
  code?: string | null;
  /** The `x-request-id` header (else a random one). */
  requestId?: string;
}

/** What OpenAI answers when the account is out of quota, rate limited, or broken on its side. */
export const TRANSCRIPTION_ERRORS = {
  quota: {
    status: 429,
    message: 'You exceeded your current quota, please check your plan and billing details.',
    type: 'insufficient_quota',
    code: 'insufficient_quota',
  },
  rateLimit: {
    status: 429,
    message: 'Rate limit reached for whisper-1 on requests per min (RPM): Limit 3, Used 3, Requested 1.',
    type: 'requests',
    code: 'rate_limit_exceeded',
  },
  server: { status: 500, message: 'The server had an error while processing your request. Sorry about that!', type: 'server_error', code: null },
} satisfies Record<string, FakeTranscriptionError>;

export interface FakeOpenAIOptions {
  apiKey?: string;
  chunkSize?: number;
  delayMs?: number;
}

/** Characters counted as Unicode code points, so a Chinese character or an emoji counts as 1. */
const chars = (s: string): number => Array.from(s).length;

/** The text of a message's `content`: a string, or the `text` parts of a content-part array. */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content.map((p: { type?: unknown; text?: unknown } | null) => (p && p.type === 'text' && typeof p.text === 'string' ? p.text : '')).join('');
  }
  return '';
}

/**
 * The fake's deterministic usage rule:
 * - prompt_tokens = total characters (code points) of the text content of all request messages
 *   (non-text parts and null contents count 0; roles, names and tools are not counted);
 * - completion_tokens = characters (code points) of the reply text, whatever the chunk size;
 * - total_tokens = prompt_tokens + completion_tokens.
 */
export function usageFor(body: ChatRequestBody | undefined, text: string): FakeUsage {
  const messages = Array.isArray(body?.messages) ? body.messages : [];
  const prompt_tokens = messages.reduce((n: number, m) => n + chars(contentText(m?.content)), 0);
  const completion_tokens = chars(text);
  return { prompt_tokens, completion_tokens, total_tokens: prompt_tokens + completion_tokens };
}

/** Default script: echo the last user message. */
function echo(body: ChatRequestBody): string {
  const messages = Array.isArray(body?.messages) ? body.messages : [];
  const lastUser = [...messages].reverse().find((m) => m?.role === 'user');
  return `Echo: ${contentText(lastUser?.content)}`;
}

/** Splits into pieces of `size` code points, so a surrogate pair is never cut in half. */
function split(text: string, size: number): string[] {
  const cps = Array.from(text);
  const pieces: string[] = [];
  for (let i = 0; i < cps.length; i += Math.max(1, size)) pieces.push(cps.slice(i, i + Math.max(1, size)).join(''));
  return pieces;
}

/** OpenAI's error body. */
function errorBody(message: string, type: string, code: string | null) {
  return { error: { message, type, param: null, code } };
}

/** A minimal multipart/form-data parser: enough for the transcription upload. */
export function parseMultipart(body: Buffer, contentType: string | undefined) {
  const match = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? '');
  if (!match) throw new Error('no multipart boundary');
  const delimiter = Buffer.from(`--${match[1] ?? match[2]}`);
  const parts: Array<{ name?: string; filename?: string; contentType?: string; data: Buffer }> = [];
  let start = body.indexOf(delimiter);
  while (start !== -1) {
    const partStart = start + delimiter.length;
    // "--boundary--" closes the body.
    if (body.subarray(partStart, partStart + 2).toString() === '--') break;
    const next = body.indexOf(delimiter, partStart);
    if (next === -1) break;
    // A part is "\r\n<headers>\r\n\r\n<data>\r\n" between two delimiters.
    const part = body.subarray(partStart + 2, next - 2);
    const headerEnd = part.indexOf('\r\n\r\n');
    const head = part.subarray(0, headerEnd).toString('utf8');
    const disposition = /^content-disposition:(.*)$/im.exec(head)?.[1] ?? '';
    parts.push({
      name: /\bname="([^"]*)"/i.exec(disposition)?.[1],
      filename: /\bfilename="([^"]*)"/i.exec(disposition)?.[1],
      contentType: /^content-type:\s*(.*)$/im.exec(head)?.[1]?.trim(),
      data: part.subarray(headerEnd + 4),
    });
    start = next;
  }
  return parts;
}

/**
 * A fake of the OpenAI API (`/v1/chat/completions`, `/v1/audio/transcriptions`, `/v1/models`)
 * speaking the real wire protocol, so the official `openai` SDK works against it unchanged.
 * Point the SDK at `fake.baseURL`; script replies with `reply` / `nextReplies` and failures
 * with `mode` / `nextModes` (one queued mode is consumed per chat or transcription call).
 */
export async function startFakeOpenAI(options: FakeOpenAIOptions = {}) {
  const apiKey = options.apiKey ?? 'sk-fake';
  let closing = false;
  // The fake's scripted latency (delayMs, 'slow').
  const delays = scriptedDelays();
  const sleep = delays.sleep;

  const sendJson = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    if (res.destroyed) return;
    res.writeHead(status, { 'content-type': 'application/json', 'x-request-id': `req_${randomBytes(8).toString('hex')}`, ...headers });
    res.end(JSON.stringify(body));
  };

  /** Answers auth and status-code failures; true when the call is already answered. */
  const answerFailure = (req: IncomingMessage, res: ServerResponse, mode: FakeOpenAIMode): boolean => {
    if (req.headers.authorization !== `Bearer ${apiKey}`) {
      sendJson(res, 401, errorBody('Incorrect API key provided', 'invalid_request_error', 'invalid_api_key'));
      return true;
    }
    if (mode === 'error500') {
      sendJson(res, 500, errorBody('The server had an error while processing your request. Sorry about that!', 'server_error', null));
      return true;
    }
    if (mode === 'error429') {
      sendJson(res, 429, errorBody('Rate limit reached for requests', 'requests', 'rate_limit_exceeded'), { 'retry-after': '0' });
      return true;
    }
    return false;
  };

  const takeMode = (): FakeOpenAIMode => state.nextModes.shift() ?? state.mode;

  async function chatCompletions(req: IncomingMessage, res: ServerResponse, raw: Buffer) {
    let body: ChatRequestBody;
    try {
      body = JSON.parse(raw.toString('utf8')) as ChatRequestBody;
    } catch {
      return sendJson(res, 400, errorBody('We could not parse the JSON body of your request.', 'invalid_request_error', null));
    }
    const mode = takeMode();
    let brokenByUs = false;
    let onClose!: () => void;
    const call: FakeChatCall = { body, headers: req.headers, aborted: false, mode, closed: new Promise<void>((r) => (onClose = r)) };
    state.calls.push(call);
    // 'close' before the response finished means the client went away (e.g. "stop generation"),
    // unless the fake itself broke the stream or is shutting down.
    res.on('close', () => {
      if (!res.writableFinished && !brokenByUs && !closing) call.aborted = true;
      onClose();
    });

    if (answerFailure(req, res, mode)) return;
    if (mode === 'hang') return; // never answers

    const text = state.nextReplies.shift() ?? state.reply(body);
    const usage = usageFor(body, text);
    call.reply = text;
    call.usage = usage;
    const id = `chatcmpl-${randomBytes(12).toString('hex')}`;
    const created = Math.floor(Date.now() / 1000);
    const model = body.model;
    const delay = mode === 'slow' ? Math.max(state.delayMs, 50) : state.delayMs;

    if (!body.stream) {
      const completion = {
        id,
        object: 'chat.completion',
        created,
        model,
        choices: [{ index: 0, message: { role: 'assistant', content: text, refusal: null }, logprobs: null, finish_reason: 'stop' }],
        usage,
      };
      if (delay) await sleep(delay);
      if (res.destroyed) return;
      if (mode === 'hangAfterFirstChunk' || mode === 'breakMidStream') {
        // Half a body, then silence or a cut connection.
        const json = JSON.stringify(completion);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write(json.slice(0, json.length >> 1));
        if (mode === 'breakMidStream') {
          brokenByUs = true;
          res.destroy();
        }
        return;
      }
      return sendJson(res, 200, completion);
    }

    const includeUsage = body.stream_options?.include_usage === true;
    // Like OpenAI, with include_usage every chunk carries `usage: null` until the last one.
    const chunk = (choices: unknown[], extra: object = includeUsage ? { usage: null } : {}) =>
      `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, system_fingerprint: null, choices, ...extra })}\n\n`;
    const events = split(text, state.chunkSize).map((piece, i) =>
      chunk([{ index: 0, delta: i === 0 ? { role: 'assistant', content: piece } : { content: piece }, logprobs: null, finish_reason: null }]),
    );
    if (events.length === 0) events.push(chunk([{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }]));
    events.push(chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }]));
    if (includeUsage) events.push(chunk([], { usage }));
    events.push('data: [DONE]\n\n');

    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
    res.flushHeaders();
    req.socket.setNoDelay(true); // each chunk goes out as soon as it is written
    for (let i = 0; i < events.length; i++) {
      if (i > 0 && delay) await sleep(delay);
      if (res.destroyed) return;
      if (mode === 'breakMidStream' && i === 2) {
        // Give the client time to read what was sent: a fetch body stream that errors drops
        // chunks it has queued but not yet handed out.
        await sleep(Math.max(delay, 20));
        brokenByUs = true;
        res.destroy();
        return;
      }
      res.write(events[i]);
      if (mode === 'hangAfterFirstChunk') return; // socket stays open, nothing more is sent
    }
    res.end();
  }

  async function transcriptions(req: IncomingMessage, res: ServerResponse, raw: Buffer) {
    const mode = takeMode();
    if (answerFailure(req, res, mode)) return;
    const failure = state.nextTranscriptionErrors.shift();
    if (failure) {
      const { status, message, type = 'invalid_request_error', code = null, requestId } = failure;
      return sendJson(res, status, errorBody(message, type, code), { ...(requestId ? { 'x-request-id': requestId } : {}), ...(status === 429 ? { 'retry-after': '0' } : {}) });
    }
    if (mode === 'hang') return;
    let parts: ReturnType<typeof parseMultipart>;
    try {
      parts = parseMultipart(raw, req.headers['content-type']);
    } catch {
      return sendJson(res, 400, errorBody('Could not parse multipart form', 'invalid_request_error', null));
    }
    const field = (name: string) => parts.find((p) => p.name === name && p.filename === undefined)?.data.toString('utf8');
    const file = parts.find((p) => p.name === 'file');
    if (!file) return sendJson(res, 400, errorBody("Missing required parameter: 'file'.", 'invalid_request_error', null));
    const responseFormat = field('response_format');
    state.transcriptions.push({ model: field('model'), language: field('language'), filename: file.filename, contentType: file.contentType, bytes: file.data.length, ...(responseFormat ? { responseFormat } : {}) });
    state.transcribedFiles.push(Buffer.from(file.data));
    if (mode === 'slow') await sleep(Math.max(state.delayMs, 50));
    if (res.destroyed) return;
    // response_format 'text' answers a bare string; the default 'json' answers {"text": ...}.
    if (field('response_format') === 'text') return void res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(state.transcript);
    // verbose_json (whisper models) also says which language it detected, by name.
    if (responseFormat === 'verbose_json') return sendJson(res, 200, { task: 'transcribe', language: state.transcriptLanguage, text: state.transcript, segments: [] });
    sendJson(res, 200, { text: state.transcript });
  }

  const server = await listenFake(async (req, res, raw) => {
    const path = new URL(req.url ?? '/', 'http://fake').pathname;
    if (req.method === 'POST' && path === '/v1/chat/completions') return chatCompletions(req, res, raw);
    if (req.method === 'POST' && path === '/v1/audio/transcriptions') return transcriptions(req, res, raw);
    if (req.method === 'GET' && path === '/v1/models') {
      if (req.headers.authorization !== `Bearer ${apiKey}`) {
        return sendJson(res, 401, errorBody('Incorrect API key provided', 'invalid_request_error', 'invalid_api_key'));
      }
      return sendJson(res, 200, { object: 'list', data: [{ id: 'fake-model', object: 'model', created: 1700000000, owned_by: 'fake' }] });
    }
    sendJson(res, 404, errorBody(`Invalid URL (${req.method} ${path})`, 'invalid_request_error', null));
  });

  const baseURL = `${server.url}/v1`;
  const state = {
    url: server.url,
    baseURL,
    apiKey,
    server: server.server,
    calls: [] as FakeChatCall[],
    transcriptions: [] as FakeTranscription[],
    /** The file of each recorded transcription call, in the same order. */
    transcribedFiles: [] as Buffer[],
    /** Failures for the next transcription calls, one consumed per call (after `nextModes`' mode). */
    nextTranscriptionErrors: [] as FakeTranscriptionError[],
    /** Mode for calls when `nextModes` is empty. */
    mode: 'ok' as FakeOpenAIMode,
    /** Modes for the next calls, one consumed per chat or transcription call. */
    nextModes: [] as FakeOpenAIMode[],
    /** Reply script used when `nextReplies` is empty. */
    reply: echo as (body: ChatRequestBody) => string,
    nextReplies: [] as string[],
    /** Characters (code points) per streamed content chunk. */
    chunkSize: options.chunkSize ?? 4,
    /** Milliseconds between streamed chunks (and before a non-streamed answer). */
    delayMs: options.delayMs ?? 0,
    transcript: '你好，世界',
    /** The language verbose_json reports, as Whisper names it. */
    transcriptLanguage: 'chinese',
    usageFor,
    env(): Record<string, string> {
      return { OPENAI_BASE_URL: baseURL, OPENAI_API_KEY: apiKey };
    },
    /** Stops the server, cutting hanging responses and clearing pending timers. */
    async close(): Promise<void> {
      closing = true;
      delays.clear();
      await server.close();
    },
  };
  return state;
}

export type FakeOpenAI = Awaited<ReturnType<typeof startFakeOpenAI>>;

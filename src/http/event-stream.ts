import type { FastifyReply } from 'fastify';

/** An open `text/event-stream` response. */
export interface EventStream {
  /** Sends one event; `data` is written as ASCII-only JSON on one line. No-op once closed. */
  send(event: string | undefined, data: unknown): void;
  /** Sends one event whose data is already text (e.g. OpenAI's `[DONE]`); it must hold no newline. */
  sendText(event: string | undefined, text: string): void;
  /** Ends the response. */
  end(): void;
  /** True once the client went away or `end` was called. */
  readonly closed: boolean;
  /** Aborted when the client goes away (or `end` is called): stop the work behind the stream. */
  readonly signal: AbortSignal;
}

/**
 * JSON with every non-ASCII character escaped (`\u4f60`). The stream is then pure ASCII, so a
 * client that reads arbitrary byte chunks and decodes each on its own (mini-programs have no
 * TextDecoder) never sees a character split across chunks.
 */
export function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * Takes over the response and starts an event stream: the headers fastify and its plugins
 * set so far (CORS, request id, security headers) are kept, proxies are told not to buffer,
 * and a `: ping` comment goes out every `keepAliveMs` while nothing else does.
 */
export function openEventStream(reply: FastifyReply, opts: { keepAliveMs: number; status?: number }): EventStream {
  const abort = new AbortController();
  const res = reply.raw;
  reply.hijack();
  res.writeHead(opts.status ?? 200, {
    ...(reply.getHeaders() as Record<string, string>),
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.flushHeaders();
  let closed = false;
  let lastWrite = Date.now();
  const write = (chunk: string) => {
    if (closed) return;
    lastWrite = Date.now();
    res.write(chunk);
  };
  const timer = setInterval(() => {
    if (Date.now() - lastWrite >= opts.keepAliveMs - 50) write(': ping\n\n');
  }, Math.max(50, Math.floor(opts.keepAliveMs / 2)));
  const finish = () => {
    if (closed) return;
    closed = true;
    clearInterval(timer);
    abort.abort();
  };
  res.once('close', finish);
  return {
    send: (event, data) => write(`${event ? `event: ${event}\n` : ''}data: ${asciiJson(data)}\n\n`),
    sendText: (event, text) => write(`${event ? `event: ${event}\n` : ''}data: ${text.replace(/[\r\n]/g, ' ')}\n\n`),
    end: () => {
      if (closed) return;
      finish();
      res.end();
    },
    get closed() {
      return closed;
    },
    signal: abort.signal,
  };
}

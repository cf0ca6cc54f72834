import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type FakeOpenAI, startFakeOpenAI, usageFor } from '../fakes/openai';
import { MANIFEST, type ReplayProvider, startReplayProvider } from '../fakes/replay-provider';
import { login, rows } from '../helpers/accounts';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { waitFor } from '../helpers/wait';

/*
 * The /v1 event streams for mini-programs: POST /v1/chat/message and /v1/ai/message with
 * "stream": true (or Accept: text/event-stream), and GET /v1/chat/messages/{id}/events.
 * Streams are read as a device reads them: bytes in small chunks, each decoded on its own.
 */

interface SseEvent {
  event?: string;
  data?: unknown;
  comment?: string;
}

interface Delta {
  messageId: string;
  sessionId: string;
  seq: number;
  delta: string;
  reasoningDelta: string;
}

interface ReadOptions {
  /** Stop reading (and close the connection) once this holds. */
  stopWhen?: (events: SseEvent[]) => boolean;
  abort?: AbortController;
}

/** A small seeded generator: chunk sizes vary, runs repeat. */
function chunkSizes(seed = 7): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return 1 + (s % 7);
  };
}

/** Parses `text/event-stream` text fed in arbitrary pieces. */
function sseParser(onEvent: (e: SseEvent) => void) {
  let buffer = '';
  return (text: string) => {
    buffer += text;
    let end;
    while ((end = buffer.indexOf('\n\n')) !== -1) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const e: SseEvent = {};
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) e.comment = line.slice(1).trim();
        else if (line.startsWith('event: ')) e.event = line.slice(7);
        else if (line.startsWith('data: ')) e.data = JSON.parse(line.slice(6));
      }
      onEvent(e);
    }
  };
}

/**
 * Reads a response as a mini-program does (`onChunkReceived`, no TextDecoder): the bytes
 * re-split into chunks of 1–7 bytes, each turned into text on its own, byte by byte.
 */
async function readAsDevice(res: Response, opts: ReadOptions = {}): Promise<{ events: SseEvent[]; bytes: number[]; ended: boolean }> {
  const events: SseEvent[] = [];
  const bytes: number[] = [];
  const feed = sseParser((e) => events.push(e));
  const nextSize = chunkSizes();
  const reader = res.body!.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return { events, bytes, ended: true };
      for (let i = 0; i < value.length; ) {
        const piece = value.subarray(i, i + nextSize());
        i += piece.length;
        bytes.push(...piece);
        feed(String.fromCharCode(...piece));
      }
      if (opts.stopWhen?.(events)) {
        opts.abort?.abort();
        return { events, bytes, ended: false };
      }
    }
  } catch (err) {
    if (opts.abort?.signal.aborted) return { events, bytes, ended: false };
    throw err;
  }
}

const named = (events: SseEvent[], name: string) => events.filter((e) => e.event === name);
const deltasOf = (events: SseEvent[]) => named(events, 'delta').map((e) => e.data as Delta);
const seqsOf = (events: SseEvent[]) => deltasOf(events).map((d) => d.seq);
const textOf = (events: SseEvent[]) => deltasOf(events).map((d) => d.delta).join('');
/** Keys of an object and of its nested objects, as paths. */
const shapeOf = (value: unknown, prefix = ''): string[] =>
  typeof value === 'object' && value !== null && !Array.isArray(value)
    ? Object.entries(value).flatMap(([k, v]) => [`${prefix}${k}`, ...shapeOf(v, `${prefix}${k}.`)]).sort()
    : [];

describe('REST event streams', () => {
  let ai: FakeOpenAI;
  let t: TestApp;
  const KEEP_ALIVE_MS = 150;

  beforeAll(async () => {
    ai = await startFakeOpenAI();
    t = await startTestApp({
      env: { ...ai.env(), DEFAULT_MODEL: 'gpt-test' },
      timings: (timings) => {
        timings.streaming.keepAliveMs = KEEP_ALIVE_MS;
      },
    });
  });
  afterAll(async () => {
    await t.close();
    await ai.close();
  });
  afterEach(() => {
    ai.delayMs = 0;
    ai.chunkSize = 4;
  });

  const post = (path: string, opts: { token?: string; body: unknown; accept?: string; abort?: AbortController }) =>
    fetch(`${t.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}), ...(opts.accept ? { accept: opts.accept } : {}) },
      body: JSON.stringify(opts.body),
      signal: opts.abort?.signal,
    });
  const catchUp = (token: string, messageId: string, query = '', abort?: AbortController) =>
    fetch(`${t.url}/v1/chat/messages/${messageId}/events${query}`, { headers: { authorization: `Bearer ${token}` }, signal: abort?.signal });
  const storedReply = async (messageId: string) => (await rows(t, 'select status, content, reasoning from messages where id = ?', [messageId]))[0];
  const messageCount = async () => Number((await rows(t, 'select count(*) as n from messages'))[0].n);

  it('streams Chinese and emoji as ASCII a device parses chunk by chunk, and ends with the route\'s usual data', async () => {
    const { token } = await login(t);
    const text = '你好，世界！😀 流式回复：一二三四五六七八九十。🎉';
    // Paced, so pieces are not joined into one delta on the way.
    ai.delayMs = 10;
    ai.nextReplies.push(text);
    const res = await post('/v1/ai/message', { token, body: { message: '讲个故事', stream: true } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const { events, bytes, ended } = await readAsDevice(res);
    expect(ended).toBe(true);
    expect(bytes.every((b) => b < 0x80)).toBe(true);
    expect(textOf(events)).toBe(text);
    const deltas = deltasOf(events);
    expect(deltas.length).toBeGreaterThan(1);
    expect(seqsOf(events)).toEqual(deltas.map((_d, i) => i + 1));
    const messageId = deltas[0].messageId;
    expect(deltas.every((d) => d.messageId === messageId && d.sessionId === deltas[0].sessionId && d.reasoningDelta === '')).toBe(true);

    const meaningful = events.filter((e) => !e.comment);
    expect(meaningful.at(-1)?.event).toBe('done');
    const done = meaningful.at(-1)!.data;
    const usage = usageFor(ai.calls.at(-1)!.body, text);
    expect(done).toEqual({
      text,
      aiGenerated: true,
      reasoning: null,
      status: 'complete',
      finishReason: 'stop',
      usage: { ...usage, reasoning_tokens: null, estimated: false },
      model: 'gpt-test',
      metadata: { modelType: 'chat', responseLength: text.length, tokensUsed: usage.total_tokens },
      sessionId: deltas[0].sessionId,
      messageId,
    });
    // The same keys, at every depth, as the route answers without streaming.
    const plain = (await t.rest('POST', '/v1/ai/message', { token, body: { message: '再讲一个' } })).body.data;
    expect(shapeOf(done)).toEqual(shapeOf(plain));
    expect(await storedReply(messageId)).toMatchObject({ status: 'COMPLETE', content: text });
  });

  it('streams on "stream": true and on Accept: text/event-stream, on both routes; answers the envelope otherwise', async () => {
    const { token } = await login(t);
    const routes = [
      { path: '/v1/chat/message', body: { content: '你好' } },
      { path: '/v1/ai/message', body: { message: '你好' } },
    ];
    for (const route of routes) {
      const plain = await t.rest('POST', route.path, { token, body: route.body });
      expect(plain.status).toBe(200);
      expect(plain.headers.get('content-type')).toMatch(/^application\/json/);
      expect(plain.body).toMatchObject({ code: 200, message: 'success' });
      for (const how of [{ body: { ...route.body, stream: true } }, { body: route.body, accept: 'text/event-stream' }]) {
        const res = await post(route.path, { token, ...how });
        expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
        const { events } = await readAsDevice(res);
        expect(textOf(events)).toBe('Echo: 你好');
        const done = named(events, 'done');
        expect(done).toHaveLength(1);
        expect(shapeOf(done[0].data)).toEqual(shapeOf(plain.body.data));
        if (route.path === '/v1/chat/message') {
          expect(done[0].data).toEqual({ sessionId: expect.any(String), messageId: deltasOf(events)[0].messageId, reply: { content: 'Echo: 你好', aiGenerated: true, time: expect.stringMatching(/Z$/) } });
        }
      }
    }
  });

  it('sends ": ping" comments while the provider is slow', async () => {
    const { token } = await login(t);
    ai.delayMs = KEEP_ALIVE_MS * 3;
    ai.chunkSize = 50;
    ai.nextReplies.push('慢慢来');
    const { events } = await readAsDevice(await post('/v1/chat/message', { token, body: { content: 'slow', stream: true } }));
    expect(events.filter((e) => e.comment === 'ping').length).toBeGreaterThan(0);
    expect(textOf(events)).toBe('慢慢来');
    expect(named(events, 'done')).toHaveLength(1);
  });

  it('ends with event: error when the provider fails mid-stream', async () => {
    const { token } = await login(t);
    ai.chunkSize = 2;
    ai.delayMs = 10;
    ai.nextReplies.push('半途而废的回答');
    ai.nextModes.push('breakMidStream');
    const { events, ended } = await readAsDevice(await post('/v1/ai/message', { token, body: { message: 'break', stream: true } }));
    expect(ended).toBe(true);
    const meaningful = events.filter((e) => !e.comment);
    expect(meaningful.at(-1)).toEqual({ event: 'error', data: { code: 502, message: expect.any(String), details: { reason: expect.any(String) } } });
    expect((meaningful.at(-1)!.data as { message: string }).message.length).toBeGreaterThan(0);
    expect(named(events, 'done')).toHaveLength(0);
    const deltas = deltasOf(events);
    expect(textOf(events)).toBe('半途而废'); // the fake breaks after two chunks
    expect(await storedReply(deltas[0].messageId)).toMatchObject({ status: 'FAILED', content: '半途而废' });
  });

  it('refuses before streaming with the usual envelope, storing nothing', async () => {
    const { token } = await login(t);
    const other = await login(t);
    const theirs = (await t.rest<{ sessionId: string }>('POST', '/v1/chat/message', { token: other.token, body: { content: 'mine' } })).body.data.sessionId;
    const before = await messageCount();
    const cases = [
      { status: 401, path: '/v1/chat/message', opts: { body: { content: 'hi', stream: true } } },
      { status: 401, path: '/v1/ai/message', opts: { body: { message: 'hi' }, accept: 'text/event-stream' } },
      { status: 400, path: '/v1/chat/message', opts: { token, body: { stream: true } } },
      { status: 400, path: '/v1/ai/message', opts: { token, body: { content: 'wrong field' }, accept: 'text/event-stream' } },
      { status: 404, path: '/v1/chat/message', opts: { token, body: { content: 'hi', sessionId: theirs, stream: true } } },
      { status: 404, path: '/v1/ai/message', opts: { token, body: { message: 'hi', sessionId: theirs }, accept: 'text/event-stream' } },
    ];
    for (const c of cases) {
      const res = await post(c.path, c.opts);
      expect({ path: c.path, status: res.status, type: res.headers.get('content-type') }).toEqual({ path: c.path, status: c.status, type: expect.stringMatching(/^application\/json/) });
      expect(await res.json()).toMatchObject({ code: c.status, data: null, error: { code: c.status, message: expect.any(String) } });
    }
    expect(await messageCount()).toBe(before);
  });

  it('catches up after a dropped stream with exactly the rest, and the reply goes on and is stored', async () => {
    const { token } = await login(t);
    const text = '一二三四五六七八九十甲乙丙丁';
    // Paced so that most of the reply is still to come when the client catches up.
    ai.chunkSize = 1;
    ai.delayMs = 80;
    ai.nextReplies.push(text);
    const abort = new AbortController();
    const first = await readAsDevice(await post('/v1/chat/message', { token, body: { content: 'long', stream: true }, abort }), {
      abort,
      stopWhen: (events) => named(events, 'delta').length >= 3,
    });
    expect(first.ended).toBe(false);
    const seen = deltasOf(first.events);
    expect(named(first.events, 'done')).toHaveLength(0);
    const { messageId } = seen[0];
    const lastSeq = seen.at(-1)!.seq;

    const rest = await catchUp(token, messageId, `?afterSeq=${lastSeq}`);
    expect(rest.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const { events } = await readAsDevice(rest);
    expect(seqsOf(events)).toEqual(deltasOf(events).map((_d, i) => lastSeq + 1 + i));
    expect(textOf(first.events) + textOf(events)).toBe(text);
    const done = named(events, 'done');
    expect(done).toHaveLength(1);
    expect(done[0].data).toMatchObject({ text, status: 'complete', finishReason: 'stop', aiGenerated: true, messageId, sessionId: seen[0].sessionId });
    expect(await storedReply(messageId)).toMatchObject({ status: 'COMPLETE', content: text });

    // Finished: just the done event.
    const after = await readAsDevice(await catchUp(token, messageId, '?afterSeq=0'));
    expect(after.events.filter((e) => !e.comment).map((e) => e.event)).toEqual(['done']);
    expect(after.events.find((e) => e.event === 'done')!.data).toEqual(done[0].data);
  });

  it('a disconnected stream does not stop its reply: it is stored COMPLETE', async () => {
    const { token } = await login(t);
    const text = '断开以后回复继续生成并保存';
    ai.chunkSize = 1;
    ai.delayMs = 30;
    ai.nextReplies.push(text);
    const abort = new AbortController();
    const { events } = await readAsDevice(await post('/v1/ai/message', { token, body: { message: 'go', stream: true }, abort }), { abort, stopWhen: (e) => named(e, 'delta').length >= 1 });
    const { messageId } = deltasOf(events)[0];
    const stored = await waitFor(async () => {
      const row = await storedReply(messageId);
      return row.status !== 'STREAMING' && row;
    }, 10_000, 'the reply being stored');
    expect(stored).toMatchObject({ status: 'COMPLETE', content: text });
    expect(ai.calls.at(-1)!.aborted).toBe(false);
  });

  it('GET .../events: 404 for someone else\'s or an unknown message, 400 for a malformed afterSeq, 401 without a credential', async () => {
    const { token } = await login(t);
    const other = await login(t);
    const theirs = (await t.rest<{ messageId: string }>('POST', '/v1/chat/message', { token: other.token, body: { content: 'mine' } })).body.data.messageId;
    const mine = (await t.rest<{ messageId: string }>('POST', '/v1/chat/message', { token, body: { content: 'mine too' } })).body.data.messageId;
    const cases: Array<[number, Promise<Response>]> = [
      [404, catchUp(token, theirs)],
      [404, catchUp(token, '01JUNKNOWNUNKNOWNUNKNOWN00')],
      [400, catchUp(token, mine, '?afterSeq=abc')],
      [400, catchUp(token, mine, '?afterSeq=-1')],
      [401, fetch(`${t.url}/v1/chat/messages/${mine}/events`)],
    ];
    for (const [status, pending] of cases) {
      const res = await pending;
      expect({ status: res.status, type: res.headers.get('content-type') }).toEqual({ status, type: expect.stringMatching(/^application\/json/) });
      expect(await res.json()).toMatchObject({ code: status, data: null, error: { code: status } });
    }
  });

  it('is listed in /v1/openapi.json: the GET route, and text/event-stream on the POST routes', async () => {
    type Op = { responses: Record<string, { content?: Record<string, unknown> }> };
    const doc = (await (await fetch(`${t.url}/v1/openapi.json`)).json()) as { paths: Record<string, { get?: Op; post?: Op }> };
    expect(Object.keys(doc.paths['/v1/chat/messages/{messageId}/events'].get!.responses['200'].content!)).toEqual(['text/event-stream']);
    for (const path of ['/v1/chat/message', '/v1/ai/message']) {
      expect(Object.keys(doc.paths[path].post!.responses['200'].content!).sort()).toEqual(['application/json', 'text/event-stream']);
    }
  });
});

describe('REST event streams of a reasoning model', () => {
  let replay: ReplayProvider;
  let t: TestApp;
  const fixture = MANIFEST.streams.find((f) => f.file === 'deepseek-reasoner.sse')!;

  beforeAll(async () => {
    replay = await startReplayProvider();
    const file = join(tmpdir(), `models-${process.pid}-rest-stream.json`);
    writeFileSync(file, JSON.stringify([{ id: 'replay', name: 'Replay', provider: 'deepseek', baseURL: replay.baseURL, apiKeyEnv: 'REPLAY_KEY', default: true, prices: { prompt: 0, completion: 0 } }]));
    t = await startTestApp({ env: { AI_MODELS: file, REPLAY_KEY: replay.apiKey } });
  });
  afterAll(async () => {
    await t.close();
    await replay.close();
  });

  it('sends the reasoning as reasoningDelta', async () => {
    const { token } = await login(t);
    replay.next.push({ stream: fixture.file });
    const res = await fetch(`${t.url}/v1/ai/message`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${token}` },
      body: JSON.stringify({ message: 'how many r in strawberry?' }),
    });
    const { events } = await readAsDevice(res);
    const deltas = deltasOf(events);
    expect(fixture.expected.reasoning.length).toBeGreaterThan(0);
    expect(deltas.map((d) => d.reasoningDelta).join('')).toBe(fixture.expected.reasoning);
    expect(deltas.map((d) => d.delta).join('')).toBe(fixture.expected.content);
    expect(named(events, 'done')[0].data).toMatchObject({ text: fixture.expected.content, reasoning: fixture.expected.reasoning, status: 'complete' });
  });
});

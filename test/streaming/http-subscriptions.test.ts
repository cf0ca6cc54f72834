import { ApolloClient, HttpLink, InMemoryCache } from '@apollo/client';
import { print } from 'graphql';
import { createClient, type ExecutionResult } from 'graphql-sse';
import { ApolloFollowDocument, type ApolloFollowSubscription, ChatEventsDocument, LogoutDocument, ReplyStreamDocument, type ReplyStreamSubscription } from '../generated/graphql';
import { login } from '../helpers/accounts';
import { captureLogs } from '../helpers/log-capture';
import { sent } from '../helpers/replies';
import { startTestApp, type GqlError, type TestApp } from '../helpers/test-app';
import { waitFor } from '../helpers/wait';
import { type FakeOpenAI, startFakeOpenAI } from '../fakes/openai';

/*
 * Subscriptions over POST /graphql: Apollo's multipart protocol (Apollo Client's HttpLink)
 * and graphql-sse, with the same checks, context and revocation as graphql-ws.
 */

const REPLY_STREAM = print(ReplyStreamDocument);
type ReplyEvent = ReplyStreamSubscription['replyStream'];

// The raw reader below: a POST /graphql read as Apollo's multipart stream, part by part.

/** A POST /graphql read as Apollo's multipart subscription stream, part by part. */
export interface MultipartRead {
  status: number;
  headers: Headers;
  /** Every byte received so far, as text. */
  raw(): string;
  /** The JSON bodies of the parts received so far (`{}` heartbeats included). */
  parts(): unknown[];
  /** True once the closing delimiter arrived. */
  ended(): boolean;
  /** Waits until `match` holds for the parts (or the stream ended, for `untilEnd`). */
  until(match: (parts: unknown[]) => boolean, what: string): Promise<void>;
  untilEnd(): Promise<void>;
  /** Goes away mid-stream, as a closed tab does. */
  abort(): void;
}

export const APOLLO_ACCEPT = 'multipart/mixed;boundary="graphql";subscriptionSpec="1.0",application/json';
const DELIMITER = '\r\n--graphql';

/** Starts the request and reads its body in the background. */
export async function readMultipart(url: string, body: unknown, headers: Record<string, string> = {}): Promise<MultipartRead> {
  const abort = new AbortController();
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: APOLLO_ACCEPT, ...headers },
    body: JSON.stringify(body),
    signal: abort.signal,
  });
  let raw = '';
  let finished = false;
  const decoder = new TextDecoder();
  void (async () => {
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) raw += decoder.decode(chunk, { stream: true });
    } catch {
      // aborted by the test
    }
    finished = true;
  })();
  // A part is complete once the delimiter after it arrived.
  const parts = () => {
    const segments = raw.split(DELIMITER).slice(1, -1);
    return segments.map((s) => JSON.parse(s.slice(s.indexOf('\r\n\r\n') + 4)) as unknown);
  };
  const ended = () => raw.endsWith(`${DELIMITER}--\r\n`);
  return {
    status: res.status,
    headers: res.headers,
    raw: () => raw,
    parts,
    ended,
    until: async (match, what) => {
      await waitFor(() => match(parts()) || finished, 10_000, what);
      if (!match(parts())) throw new Error(`the stream ended without ${what}: ${raw}`);
    },
    untilEnd: async () => {
      await waitFor(() => finished, 10_000, 'the end of the stream');
    },
    abort: () => abort.abort(),
  };
}

/** A graphql-sse client (distinct connections) run to its end: every result, and how it ended. */
function sseSubscribe(url: string, query: string, variables: Record<string, unknown>, headers: Record<string, string> = {}) {
  const client = createClient({ url: `${url}/graphql`, singleConnection: false, headers, retryAttempts: 0 });
  const results: ExecutionResult[] = [];
  let ended: 'complete' | 'error' | undefined;
  let error: unknown;
  const dispose = client.subscribe(
    { query, variables },
    {
      next: (r) => void results.push(r as ExecutionResult),
      error: (e) => {
        error = e;
        ended = 'error';
      },
      complete: () => void (ended ??= 'complete'),
    },
  );
  return {
    results,
    get ended() {
      return ended;
    },
    get error() {
      return error;
    },
    untilEnd: () => waitFor(() => ended, 10_000, 'the graphql-sse subscription to end'),
    dispose: () => {
      dispose();
      client.dispose();
    },
  };
}

const payloadsOf = (parts: unknown[]) => parts.filter((p) => Object.keys(p as object).length > 0) as Array<{ payload: { data?: { replyStream: ReplyEvent } | null; errors?: GqlError[] } | null; errors?: GqlError[] }>;
const eventsOf = (parts: unknown[]) => payloadsOf(parts).map((p) => p.payload!.data!.replyStream);

describe('subscriptions over POST /graphql', () => {
  let ai: FakeOpenAI;
  let t: TestApp;
  beforeAll(async () => {
    ai = await startFakeOpenAI({ chunkSize: 2 });
    // A short heartbeat, so one shows up between slow deltas.
    t = await startTestApp({ env: { ...ai.env(), DEFAULT_MODEL: 'gpt-test' }, timings: (timings) => Object.assign(timings.streaming, { keepAliveMs: 100 }) });
  });
  afterAll(async () => {
    await t.close();
    await ai.close();
  });
  afterEach(() => {
    ai.delayMs = 0;
    jest.restoreAllMocks();
  });

  /** Followers of replies now running (the reply runner's follow generators not yet finished). */
  const followers = () => {
    let open = 0;
    const runner = t.app.deps.replies;
    const follow = runner.follow.bind(runner);
    jest.spyOn(runner, 'follow').mockImplementation((...args) => {
      const source = follow(...args);
      return (async function* () {
        open++;
        try {
          yield* source;
        } finally {
          open--;
        }
      })();
    });
    return () => open;
  };

  it('Apollo Client with HttpLink alone follows a streamed reply: deltas in order, then done with the stored message', async () => {
    const { token } = await login(t);
    ai.delayMs = 120; // slower than the heartbeat
    ai.nextReplies.push('abcdefghij');
    const out = await sent(t, token, { content: 'spell it', stream: true });
    const client = new ApolloClient({ link: new HttpLink({ uri: `${t.url}/graphql`, headers: { authorization: `Bearer ${token}` } }), cache: new InMemoryCache() });
    try {
      const events: Array<ApolloFollowSubscription['replyStream']> = [];
      await new Promise<void>((resolve, reject) => {
        client.subscribe({ query: ApolloFollowDocument, variables: { messageId: out.messageId } }).subscribe({
          next: (result) => {
            if (result.error) return reject(result.error);
            events.push(result.data!.replyStream);
          },
          error: reject,
          complete: resolve,
        });
      });
      const text = events.filter((e) => !e.done).map((e) => e.delta).join('');
      expect(text).toBe('abcdefghij');
      expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
      expect(events.at(-1)).toMatchObject({ done: true, message: { id: out.messageId, content: 'abcdefghij', status: 'COMPLETE' } });
      expect(events.filter((e) => e.done)).toHaveLength(1);
    } finally {
      client.stop();
    }
  });

  it('writes the exact multipart wire format, with {} heartbeats while the reply is quiet', async () => {
    const { token } = await login(t);
    const finished = await sent(t, token, { content: 'done already' });
    const once = await readMultipart(t.url, { query: REPLY_STREAM, variables: { messageId: finished.messageId } }, { authorization: `Bearer ${token}` });
    await once.untilEnd();
    expect(once.status).toBe(200);
    expect(once.headers.get('content-type')).toBe('multipart/mixed;boundary="graphql";subscriptionSpec="1.0"');
    expect(once.headers.get('x-request-id')).toEqual(expect.any(String));
    const [event] = eventsOf(once.parts());
    expect(event).toMatchObject({ messageId: finished.messageId, done: true, message: { content: 'Echo: done already', status: 'COMPLETE' } });
    expect(once.raw()).toBe(`\r\n--graphql\r\ncontent-type: application/json; charset=utf-8\r\n\r\n${JSON.stringify({ payload: { data: { replyStream: event } } })}\r\n--graphql--\r\n`);

    ai.nextModes.push('hangAfterFirstChunk');
    const hung = await sent(t, token, { content: 'then silence', stream: true });
    const live = await readMultipart(t.url, { query: REPLY_STREAM, variables: { messageId: hung.messageId } }, { authorization: `Bearer ${token}` });
    await live.until((parts) => parts.filter((p) => Object.keys(p as object).length === 0).length >= 2, 'two heartbeats');
    expect(eventsOf(live.parts()).map((e) => [e.seq, e.delta, e.done])).toEqual([[1, 'Ec', false]]);
    expect(live.parts().slice(1).every((p) => JSON.stringify(p) === '{}')).toBe(true);
    expect(live.ended()).toBe(false);
    live.abort();
    await t.gql(`mutation($id: ID!) { stopGeneration(messageId: $id) { status } }`, { id: hung.messageId }, { token });
  });

  it('the graphql-sse client (distinct connections) follows a reply end to end with an Authorization header', async () => {
    const { token } = await login(t);
    ai.delayMs = 20;
    ai.nextReplies.push('0123456789');
    const out = await sent(t, token, { content: 'digits', stream: true });
    const sub = sseSubscribe(t.url, REPLY_STREAM, { messageId: out.messageId }, { authorization: `Bearer ${token}` });
    await sub.untilEnd();
    expect(sub.ended).toBe('complete');
    const events = sub.results.map((r) => (r.data as ReplyStreamSubscription).replyStream);
    expect(events.filter((e) => !e.done).map((e) => e.delta).join('')).toBe('0123456789');
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.at(-1)).toMatchObject({ done: true, message: { id: out.messageId, content: '0123456789', status: 'COMPLETE' } });
  });

  it('refuses a subscription POSTed without a streaming Accept with 400, naming the ways to subscribe', async () => {
    const { token } = await login(t);
    const out = await sent(t, token, { content: 'hi' });
    for (const accept of [undefined, 'application/json', 'multipart/mixed;deferSpec=20220824, application/json']) {
      const res = await fetch(`${t.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...(accept ? { accept } : {}) },
        body: JSON.stringify({ query: REPLY_STREAM, variables: { messageId: out.messageId } }),
      });
      const body = (await res.json()) as { errors: GqlError[] };
      expect(res.status).toBe(400);
      expect(body.errors).toHaveLength(1);
      expect(body.errors[0].extensions).toMatchObject({ code: 'BAD_REQUEST', status: 400, details: { reason: 'UNSUPPORTED' } });
      for (const way of ['graphql-ws', 'Accept: multipart/mixed;subscriptionSpec="1.0"', 'Accept: text/event-stream']) expect(body.errors[0].message).toContain(way);
    }
  });

  it('queries and mutations still run with either Accept', async () => {
    const { token } = await login(t);
    const viaMultipartAccept = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: APOLLO_ACCEPT, authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: '{ models { id } }' }),
    });
    expect(viaMultipartAccept.status).toBe(200);
    expect(((await viaMultipartAccept.json()) as { data: { models: unknown[] } }).data.models.length).toBeGreaterThan(0);

    const query = sseSubscribe(t.url, '{ models { id } }', {});
    await query.untilEnd();
    expect(query.ended).toBe('complete');
    expect((query.results[0].data as { models: unknown[] }).models.length).toBeGreaterThan(0);
    const mutation = sseSubscribe(t.url, 'mutation { sendMessage(input: { content: "over sse" }) { reply { content status } } }', {}, { authorization: `Bearer ${token}` });
    await mutation.untilEnd();
    expect(mutation.results.map((r) => r.data)).toEqual([{ sendMessage: { reply: { content: 'Echo: over sse', status: 'COMPLETE' } } }]);
  });

  it('ends both kinds of stream when the credential is revoked (logout), with an error that says so', async () => {
    const { token } = await login(t);
    const auth = { authorization: `Bearer ${token}` };
    ai.nextModes.push('hangAfterFirstChunk', 'hangAfterFirstChunk');
    const first = await sent(t, token, { content: 'one', stream: true });
    const second = await sent(t, token, { content: 'two', stream: true });
    const multipart = await readMultipart(t.url, { query: REPLY_STREAM, variables: { messageId: first.messageId } }, auth);
    const sse = sseSubscribe(t.url, REPLY_STREAM, { messageId: second.messageId }, auth);
    await multipart.until((parts) => eventsOf(parts).length === 1, 'the first delta over multipart');
    await waitFor(() => sse.results.length === 1, 5000, 'the first delta over graphql-sse');

    expect((await t.gql(LogoutDocument, {}, { token })).body.data).toEqual({ logout: true });
    await multipart.untilEnd();
    await sse.untilEnd();

    expect(multipart.ended()).toBe(true);
    const fatal = payloadsOf(multipart.parts()).at(-1)!;
    expect(fatal).toEqual({ payload: null, errors: [{ message: 'Token revoked: the subscription ended', extensions: { code: 'UNAUTHENTICATED', status: 401 } }] });
    expect(sse.ended).toBe('complete');
    expect(sse.results.at(-1)).toEqual({ errors: [{ message: 'Token revoked: the subscription ended', extensions: { code: 'UNAUTHENTICATED', status: 401 } }] });
    await waitFor(() => t.app.deps.authenticator.sessions.count() === 0, 5000, 'the credential watches to be let go');
  });

  it("refuses someone else's reply with NOT_FOUND and anonymous callers with UNAUTHENTICATED, sending no event", async () => {
    const owner = await login(t);
    const other = await login(t);
    const out = await sent(t, owner.token, { content: 'mine' });
    const variables = { messageId: out.messageId };

    const stranger = await readMultipart(t.url, { query: REPLY_STREAM, variables }, { authorization: `Bearer ${other.token}` });
    await stranger.untilEnd();
    expect(payloadsOf(stranger.parts())).toEqual([{ payload: { errors: [expect.objectContaining({ extensions: expect.objectContaining({ code: 'NOT_FOUND' }) })] } }]);
    const strangerSse = sseSubscribe(t.url, REPLY_STREAM, variables, { authorization: `Bearer ${other.token}` });
    await strangerSse.untilEnd();
    expect(strangerSse.results).toEqual([{ errors: [expect.objectContaining({ extensions: expect.objectContaining({ code: 'NOT_FOUND' }) })] }]);

    // Apollo Client reports the refusal as GraphQL errors on the result, as over graphql-ws.
    const client = new ApolloClient({ link: new HttpLink({ uri: `${t.url}/graphql` }), cache: new InMemoryCache() });
    try {
      const refused = await new Promise<{ data: unknown; error: unknown }>((resolve, reject) => {
        client.subscribe({ query: ApolloFollowDocument, variables }).subscribe({ next: (r) => resolve({ data: r.data, error: r.error }), error: reject, complete: () => reject(new Error('completed without a result')) });
      });
      expect(refused.data).toBeUndefined();
      expect(refused.error).toMatchObject({ errors: [expect.objectContaining({ extensions: expect.objectContaining({ code: 'UNAUTHENTICATED', status: 401 }) })] });
    } finally {
      client.stop();
    }
    const anonymousSse = sseSubscribe(t.url, REPLY_STREAM, variables);
    await anonymousSse.untilEnd();
    expect(anonymousSse.results).toEqual([{ errors: [expect.objectContaining({ extensions: expect.objectContaining({ code: 'UNAUTHENTICATED' }) })] }]);
    const badToken = await readMultipart(t.url, { query: REPLY_STREAM, variables }, { authorization: 'Bearer not-a-token' });
    await badToken.untilEnd();
    expect(payloadsOf(badToken.parts())).toEqual([{ payload: { errors: [expect.objectContaining({ extensions: expect.objectContaining({ code: 'UNAUTHENTICATED' }) })] } }]);
  });

  it('applies the validation rules and limits: over SSE as an error result, over multipart as Apollo answers them', async () => {
    const { token } = await login(t);
    const auth = { authorization: `Bearer ${token}` };
    const invalid = sseSubscribe(t.url, 'subscription($m: ID!) { replyStream(messageId: $m) { nope } }', { m: 'x' }, auth);
    await invalid.untilEnd();
    expect(invalid.results).toEqual([{ data: null, errors: [expect.objectContaining({ message: expect.stringContaining('nope'), extensions: expect.objectContaining({ code: 'GRAPHQL_VALIDATION_FAILED' }) })] }]);
    const badVariables = sseSubscribe(t.url, REPLY_STREAM, { messageId: 5, afterSeq: 'x' }, auth);
    await badVariables.untilEnd();
    expect(badVariables.results).toEqual([{ data: null, errors: [expect.objectContaining({ extensions: expect.objectContaining({ code: 'BAD_USER_INPUT' }) })] }]);
    const costly = sseSubscribe(t.url, '{ chats(first: 1000) { nodes { messages(last: 1000) { id content } } } }', {}, auth);
    await costly.untilEnd();
    expect(costly.results).toEqual([{ data: null, errors: [expect.objectContaining({ message: expect.stringContaining('Query Cost limit'), extensions: expect.objectContaining({ code: 'GRAPHQL_VALIDATION_FAILED' }) })] }]);

    const res = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: APOLLO_ACCEPT, ...auth },
      body: JSON.stringify({ query: 'subscription($m: ID!) { replyStream(messageId: $m) { nope } }', variables: { m: 'x' } }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { errors: GqlError[] }).errors[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('releases the subscription when the client goes away mid-stream; the reply runs on', async () => {
    const open = followers();
    const { token } = await login(t);
    const auth = { authorization: `Bearer ${token}` };
    ai.delayMs = 60;
    ai.nextReplies.push('a slow reply that goes on for a while');
    const out = await sent(t, token, { content: 'go slowly', stream: true });
    const multipart = await readMultipart(t.url, { query: REPLY_STREAM, variables: { messageId: out.messageId } }, auth);
    const sse = sseSubscribe(t.url, REPLY_STREAM, { messageId: out.messageId }, auth);
    await multipart.until((parts) => eventsOf(parts).length >= 1, 'a delta over multipart');
    await waitFor(() => sse.results.length >= 1, 5000, 'a delta over graphql-sse');
    expect(open()).toBe(2);
    expect(t.app.deps.authenticator.sessions.count()).toBeGreaterThan(0);

    multipart.abort();
    sse.dispose();
    await waitFor(() => open() === 0 && t.app.deps.authenticator.sessions.count() === 0, 5000, 'both followers and credential watches to be let go');
    const done = (await t.app.deps.replies.state.events(out.messageId)).find((e) => e.done);
    const finished = done ?? (await waitFor(async () => (await t.app.deps.replies.state.events(out.messageId)).find((e) => e.done), 10_000, 'the reply to finish'));
    expect(finished.message).toMatchObject({ content: 'a slow reply that goes on for a while', status: 'COMPLETE' });
  });

  it('shutdown cuts open streams at once instead of waiting for them until its timeout', async () => {
    const logs = captureLogs(t.config);
    const other = await startTestApp({ env: { ...ai.env(), DEFAULT_MODEL: 'gpt-test' }, overrides: { logger: logs.logger } });
    const { token } = await login(other);
    const auth = { authorization: `Bearer ${token}` };
    const chat = await sent(other, token, { content: 'a chat to listen to' });
    // chatEvents never ends by itself.
    const multipart = await readMultipart(other.url, { query: print(ChatEventsDocument), variables: { sessionId: chat.sessionId } }, auth);
    const sse = sseSubscribe(other.url, print(ChatEventsDocument), { sessionId: chat.sessionId }, auth);
    // Live once each hears a probe event on the chat's topic (the subscription sends nothing before).
    const probe = { messageId: 'probe', sessionId: chat.sessionId, seq: 0, delta: '', reasoningDelta: '', done: false };
    await waitFor(
      () => {
        other.app.deps.replies.state.topics.publish('chat', chat.sessionId, probe);
        return multipart.parts().length > 0 && sse.results.length > 0;
      },
      5000,
      'both streams to be live',
      50,
    );
    await other.close();
    await multipart.untilEnd();
    await sse.untilEnd();
    expect(multipart.ended()).toBe(false); // cut, not completed: the client knows to subscribe again
    expect(sse.ended).toBe('error');
    expect(logs.text()).toContain('stopped');
    expect(logs.text()).not.toContain('requests still running after the shutdown timeout');
  });
});

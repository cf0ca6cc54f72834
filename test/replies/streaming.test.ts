/* eslint-disable @typescript-eslint/no-explicit-any -- responses here are not typed yet: the last four test files to move to the generated document types */
import { login, rows } from '../helpers/accounts';
import { REPLY_STREAM, send, startAppWithFakeAi } from '../helpers/replies';
import { openGraphqlWs } from '../helpers/raw-ws';
import { collect, startTestApp, type TestApp } from '../helpers/test-app';
import type { FakeOpenAI } from '../fakes/openai';

const CHAT_EVENTS = 'subscription($sessionId: ID!) { chatEvents(sessionId: $sessionId) { messageId seq delta done message { content } } }';

describe('following, resuming and stopping replies', () => {
  let ai: FakeOpenAI;
  let t: TestApp;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ ai, t, close } = await startAppWithFakeAi({ chunkSize: 3 }));
  });
  afterAll(() => close());

  const waitFor = async (check: () => Promise<boolean> | boolean, ms = 5000) => {
    const until = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > until) throw new Error('condition not met in time');
      await new Promise((r) => setTimeout(r, 10));
    }
  };

  it('a late subscriber gets the deltas generated so far, then the rest, with nothing lost or doubled', async () => {
    const { token } = await login(t);
    ai.delayMs = 15;
    const text = 'abcdefghijklmnopqrstuvwxyz0123456789';
    ai.nextReplies.push(text);
    const out = (await send(t, token, { content: 'alphabet please', stream: true })).body.data.sendMessage;
    await new Promise((r) => setTimeout(r, 80)); // some deltas are out already
    const { results } = await collect<any>(t.ws({ authorization: `Bearer ${token}` }), REPLY_STREAM, { messageId: out.messageId });
    ai.delayMs = 0;
    const events = results.map((r) => r.data.replyStream);
    expect(events.filter((e) => !e.done).map((e) => e.delta).join('')).toBe(text);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
  });

  it('a subscriber resuming with afterSeq gets exactly the missing deltas', async () => {
    const { token } = await login(t);
    ai.delayMs = 5; // chunks a few ms apart: one delta each
    ai.nextReplies.push('0123456789ABCDEFGHIJ');
    const out = (await send(t, token, { content: 'digits' })).body.data.sendMessage; // finished, still buffered
    ai.delayMs = 0;
    const { results } = await collect<any>(t.ws({ authorization: `Bearer ${token}` }), REPLY_STREAM, { messageId: out.messageId, afterSeq: 3 });
    const events = results.map((r) => r.data.replyStream);
    expect(events.map((e) => e.seq)).toEqual([4, 5, 6, 7, 8]);
    expect(events.filter((e) => !e.done).map((e) => e.delta).join('')).toBe('9ABCDEFGHIJ');
    expect(events.at(-1).message.content).toBe('0123456789ABCDEFGHIJ');
  });

  it('sends chunks that arrive together as one delta', async () => {
    const { token } = await login(t);
    ai.nextReplies.push('0123456789ABCDEFGHIJ'); // seven chunks written back to back
    const out = (await send(t, token, { content: 'all at once' })).body.data.sendMessage;
    const { results } = await collect<any>(t.ws({ authorization: `Bearer ${token}` }), REPLY_STREAM, { messageId: out.messageId });
    const events = results.map((r) => r.data.replyStream);
    const deltas = events.filter((e) => !e.done);
    expect(deltas.length).toBeLessThan(7);
    expect(deltas.map((e) => e.delta).join('')).toBe('0123456789ABCDEFGHIJ');
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
  });

  it('a reply finished long ago yields exactly one done event from storage', async () => {
    // Replies stay replayable for a short while only here (in memory and, with Redis, in the shared record).
    const short = await startTestApp({ env: { ...ai.env(), DEFAULT_MODEL: 'gpt-test' }, timings: (timings) => Object.assign(timings.replies, { retainMs: 30, localRetainWithRedisMs: 30 }) });
    try {
      const { token } = await login(short);
      const out = (await send(short, token, { content: 'old one' })).body.data.sendMessage;
      await waitFor(async () => (await short.app.deps.replies.state.meta(out.messageId)) === null);
      const { results } = await collect<any>(short.ws({ authorization: `Bearer ${token}` }), REPLY_STREAM, { messageId: out.messageId });
      expect(results.map((r) => r.data.replyStream)).toEqual([
        { messageId: out.messageId, sessionId: out.sessionId, seq: 0, delta: '', done: true, message: { id: out.messageId, content: 'Echo: old one', status: 'COMPLETE', usage: { totalTokens: out.reply.usage!.totalTokens } }, error: null },
      ]);
    } finally {
      await short.close();
    }
  });

  it('stopGeneration aborts the upstream request, keeps what was generated as STOPPED, and records usage', async () => {
    const { token } = await login(t);
    ai.delayMs = 40;
    ai.nextReplies.push('x'.repeat(300));
    const out = (await send(t, token, { content: 'go on forever', stream: true })).body.data.sendMessage;
    await waitFor(async () => (await t.app.deps.replies.state.events(out.messageId)).length >= 2);
    const res = await t.gql<any>('mutation($id: ID!) { stopGeneration(messageId: $id) { id status content usage { totalTokens } } }', { id: out.messageId }, { token });
    ai.delayMs = 0;
    const stopped = res.body.data.stopGeneration;
    expect(stopped.status).toBe('STOPPED');
    expect(stopped.content.length).toBeGreaterThan(0);
    expect(stopped.content.length).toBeLessThan(300);
    expect(stopped.usage.totalTokens).toBeGreaterThan(0);
    const call = ai.calls.at(-1)!;
    await call.closed;
    expect(call.aborted).toBe(true);
    const [row] = await rows(t, 'select status, content from messages where id = ?', [out.messageId]);
    expect(row).toEqual({ status: 'STOPPED', content: stopped.content });
  });

  it('keeps generating and stores the reply when the client that started it goes away', async () => {
    const { token } = await login(t);
    ai.delayMs = 10;
    const socket = await openGraphqlWs(t.wsUrl, { authorization: `Bearer ${token}` });
    const out = (await send(t, token, { content: 'finish without me', stream: true })).body.data.sendMessage;
    socket.socket.close();
    await t.app.deps.replies.done(out.messageId);
    ai.delayMs = 0;
    const [row] = await rows(t, 'select status, content from messages where id = ?', [out.messageId]);
    expect(row).toEqual({ status: 'COMPLETE', content: 'Echo: finish without me' });
  });

  it('chatEvents delivers every reply event of the chat to another device', async () => {
    const { token } = await login(t);
    const first = (await send(t, token, { content: 'start a chat' })).body.data.sendMessage;
    const other = t.ws({ authorization: `Bearer ${token}` });
    const events: any[] = [];
    const done = new Promise<void>((resolve, reject) => {
      other.subscribe({ query: CHAT_EVENTS, variables: { sessionId: first.sessionId } }, {
        next: (v: any) => {
          events.push(v.data.chatEvents);
          if (v.data.chatEvents.done) resolve();
        },
        error: reject,
        complete: () => undefined,
      });
    });
    await new Promise((r) => setTimeout(r, 100));
    const second = (await send(t, token, { content: 'second message', sessionId: first.sessionId })).body.data.sendMessage;
    await done;
    expect(events.every((e) => e.messageId === second.messageId)).toBe(true);
    expect(events.filter((e) => !e.done).map((e) => e.delta).join('')).toBe('Echo: second message');
  });

  it("another user can neither follow nor stop a reply, nor watch a chat: NOT_FOUND", async () => {
    const owner = await login(t);
    const other = await login(t);
    ai.delayMs = 30;
    const out = (await send(t, owner.token, { content: 'private reply', stream: true })).body.data.sendMessage;
    const follow = await collect<any>(t.ws({ authorization: `Bearer ${other.token}` }), REPLY_STREAM, { messageId: out.messageId });
    // Errors from a subscription's setup arrive as a result with errors, then the operation completes.
    expect(follow.results).toHaveLength(1);
    expect(follow.results[0].errors[0].extensions).toEqual({ code: 'NOT_FOUND', status: 404 });
    expect(follow.results[0].data).toBeUndefined();
    const watch = await collect<any>(t.ws({ authorization: `Bearer ${other.token}` }), CHAT_EVENTS, { sessionId: out.sessionId });
    expect(watch.results[0].errors[0].extensions.code).toBe('NOT_FOUND');
    const stop = await t.gql('mutation($id: ID!) { stopGeneration(messageId: $id) { id } }', { id: out.messageId }, { token: other.token });
    expect(stop.body.errors?.[0].extensions.code).toBe('NOT_FOUND');
    const finished = (await t.app.deps.replies.done(out.messageId))!.message!;
    ai.delayMs = 0;
    expect(finished.status).toBe('COMPLETE');
    for (const id of ['malformed', '01aaaaaaaaaaaaaaaaaaaaaaaa']) {
      const res = await t.gql('mutation($id: ID!) { stopGeneration(messageId: $id) { id } }', { id }, { token: owner.token });
      expect(res.body.errors?.[0].extensions.code).toBe('NOT_FOUND');
    }
  });

  it('needs a credential for every AI operation', async () => {
    expect((await t.gql('mutation { sendMessage(input: { content: "hi" }) { messageId } }')).status).toBe(401);
    expect((await t.gql('mutation { stopGeneration(messageId: "x") { id } }')).status).toBe(401);
    const sub = await collect<any>(t.ws(), REPLY_STREAM, { messageId: 'x' });
    expect(sub.results[0].errors[0].extensions.code).toBe('UNAUTHENTICATED');
  });
});

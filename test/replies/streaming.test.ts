import { ChatEventsDocument, ReplyStreamDocument, SendMessageDocument, StopGenerationDocument } from '../generated/graphql';
import { login, rows } from '../helpers/accounts';
import { dataOf, PROBE_ID, sent, untilChatEventsLive, useAppWithFakeAi } from '../helpers/replies';
import { openGraphqlWs } from '../helpers/raw-ws';
import { collect, startTestApp, subscribe } from '../helpers/test-app';
import { waitFor } from '../helpers/wait';

describe('following, resuming and stopping replies', () => {
  const fx = useAppWithFakeAi({ chunkSize: 3 });

  it('a late subscriber gets the deltas generated so far, then the rest, with nothing lost or doubled', async () => {
    const { t, ai } = fx;
    const { token } = await login(t);
    ai.delayMs = 15;
    const text = 'abcdefghijklmnopqrstuvwxyz0123456789';
    ai.nextReplies.push(text);
    const out = await sent(t, token, { content: 'alphabet please', stream: true });
    await waitFor(async () => (await t.app.deps.replies.state.events(out.messageId)).length >= 2, 5000, 'the first deltas');
    const { results } = await collect(t.ws({ authorization: `Bearer ${token}` }), ReplyStreamDocument, { messageId: out.messageId });
    ai.delayMs = 0;
    const events = results.map((r) => dataOf(r).replyStream);
    expect(events.filter((e) => !e.done).map((e) => e.delta).join('')).toBe(text);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
  });

  it('a subscriber resuming with afterSeq gets exactly the missing deltas', async () => {
    const { t, ai } = fx;
    const { token } = await login(t);
    ai.delayMs = 20; // chunks apart: one delta each
    ai.nextReplies.push('0123456789ABCDEFGHIJ');
    const out = await sent(t, token, { content: 'digits', stream: true });
    await waitFor(async () => (await t.app.deps.replies.state.events(out.messageId)).length >= 3, 5000, 'three deltas');
    const { results } = await collect(t.ws({ authorization: `Bearer ${token}` }), ReplyStreamDocument, { messageId: out.messageId, afterSeq: 3 });
    ai.delayMs = 0;
    const events = results.map((r) => dataOf(r).replyStream);
    expect(events.map((e) => e.seq)).toEqual([4, 5, 6, 7, 8]);
    expect(events.filter((e) => !e.done).map((e) => e.delta).join('')).toBe('9ABCDEFGHIJ');
    expect(events.at(-1)?.message?.content).toBe('0123456789ABCDEFGHIJ');
  });

  it('a subscriber to a finished reply gets exactly one done event with the whole message, whatever afterSeq says', async () => {
    const { t } = fx;
    const { token } = await login(t);
    const out = await sent(t, token, { content: 'finished already' });
    for (const afterSeq of [0, 2]) {
      const { results } = await collect(t.ws({ authorization: `Bearer ${token}` }), ReplyStreamDocument, { messageId: out.messageId, afterSeq });
      expect(results.map((r) => dataOf(r).replyStream)).toEqual([expect.objectContaining({ done: true, delta: '', message: expect.objectContaining({ status: 'COMPLETE', content: 'Echo: finished already' }) })]);
    }
  });

  it('sends chunks that arrive together as one delta', async () => {
    const { t, ai } = fx;
    const { token } = await login(t);
    ai.nextReplies.push('0123456789ABCDEFGHIJ'); // seven chunks written back to back
    const out = await sent(t, token, { content: 'all at once' });
    const events = await t.app.deps.replies.state.events(out.messageId);
    const deltas = events.filter((e) => !e.done);
    expect(deltas.length).toBeLessThan(7);
    expect(deltas.map((e) => e.delta).join('')).toBe('0123456789ABCDEFGHIJ');
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
  });

  it('a reply finished long ago yields exactly one done event from storage', async () => {
    // Replies stay replayable for a short while only here (in memory and, with Redis, in the shared record).
    const { ai } = fx;
    const short = await startTestApp({ env: { ...ai.env(), DEFAULT_MODEL: 'gpt-test' }, timings: (timings) => Object.assign(timings.replies, { retainMs: 30, localRetainWithRedisMs: 30 }) });
    try {
      const { token } = await login(short);
      const out = await sent(short, token, { content: 'old one' });
      await waitFor(async () => (await short.app.deps.replies.state.meta(out.messageId)) === null, 5000, 'the reply leaving the reply state');
      const { results } = await collect(short.ws({ authorization: `Bearer ${token}` }), ReplyStreamDocument, { messageId: out.messageId });
      expect(results.map((r) => dataOf(r).replyStream)).toEqual([
        { messageId: out.messageId, sessionId: out.sessionId, seq: 0, delta: '', done: true, message: { id: out.messageId, content: 'Echo: old one', status: 'COMPLETE', usage: { totalTokens: out.reply.usage!.totalTokens } }, error: null },
      ]);
    } finally {
      await short.close();
    }
  });

  it('stopGeneration aborts the upstream request, keeps what was generated as STOPPED, and records usage', async () => {
    const { t, ai } = fx;
    const { token } = await login(t);
    ai.delayMs = 40;
    ai.nextReplies.push('x'.repeat(300));
    const out = await sent(t, token, { content: 'go on forever', stream: true });
    await waitFor(async () => (await t.app.deps.replies.state.events(out.messageId)).length >= 2, 5000, 'the first deltas');
    const res = await t.gql(StopGenerationDocument, { id: out.messageId }, { token });
    ai.delayMs = 0;
    const stopped = dataOf(res).stopGeneration;
    expect(stopped.status).toBe('STOPPED');
    expect(stopped.content.length).toBeGreaterThan(0);
    expect(stopped.content.length).toBeLessThan(300);
    expect(stopped.usage?.totalTokens).toBeGreaterThan(0);
    const call = ai.calls.at(-1)!;
    await call.closed;
    expect(call.aborted).toBe(true);
    const [row] = await rows(t, 'select status, content from messages where id = ?', [out.messageId]);
    expect(row).toEqual({ status: 'STOPPED', content: stopped.content });
  });

  it('keeps generating and stores the reply when the client that started it goes away', async () => {
    const { t, ai } = fx;
    const { token } = await login(t);
    ai.delayMs = 10;
    const socket = await openGraphqlWs(t.wsUrl, { authorization: `Bearer ${token}` });
    const out = await sent(t, token, { content: 'finish without me', stream: true });
    socket.socket.close();
    await t.app.deps.replies.done(out.messageId);
    ai.delayMs = 0;
    const [row] = await rows(t, 'select status, content from messages where id = ?', [out.messageId]);
    expect(row).toEqual({ status: 'COMPLETE', content: 'Echo: finish without me' });
  });

  it('chatEvents delivers every reply event of the chat to another device', async () => {
    const { t } = fx;
    const { token } = await login(t);
    const first = await sent(t, token, { content: 'start a chat' });
    const sub = subscribe(t.ws({ authorization: `Bearer ${token}` }), ChatEventsDocument, { sessionId: first.sessionId });
    await untilChatEventsLive(t, sub, first.sessionId);
    const second = await sent(t, token, { content: 'second message', sessionId: first.sessionId });
    await sub.until((r) => r.data?.chatEvents.done === true);
    sub.dispose();
    const events = sub.results.map((r) => dataOf(r).chatEvents).filter((e) => e.messageId !== PROBE_ID);
    expect(events.every((e) => e.messageId === second.messageId)).toBe(true);
    expect(events.filter((e) => !e.done).map((e) => e.delta).join('')).toBe('Echo: second message');
  });

  it("another user can neither follow nor stop a reply, nor watch a chat: NOT_FOUND", async () => {
    const { t, ai } = fx;
    const owner = await login(t);
    const other = await login(t);
    ai.delayMs = 30;
    const out = await sent(t, owner.token, { content: 'private reply', stream: true });
    const follow = await collect(t.ws({ authorization: `Bearer ${other.token}` }), ReplyStreamDocument, { messageId: out.messageId });
    // Errors from a subscription's setup arrive as a result with errors, then the operation completes.
    expect(follow.results).toHaveLength(1);
    expect(follow.results[0]?.errors?.[0]?.extensions).toEqual({ code: 'NOT_FOUND', status: 404 });
    expect(follow.results[0]?.data).toBeUndefined();
    const watch = await collect(t.ws({ authorization: `Bearer ${other.token}` }), ChatEventsDocument, { sessionId: out.sessionId });
    expect(watch.results[0]?.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const stop = await t.gql(StopGenerationDocument, { id: out.messageId }, { token: other.token });
    expect(stop.body.errors?.[0].extensions.code).toBe('NOT_FOUND');
    const finished = (await t.app.deps.replies.done(out.messageId))!.message!;
    ai.delayMs = 0;
    expect(finished.status).toBe('COMPLETE');
    for (const id of ['malformed', '01aaaaaaaaaaaaaaaaaaaaaaaa']) {
      const res = await t.gql(StopGenerationDocument, { id }, { token: owner.token });
      expect(res.body.errors?.[0].extensions.code).toBe('NOT_FOUND');
    }
  });

  it('needs a credential for every AI operation', async () => {
    const { t } = fx;
    expect((await t.gql(SendMessageDocument, { input: { content: 'hi' } })).status).toBe(401);
    expect((await t.gql(StopGenerationDocument, { id: 'x' })).status).toBe(401);
    const sub = await collect(t.ws(), ReplyStreamDocument, { messageId: 'x' });
    expect(sub.results[0]?.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});

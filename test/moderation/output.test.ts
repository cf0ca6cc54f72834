import { fold } from '../../src/moderation/normalize';
import { login, rows } from '../helpers/accounts';
import { connectLegacy } from '../helpers/legacy-ws';
import { dataOf, untilChatEventsLive } from '../helpers/replies';
import { collect, subscribe } from '../helpers/test-app';
import { waitFor } from '../helpers/wait';
import { startFakeModerationWebhook, type FakeModerationWebhook } from '../fakes/moderation-webhook';
import { ModeratedChatEventsDocument, ModeratedReplyStreamDocument, ModeratedSendDocument } from '../generated/graphql';
import { events, startModeratedApp } from './setup';

/*
 * What models write is checked while it streams. The keyword list checks every delta before
 * it is published, holding back what may begin a term; the webhook checks windows in the
 * background and the whole rest at the end. A hit stops the reply: BLOCKED / CONTENT_FILTER,
 * the text withheld, the last event saying so.
 */
describe('content security: output, keyword list', () => {
  let app: Awaited<ReturnType<typeof startModeratedApp>>;
  beforeAll(async () => {
    // 4 characters a chunk, 20 ms apart: "敏" ends one delta and "感词" starts the next.
    app = await startModeratedApp({ ai: { chunkSize: 4, delayMs: 20 } });
  });
  afterAll(() => app.close());

  const REPLY = `好的：敏感词在这里，后面还有很多很多的文字${'。'.repeat(40)}`;

  it('never lets a term split across two deltas reach a subscriber, and ends the reply BLOCKED', async () => {
    const { t, ai } = app;
    const { token, userId } = await login(t);
    // Another tab follows the chat (a chat of the user's, with a first exchange in it).
    ai.nextReplies.push('你好');
    const { sessionId } = dataOf(await t.gql(ModeratedSendDocument, { input: { content: 'hi' } }, { token })).sendMessage;
    const ws = t.ws({ authorization: `Bearer ${token}` });
    const chatFeed = subscribe(ws, ModeratedChatEventsDocument, { sessionId });
    await untilChatEventsLive(t, chatFeed as never, sessionId);

    ai.nextReplies.push(REPLY);
    const sent = dataOf(await t.gql(ModeratedSendDocument, { input: { content: 'tell me', sessionId, stream: true } }, { token })).sendMessage;
    const { results } = await collect(ws, ModeratedReplyStreamDocument, { messageId: sent.messageId });
    const stream = results.map((r) => dataOf(r).replyStream);
    const deltas = stream.filter((e) => !e.done);
    // Every delta received, one by one and together: nothing of the term.
    for (const e of deltas) expect(fold(e.delta)).not.toMatch(/敏感|感词/);
    // What came before the term: sent, unless it was still queued with the condemned delta
    // (two chunks read from the network together), which then goes nowhere either.
    expect(['好的：', '']).toContain(deltas.map((e) => e.delta).join(''));
    expect(stream.at(-1)).toEqual({
      seq: expect.any(Number),
      delta: '',
      reasoningDelta: '',
      done: true,
      message: { id: sent.messageId, content: '', aiGenerated: true, status: 'BLOCKED', finishReason: 'CONTENT_FILTER' },
      error: { code: 'CONTENT_BLOCKED', message: expect.any(String), reason: 'CONTENT_BLOCKED' },
    });
    // Generation stopped: the provider's stream was cut while it still had text to send.
    await waitFor(() => ai.calls.at(-1)!.aborted, 5000, 'the provider call being aborted');
    expect(await rows(t, 'select content, status, finish_reason, completion_tokens from messages where id = ?', [sent.messageId])).toEqual([
      { content: '', status: 'BLOCKED', finish_reason: 'CONTENT_FILTER', completion_tokens: expect.any(Number) },
    ]);
    await waitFor(async () => (await events(t, userId)).length === 1, 5000, 'the hit being recorded');
    expect(await events(t, userId)).toEqual([
      { stage: 'OUTPUT', engine: 'keywords', action: 'BLOCK', labels: 'keyword', field: null, message_id: sent.messageId, excerpt: '敏感词', text_hash: expect.any(String) },
    ]);
    // The other tab: the same deltas (none of the term), then the blocked end.
    const feed = await chatFeed.until((r) => dataOf(r).chatEvents.done && dataOf(r).chatEvents.messageId === sent.messageId);
    chatFeed.dispose();
    expect(dataOf(feed).chatEvents).toMatchObject({ done: true, message: { status: 'BLOCKED' }, error: { code: 'CONTENT_BLOCKED' } });
    const fed = chatFeed.results.map((r) => dataOf(r).chatEvents).filter((e) => e.messageId === sent.messageId && !e.done);
    expect(fed.map((e) => e.delta)).toEqual(deltas.map((e) => e.delta));
  });

  it('answers a waiting sendMessage and REST with the blocked reply, its text withheld', async () => {
    const { t, ai } = app;
    const { token } = await login(t);
    ai.nextReplies.push(REPLY);
    const waited = dataOf(await t.gql(ModeratedSendDocument, { input: { content: 'tell me' } }, { token })).sendMessage;
    expect(waited.reply).toEqual({ id: waited.messageId, role: 'ASSISTANT', content: '', aiGenerated: true, status: 'BLOCKED', finishReason: 'CONTENT_FILTER' });
    ai.nextReplies.push(REPLY);
    const rest = await t.rest<{ text: string; status: string; finishReason: string; aiGenerated: boolean }>('POST', '/v1/ai/message', { token, body: { message: 'tell me' } });
    expect(rest.body.data).toMatchObject({ text: '', status: 'blocked', finishReason: 'content_filter', aiGenerated: true });
  });

  it('ends the legacy socket reply with a BLOCKED final frame and a CONTENT_BLOCKED error frame', async () => {
    const { t, ai } = app;
    const { token } = await login(t);
    ai.nextReplies.push(REPLY);
    const c = await connectLegacy(t.url);
    c.send({ type: 'auth', token });
    await c.waitFor((f) => f.type === 'auth');
    c.send({ type: 'message', data: { content: 'tell me' } });
    const final = await c.waitFor((f) => f.type === 'message' && f.data.done === true);
    expect(final.data).toMatchObject({ done: true, content: '', status: 'BLOCKED', finishReason: 'CONTENT_FILTER', aiGenerated: true, error: { code: 'CONTENT_BLOCKED', message: expect.any(String), reason: 'CONTENT_BLOCKED' } });
    expect((await c.waitFor((f) => f.type === 'error')).data).toMatchObject({ code: 'CONTENT_BLOCKED', messageId: final.data.messageId });
    expect(['好的：', '']).toContain(c.ofType('message').map((f) => f.data.delta).join(''));
    c.socket.close();
  });

  it('lets a clean reply through whole, releasing what it held back at the end', async () => {
    const { t, ai } = app;
    const { token } = await login(t);
    // Ends with "敏感" — a term's beginning that never completes.
    ai.nextReplies.push('这一句话说完了，最后是敏感');
    const sent = dataOf(await t.gql(ModeratedSendDocument, { input: { content: 'x', stream: true } }, { token })).sendMessage;
    const { results } = await collect(t.ws({ authorization: `Bearer ${token}` }), ModeratedReplyStreamDocument, { messageId: sent.messageId });
    const stream = results.map((r) => dataOf(r).replyStream);
    expect(stream.filter((e) => !e.done).map((e) => e.delta).join('')).toBe('这一句话说完了，最后是敏感');
    expect(stream.at(-1)?.message).toMatchObject({ status: 'COMPLETE', content: '这一句话说完了，最后是敏感' });
  });
});

describe('content security: output, webhook', () => {
  let webhook: FakeModerationWebhook;
  let app: Awaited<ReturnType<typeof startModeratedApp>>;
  beforeAll(async () => {
    webhook = await startFakeModerationWebhook();
    webhook.judge = (text) => (text.includes('BADPHRASE') ? { action: 'block', labels: ['violence'] } : { action: 'pass' });
    app = await startModeratedApp({ terms: null, env: webhook.env() });
  });
  afterAll(async () => {
    await app.close();
    await webhook.close();
  });

  it('stops a reply mid-stream when a window check fails, with a signed call', async () => {
    const { t, ai } = app;
    const { token, userId } = await login(t);
    // One long chunk, then the provider keeps the stream open and silent: only the check can end it.
    ai.chunkSize = 400;
    ai.nextModes.push('hangAfterFirstChunk');
    ai.nextReplies.push(`${'平静的文字，'.repeat(40)}BADPHRASE${'更多'.repeat(100)}`);
    try {
      const sent = dataOf(await t.gql(ModeratedSendDocument, { input: { content: 'go', stream: true } }, { token })).sendMessage;
      const { results } = await collect(t.ws({ authorization: `Bearer ${token}` }), ModeratedReplyStreamDocument, { messageId: sent.messageId });
      expect(results.map((r) => dataOf(r).replyStream).at(-1)).toMatchObject({ done: true, message: { status: 'BLOCKED', content: '' }, error: { code: 'CONTENT_BLOCKED' } });
      await waitFor(() => ai.calls.at(-1)!.aborted, 5000, 'the provider call being aborted');
      const outputCall = webhook.calls.find((c) => c.body.stage === 'output');
      expect(outputCall).toEqual({ signed: true, body: { text: expect.stringContaining('BADPHRASE'), stage: 'output', userId, requestId: `${sent.messageId}-1` } });
      await waitFor(async () => (await events(t, userId)).length === 1, 5000, 'the hit being recorded');
      expect((await events(t, userId))[0]).toMatchObject({ stage: 'OUTPUT', engine: 'webhook', action: 'BLOCK', labels: 'violence', message_id: sent.messageId });
    } finally {
      ai.chunkSize = 4;
    }
  });

  it('checks the end of a reply before storing it COMPLETE', async () => {
    const { t, ai } = app;
    const { token } = await login(t);
    ai.nextReplies.push('short and BADPHRASE');
    const blocked = dataOf(await t.gql(ModeratedSendDocument, { input: { content: 'a' } }, { token })).sendMessage;
    expect(blocked.reply).toMatchObject({ status: 'BLOCKED', content: '' });
    const calls = webhook.calls.length;
    ai.nextReplies.push('short and fine');
    const fine = dataOf(await t.gql(ModeratedSendDocument, { input: { content: 'b' } }, { token })).sendMessage;
    expect(fine.reply).toMatchObject({ status: 'COMPLETE', content: 'short and fine' });
    // One call for the input, one for the whole reply at its end.
    expect(webhook.calls.slice(calls).map((c) => [c.body.stage, c.body.text])).toEqual([
      ['input', 'b'],
      ['output', 'short and fine'],
    ]);
  });

  it('masks input the webhook masks, storing and sending the masked text', async () => {
    const { t, ai } = app;
    const { token } = await login(t);
    webhook.judge = (text, stage) => (stage === 'input' && text.includes('13800138000') ? { action: 'mask', labels: ['phone'], text: text.replace('13800138000', '***') } : { action: 'pass' });
    try {
      const sent = dataOf(await t.gql(ModeratedSendDocument, { input: { content: 'call 13800138000' } }, { token })).sendMessage;
      expect(sent.reply.content).toBe('Echo: call ***');
      expect(ai.calls.at(-1)!.body.messages?.at(-1)?.content).toBe('call ***');
      expect(await rows(t, "select content from messages where chat_id = ? and role = 'USER'", [sent.sessionId])).toEqual([{ content: 'call ***' }]);
    } finally {
      webhook.judge = (text) => (text.includes('BADPHRASE') ? { action: 'block', labels: ['violence'] } : { action: 'pass' });
    }
  });
});

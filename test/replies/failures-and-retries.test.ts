import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModelsDocument, ReplyStreamDocument, UpdateSettingsDocument } from '../generated/graphql';
import { login, rows } from '../helpers/accounts';
import { dataOf, send, sent, useAppWithFakeAi } from '../helpers/replies';
import { collect, startTestApp, type TestApp } from '../helpers/test-app';
import { startFakeOpenAI, type FakeOpenAI, type FakeOpenAIMode } from '../fakes/openai';

describe('provider failures', () => {
  const fx = useAppWithFakeAi({}, { AI_TIMEOUT_MS: '600' });

  it('retries before the first token: a 500 then a 429 then success gives the reply', async () => {
    const { t, ai } = fx;
    const { token } = await login(t);
    ai.nextModes.push('error500', 'error429');
    const calls = ai.calls.length;
    const reply = (await sent(t, token, { content: 'try again' })).reply;
    expect(reply).toMatchObject({ status: 'COMPLETE', content: 'Echo: try again' });
    expect(ai.calls.length - calls).toBe(3);
  });

  it('ends the reply FAILED with UPSTREAM_ERROR after three 500s (two retries)', async () => {
    const { t, ai } = fx;
    const { token } = await login(t);
    ai.nextModes.push('error500', 'error500', 'error500');
    const calls = ai.calls.length;
    const res = await send(t, token, { content: 'doomed' });
    expect(res.status).toBe(502);
    expect(res.body.errors?.[0].extensions).toMatchObject({ code: 'UPSTREAM_ERROR', status: 502 });
    expect(ai.calls.length - calls).toBe(3);
    const [reply] = await rows(t, "select status, content from messages where user_id = (select id from users order by created_at desc limit 1) and role = 'ASSISTANT'");
    expect(reply).toEqual({ status: 'FAILED', content: '' });
  });

  it.each<[string, FakeOpenAIMode]>([
    ['hangs before the first token (first-token limit)', 'hang'],
    ['stops after the first token (total limit)', 'hangAfterFirstChunk'],
    ['breaks the stream mid-way', 'breakMidStream'],
  ])('fails the reply when the provider %s, keeps any partial text, and tells subscribers', async (_label, mode) => {
    const { t, ai } = fx;
    const { token } = await login(t);
    ai.nextModes.push(mode);
    ai.nextReplies.push('partial text that never completes');
    const out = await sent(t, token, { content: 'will fail', stream: true });
    const { results } = await collect(t.ws({ authorization: `Bearer ${token}` }), ReplyStreamDocument, { messageId: out.messageId });
    const done = results.map((r) => dataOf(r).replyStream).at(-1);
    expect(done?.done).toBe(true);
    expect(done?.error?.code).toBe('UPSTREAM_ERROR');
    expect(done?.message?.status).toBe('FAILED');
    const [row] = await rows(t, 'select status, content from messages where id = ?', [out.messageId]);
    expect(row.status).toBe('FAILED');
    if (mode !== 'hang') expect((row.content as string).length).toBeGreaterThan(0);
    expect(ai.calls.at(-1)!.mode).toBe(mode);
  });
});

describe('safe retries with clientMessageId', () => {
  const fx = useAppWithFakeAi();

  it('a retry returns the same messages without calling the provider again', async () => {
    const { t, ai } = fx;
    const { token } = await login(t);
    const first = await sent(t, token, { content: 'once only', clientMessageId: 'k-1' });
    const calls = ai.calls.length;
    const again = await sent(t, token, { content: 'once only', clientMessageId: 'k-1' });
    expect(again).toEqual(first);
    expect(ai.calls.length).toBe(calls);
    expect((await rows(t, 'select count(*) as n from messages where chat_id = ?', [first.sessionId]))[0].n).toBe(2);
  });

  it('two identical requests racing make one call and get the same reply', async () => {
    const { t, ai } = fx;
    const { token } = await login(t);
    ai.delayMs = 20;
    const calls = ai.calls.length;
    const [a, b] = await Promise.all([sent(t, token, { content: 'race', clientMessageId: 'race-1' }), sent(t, token, { content: 'race', clientMessageId: 'race-1' })]);
    ai.delayMs = 0;
    expect(a.messageId).toBe(b.messageId);
    expect(a.reply.content).toBe('Echo: race');
    expect(b.reply.content).toBe('Echo: race');
    expect(ai.calls.length - calls).toBe(1);
  });

  it('while streaming, a retry returns the same stream', async () => {
    const { t, ai } = fx;
    const { token } = await login(t);
    ai.delayMs = 20;
    const first = await sent(t, token, { content: 'streaming retry', clientMessageId: 's-1', stream: true });
    const again = await sent(t, token, { content: 'streaming retry', clientMessageId: 's-1', stream: true });
    expect(again.messageId).toBe(first.messageId);
    expect(again.sessionId).toBe(first.sessionId);
    await t.app.deps.replies.done(first.messageId);
    ai.delayMs = 0;
  });

  it("keys are per user: another user's same key is a new message", async () => {
    const { t } = fx;
    const a = await login(t);
    const b = await login(t);
    const x = await sent(t, a.token, { content: 'mine', clientMessageId: 'shared' });
    const y = await sent(t, b.token, { content: 'theirs', clientMessageId: 'shared' });
    expect(y.messageId).not.toBe(x.messageId);
    expect(y.reply.content).toBe('Echo: theirs');
  });
});

describe('context, history and validation', () => {
  let ai: FakeOpenAI;
  let t: TestApp;
  beforeAll(async () => {
    ai = await startFakeOpenAI();
    const dir = mkdtempSync(join(tmpdir(), 'models-'));
    const file = join(dir, 'models.json');
    writeFileSync(
      file,
      JSON.stringify([
        { id: 'gpt-test', name: 'Test', provider: 'fake', baseURL: ai.baseURL, apiKeyEnv: 'FAKE_AI_KEY', default: true },
        { id: 'tiny', name: 'Tiny window', type: 'chat', provider: 'fake', baseURL: ai.baseURL, apiKeyEnv: 'FAKE_AI_KEY', model: 'tiny-upstream', contextWindow: 200 },
        { id: 'badkey', name: 'Wrong key', provider: 'fake', baseURL: ai.baseURL, apiKeyEnv: 'WRONG_AI_KEY' },
      ]),
    );
    t = await startTestApp({ env: { AI_MODELS: file, FAKE_AI_KEY: ai.apiKey, WRONG_AI_KEY: 'sk-wrong' } });
  });
  afterAll(async () => {
    await t.close();
    await ai.close();
  });

  it('lists the catalog with the default first-class', async () => {
    const { models } = dataOf(await t.gql(ModelsDocument));
    expect(models.map(({ id, name, contextWindow, isDefault }) => ({ id, name, contextWindow, isDefault }))).toEqual([
      { id: 'gpt-test', name: 'Test', contextWindow: null, isDefault: true },
      { id: 'tiny', name: 'Tiny window', contextWindow: 200, isDefault: false },
      { id: 'badkey', name: 'Wrong key', contextWindow: null, isDefault: false },
    ]);
  });

  it('does not retry a refused key (401): one call, FAILED, UPSTREAM_ERROR', async () => {
    const { token } = await login(t);
    const calls = ai.calls.length;
    const res = await send(t, token, { content: 'hello', modelId: 'badkey' });
    expect(res.status).toBe(502);
    expect(res.body.errors?.[0].extensions.code).toBe('UPSTREAM_ERROR');
    expect(ai.calls.length - calls).toBe(1);
  });

  it("sends the chat's earlier turns as context, oldest first", async () => {
    const { token } = await login(t);
    const first = await sent(t, token, { content: 'my name is Li' });
    await send(t, token, { content: 'what is my name?', sessionId: first.sessionId });
    expect(ai.calls.at(-1)!.body.messages).toEqual([
      { role: 'user', content: 'my name is Li' },
      { role: 'assistant', content: 'Echo: my name is Li' },
      { role: 'user', content: 'what is my name?' },
    ]);
  });

  it("trims the oldest turns to fit the model's context window, and uses the upstream model name", async () => {
    const { token } = await login(t);
    // ~79 estimated tokens each for the long turn and its echo; the window leaves 150 for context.
    const first = await sent(t, token, { content: 'a'.repeat(300), modelId: 'tiny' });
    await send(t, token, { content: 'short question', sessionId: first.sessionId, modelId: 'tiny' });
    const call = ai.calls.at(-1)!;
    expect(call.body.model).toBe('tiny-upstream');
    expect(call.body.messages).toEqual([
      { role: 'assistant', content: `Echo: ${'a'.repeat(300)}` },
      { role: 'user', content: 'short question' },
    ]);
  });

  it('refuses a message too long for the window on its own with BAD_REQUEST', async () => {
    const { token } = await login(t);
    const res = await send(t, token, { content: 'b'.repeat(2000), modelId: 'tiny' });
    expect(res.body.errors?.[0].extensions).toMatchObject({ code: 'BAD_REQUEST', details: { reason: 'CONTEXT_TOO_LONG' } });
  });

  it('uses messageHistory instead of the stored history when the client sends it', async () => {
    const { token } = await login(t);
    const first = await sent(t, token, { content: 'stored turn' });
    await send(t, token, { content: 'now', sessionId: first.sessionId, messageHistory: [{ role: 'SYSTEM', content: 'be terse' }, { role: 'USER', content: 'client turn' }] });
    expect(ai.calls.at(-1)!.body.messages).toEqual([
      { role: 'system', content: 'be terse' },
      { role: 'user', content: 'client turn' },
      { role: 'user', content: 'now' },
    ]);
  });

  it('with saveHistory off stores nothing, still streams, and takes context only from messageHistory', async () => {
    const { token, userId } = await login(t);
    expect(dataOf(await t.gql(UpdateSettingsDocument, { input: { saveHistory: false } }, { token })).updateSettings.saveHistory).toBe(false);
    const before = await rows(t, 'select (select count(*) from chats where user_id = ?) as chats, (select count(*) from messages where user_id = ?) as messages', [userId, userId]);
    const out = await sent(t, token, { content: 'off the record', stream: true, messageHistory: [{ role: 'USER', content: 'earlier' }] });
    const { results } = await collect(t.ws({ authorization: `Bearer ${token}` }), ReplyStreamDocument, { messageId: out.messageId });
    expect(results.map((r) => dataOf(r).replyStream).at(-1)?.message?.content).toBe('Echo: off the record');
    expect(ai.calls.at(-1)!.body.messages).toEqual([{ role: 'user', content: 'earlier' }, { role: 'user', content: 'off the record' }]);
    const waited = await sent(t, token, { content: 'wait for it' });
    expect(waited.reply).toMatchObject({ content: 'Echo: wait for it', status: 'COMPLETE', chatId: null });
    const after = await rows(t, 'select (select count(*) from chats where user_id = ?) as chats, (select count(*) from messages where user_id = ?) as messages', [userId, userId]);
    expect(after).toEqual(before);
    expect(before).toEqual([{ chats: 0, messages: 0 }]);
  });

  it.each([
    ['empty content', { content: '' }, 'content', 'EMPTY'],
    ['blank content', { content: '   ' }, 'content', 'EMPTY'],
    ['32,001 characters', { content: 'x'.repeat(32_001) }, 'content', 'TOO_LONG'],
    ['an unknown model', { content: 'hi', modelId: 'no-such-model' }, 'modelId', 'UNKNOWN_MODEL'],
    ['a 65-character clientMessageId', { content: 'hi', clientMessageId: 'k'.repeat(65) }, 'clientMessageId', undefined],
  ])('refuses %s with BAD_REQUEST and stores nothing', async (_label, input, field, reason) => {
    const { token, userId } = await login(t);
    const calls = ai.calls.length;
    const res = await send(t, token, input);
    expect(res.status).toBe(400);
    expect(res.body.errors?.[0].extensions).toMatchObject({ code: 'BAD_REQUEST', details: { field, ...(reason ? { reason } : {}) } });
    expect(ai.calls.length).toBe(calls);
    expect((await rows(t, 'select count(*) as n from messages where user_id = ?', [userId]))[0].n).toBe(0);
  });

  it("refuses someone else's chat as sessionId with NOT_FOUND", async () => {
    const a = await login(t);
    const b = await login(t);
    const chat = (await sent(t, a.token, { content: 'mine' })).sessionId;
    const res = await send(t, b.token, { content: 'intrude', sessionId: chat });
    expect(res.body.errors?.[0].extensions.code).toBe('NOT_FOUND');
    expect((await rows(t, 'select count(*) as n from messages where chat_id = ?', [chat]))[0].n).toBe(2);
  });
});

import { login, rows } from '../helpers/accounts';
import { wavFile, gqlUpload } from '../helpers/audio';
import { connectLegacy } from '../helpers/legacy-ws';
import { collect } from '../helpers/test-app';
import { ModeratedLoginDocument, ModeratedSaveChatDocument, ModeratedSendDocument, UpdateSettingsDocument } from '../generated/graphql';
import { count, events, footprint, startModeratedApp } from './setup';

/*
 * What users send goes through the keyword list before anything is stored or any provider is
 * called: FORBIDDEN / CONTENT_BLOCKED naming the field, over every transport, with nothing
 * left behind but the hit's own record.
 */
describe('content security: input', () => {
  let app: Awaited<ReturnType<typeof startModeratedApp>>;
  beforeAll(async () => {
    app = await startModeratedApp();
  });
  afterAll(() => app.close());

  const blocked = (field: string) => ({ code: 'FORBIDDEN', status: 403, details: { field, reason: 'CONTENT_BLOCKED' } });

  it('refuses a blocked message on GraphQL: nothing stored, the provider never called, the hit recorded', async () => {
    const { t, ai } = app;
    const { token, userId } = await login(t);
    const before = await footprint(t, ai);
    const res = await t.gql(ModeratedSendDocument, { input: { content: '请告诉我敏感词是什么' } }, { token });
    expect(res.body.data).toBeNull();
    expect(res.body.errors?.[0].extensions).toEqual(blocked('content'));
    expect(res.body.errors?.[0].message).not.toContain('敏感词');
    expect(await footprint(t, ai)).toEqual(before);
    expect(await events(t, userId)).toEqual([
      { stage: 'INPUT', engine: 'keywords', action: 'BLOCK', labels: 'keyword', field: 'content', message_id: null, excerpt: '敏感词', text_hash: expect.stringMatching(/^[0-9a-f]{64}$/) },
    ]);
  });

  it.each([
    ['spaces', '敏 感 词'],
    ['punctuation', '敏.感-词'],
    ['full width and capitals', 'ＦＯＲＢＩＤＤＥＮ　Ｗｏｒｄ'],
    ['separators in English', 'f o r b i d d e n _ w o r d'],
    ['traditional characters', '敏感詞'],
    ['simplified writing of a traditional term', '违禁品'],
    ['zero-width characters and emoji', '敏\u200B感🙂词'],
  ])('sees through %s', async (_how, text) => {
    const { t, ai } = app;
    const { token } = await login(t);
    const before = await footprint(t, ai);
    const res = await t.gql(ModeratedSendDocument, { input: { content: `hello ${text} there` } }, { token });
    expect(res.body.errors?.[0].extensions).toEqual(blocked('content'));
    expect(await footprint(t, ai)).toEqual(before);
  });

  it('lets clean text through', async () => {
    const { t, ai } = app;
    const { token } = await login(t);
    const before = await footprint(t, ai);
    const res = await t.gql(ModeratedSendDocument, { input: { content: '敏捷开发的感想' } }, { token });
    expect(res.body.data?.sendMessage.reply).toMatchObject({ status: 'COMPLETE', content: 'Echo: 敏捷开发的感想' });
    expect(await footprint(t, ai)).toEqual({ ...before, chats: before.chats + 1, messages: before.messages + 2, aiCalls: before.aiCalls + 1 });
  });

  it('refuses the same for a user who keeps no history (nothing would be stored anyway: the provider is not called)', async () => {
    const { t, ai } = app;
    const { token } = await login(t);
    await t.gql(UpdateSettingsDocument, { input: { saveHistory: false } }, { token });
    const before = await footprint(t, ai);
    const res = await t.gql(ModeratedSendDocument, { input: { content: '敏感词', stream: true } }, { token });
    expect(res.body.errors?.[0].extensions).toEqual(blocked('content'));
    expect(await footprint(t, ai)).toEqual(before);
  });

  it('checks messageHistory, naming the message', async () => {
    const { t, ai } = app;
    const { token } = await login(t);
    const before = await footprint(t, ai);
    const res = await t.gql(
      ModeratedSendDocument,
      { input: { content: 'go on', messageHistory: [{ role: 'USER', content: 'hi' }, { role: 'ASSISTANT', content: 'all fine' }, { role: 'USER', content: 'ok 违禁品' }] } },
      { token },
    );
    expect(res.body.errors?.[0].extensions).toEqual(blocked('messageHistory.2.content'));
    expect(await footprint(t, ai)).toEqual(before);
  });

  it('refuses on REST, both routes, with the error envelope', async () => {
    const { t, ai } = app;
    const { token } = await login(t);
    const before = await footprint(t, ai);
    const chat = await t.rest('POST', '/v1/chat/message', { token, body: { content: '敏感词' } });
    expect(chat.status).toBe(403);
    expect(chat.body.error).toEqual({ code: 403, message: expect.any(String), details: { field: 'content', reason: 'CONTENT_BLOCKED' } });
    const aiRoute = await t.rest('POST', '/v1/ai/message', { token, body: { message: 'fine', messageHistory: [{ role: 'user', content: 'forbidden word' }] } });
    expect(aiRoute.status).toBe(403);
    expect(aiRoute.body.error?.details).toEqual({ field: 'messageHistory.0.content', reason: 'CONTENT_BLOCKED' });
    expect(await footprint(t, ai)).toEqual(before);
  });

  it('refuses over graphql-ws', async () => {
    const { t, ai } = app;
    const { token } = await login(t);
    const before = await footprint(t, ai);
    const { results } = await collect(t.ws({ authorization: `Bearer ${token}` }), ModeratedSendDocument, { input: { content: '敏感词', stream: true } }, 1);
    expect(results[0].data).toBeNull();
    expect(results[0].errors?.[0].extensions).toEqual(blocked('content'));
    expect(await footprint(t, ai)).toEqual(before);
  });

  it('refuses on the legacy socket with an error frame echoing the clientMessageId', async () => {
    const { t, ai } = app;
    const { token } = await login(t);
    const before = await footprint(t, ai);
    const c = await connectLegacy(t.url);
    c.send({ type: 'auth', token });
    await c.waitFor((f) => f.type === 'auth');
    c.send({ type: 'message', data: { content: '敏 感 词', clientMessageId: 'k-1' } });
    const error = await c.waitFor((f) => f.type === 'error');
    expect(error.data).toEqual({ code: 'FORBIDDEN', message: expect.any(String), details: { field: 'content', reason: 'CONTENT_BLOCKED' }, clientMessageId: 'k-1' });
    expect(c.ofType('message')).toEqual([]);
    c.socket.close();
    expect(await footprint(t, ai)).toEqual(before);
  });

  it.each([
    ['title', { title: '关于敏感词', messages: [{ role: 'USER' as const, content: 'hi' }] }, 'title'],
    ['a tag', { tags: ['ok', 'forbidden word'], messages: [{ role: 'USER' as const, content: 'hi' }] }, 'tags.1'],
    ['an imported message', { messages: [{ role: 'USER' as const, content: 'hi' }, { role: 'ASSISTANT' as const, content: '違禁品清单' }] }, 'messages.1.content'],
  ])('refuses saveChat with a blocked %s, storing nothing', async (_what, input, field) => {
    const { t } = app;
    const { token } = await login(t);
    const before = await footprint(t);
    const res = await t.gql(ModeratedSaveChatDocument, { input }, { token });
    expect(res.body.errors?.[0].extensions).toEqual(blocked(field));
    expect(await footprint(t)).toEqual(before);
  });

  it('refuses saveChat replacing a chat, leaving the old one as it was', async () => {
    const { t } = app;
    const { token } = await login(t);
    const saved = await t.gql(ModeratedSaveChatDocument, { input: { title: 'mine', tags: ['a'], messages: [{ role: 'USER', content: 'first' }] } }, { token });
    const id = saved.body.data!.saveChat.id;
    const res = await t.rest('POST', '/v1/chats', { token, body: { id, title: 'mine', messages: [{ role: 'user', content: '敏感词' }] } });
    expect(res.status).toBe(403);
    expect(res.body.error?.details).toEqual({ field: 'messages.0.content', reason: 'CONTENT_BLOCKED' });
    expect(await rows(t, 'select content from messages where chat_id = ?', [id])).toEqual([{ content: 'first' }]);
    expect(await rows(t, 'select tag from chat_tags where chat_id = ?', [id])).toEqual([{ tag: 'a' }]);
  });

  it('refuses a blocked nickname at login, creating no account', async () => {
    const { t } = app;
    const users = await count(t, 'select count(*) as n from users');
    const res = await t.gql(ModeratedLoginDocument, { input: { code: `nick-${Date.now()}`, userInfo: { nickName: '敏感词小王' } } });
    expect(res.body.errors?.[0].extensions).toEqual(blocked('userInfo.nickName'));
    expect(await count(t, 'select count(*) as n from users')).toBe(users);
    expect(await count(t, "select count(*) as n from moderation_events where field = 'userInfo.nickName' and user_id is null")).toBe(1);
    const ok = await t.gql(ModeratedLoginDocument, { input: { code: `nick2-${Date.now()}`, userInfo: { nickName: '小王' } } });
    expect(ok.body.data?.wechatLogin.userInfo.nickName).toBe('小王');
  });

  it('refuses a blocked speech transcript instead of returning it', async () => {
    const { t, ai } = app;
    const { token } = await login(t);
    ai.transcript = '我想说敏感词';
    try {
      const res = await gqlUpload(t, wavFile(0.5), { token, name: 'voice.wav' });
      expect(res.body.errors?.[0].extensions).toEqual(blocked('transcript'));
      expect(ai.transcriptions.length).toBeGreaterThan(0);
    } finally {
      ai.transcript = '你好，世界';
    }
  });
});

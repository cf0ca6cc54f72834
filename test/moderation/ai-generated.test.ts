import { login } from '../helpers/accounts';
import { connectLegacy } from '../helpers/legacy-ws';
import { dataOf } from '../helpers/replies';
import { collect } from '../helpers/test-app';
import { ModeratedChatDocument, ModeratedReplyStreamDocument, ModeratedSendDocument } from '../generated/graphql';
import { startModeratedApp } from './setup';

/* Clients label what the AI wrote ("AI生成"): every transport says which messages those are. */
describe('aiGenerated on every transport', () => {
  let app: Awaited<ReturnType<typeof startModeratedApp>>;
  beforeAll(async () => {
    app = await startModeratedApp({ terms: null });
  });
  afterAll(() => app.close());

  it('GraphQL: the reply, the stream and the stored chat', async () => {
    const { t } = app;
    const { token } = await login(t);
    const sent = dataOf(await t.gql(ModeratedSendDocument, { input: { content: 'hi', stream: true } }, { token })).sendMessage;
    expect(sent.reply.aiGenerated).toBe(true);
    const { results } = await collect(t.ws({ authorization: `Bearer ${token}` }), ModeratedReplyStreamDocument, { messageId: sent.messageId });
    expect(dataOf(results.at(-1)!).replyStream.message).toMatchObject({ status: 'COMPLETE', aiGenerated: true });
    const chat = dataOf(await t.gql(ModeratedChatDocument, { id: sent.sessionId }, { token })).chat;
    expect(chat.messages.map((m) => [m.role, m.aiGenerated])).toEqual([
      ['USER', false],
      ['ASSISTANT', true],
    ]);
  });

  it('REST: both send routes and the chat', async () => {
    const { t } = app;
    const { token } = await login(t);
    const legacy = await t.rest<{ sessionId: string; reply: { content: string; aiGenerated: boolean } }>('POST', '/v1/chat/message', { token, body: { content: 'hi' } });
    expect(legacy.body.data.reply).toEqual({ content: 'Echo: hi', aiGenerated: true, time: expect.any(String) });
    const ai = await t.rest<{ text: string; aiGenerated: boolean }>('POST', '/v1/ai/message', { token, body: { message: 'hello' } });
    expect(ai.body.data).toMatchObject({ text: 'Echo: hello', aiGenerated: true });
    const chat = await t.rest<{ messages: Array<{ role: string; aiGenerated: boolean }> }>('GET', `/v1/chats/${legacy.body.data.sessionId}`, { token });
    expect(chat.body.data.messages.map((m) => [m.role, m.aiGenerated])).toEqual([
      ['user', false],
      ['assistant', true],
    ]);
  });

  it("the legacy socket's final frame", async () => {
    const { t } = app;
    const { token } = await login(t);
    const c = await connectLegacy(t.url);
    c.send({ type: 'auth', token });
    await c.waitFor((f) => f.type === 'auth');
    c.send({ type: 'message', data: { content: 'hi' } });
    const final = await c.waitFor((f) => f.type === 'message' && f.data.done === true);
    expect(final.data).toMatchObject({ done: true, content: 'Echo: hi', status: 'COMPLETE', aiGenerated: true });
    expect(c.ofType('message').filter((f) => !f.data.done).every((f) => !('aiGenerated' in f.data))).toBe(true);
    c.socket.close();
  });
});

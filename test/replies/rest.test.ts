import { useAppWithFakeAi } from '../helpers/replies';
import { login, rows } from '../helpers/accounts';
import { type FakeUsage, usageFor } from '../fakes/openai';

/** POST /v1/chat/message's data. */
interface ChatMessageReply {
  sessionId: string;
  messageId: string;
  reply: { content: string; time: string };
}

/** POST /v1/ai/message's data. */
interface AiMessageReply {
  text: string;
  usage: FakeUsage;
  model: string;
  metadata: { modelType: string; responseLength: number; tokensUsed: number };
  sessionId: string;
  messageId: string;
}

describe('AI over /v1', () => {
  const fx = useAppWithFakeAi();

  it('POST /v1/chat/message answers the legacy chat shape and continues a session', async () => {
    const { t } = fx;
    const { token } = await login(t);
    const first = await t.rest<ChatMessageReply>('POST', '/v1/chat/message', { token, body: { content: '你好' } });
    expect(first.status).toBe(200);
    expect(first.body).toEqual({
      code: 200,
      message: 'success',
      data: { sessionId: expect.any(String), messageId: expect.any(String), reply: { content: 'Echo: 你好', aiGenerated: true, time: expect.stringMatching(/Z$/) } },
    });
    const second = await t.rest<ChatMessageReply>('POST', '/v1/chat/message', { token, body: { content: '再见', sessionId: first.body.data.sessionId } });
    expect(second.body.data.sessionId).toBe(first.body.data.sessionId);
    expect((await rows(t, 'select count(*) as n from messages where chat_id = ?', [first.body.data.sessionId]))[0].n).toBe(4);
  });

  it('POST /v1/ai/message answers the AI service shape with snake_case usage and uses messageHistory', async () => {
    const { t, ai } = fx;
    const { token } = await login(t);
    const res = await t.rest<AiMessageReply>('POST', '/v1/ai/message', {
      token,
      body: { message: 'and now?', modelId: 'gpt-test', messageHistory: [{ role: 'user', content: 'first' }, { role: 'assistant', content: 'ok' }] },
    });
    expect(res.status).toBe(200);
    const call = ai.calls.at(-1)!;
    expect(call.body.messages).toEqual([
      { role: 'user', content: 'first' },
      { role: 'assistant', content: 'ok' },
      { role: 'user', content: 'and now?' },
    ]);
    const u = usageFor(call.body, 'Echo: and now?');
    expect(res.body.data).toEqual({
      text: 'Echo: and now?',
      aiGenerated: true,
      reasoning: null,
      status: 'complete',
      finishReason: 'stop',
      usage: { ...u, reasoning_tokens: null, estimated: false },
      model: 'gpt-test',
      metadata: { modelType: 'chat', responseLength: 'Echo: and now?'.length, tokensUsed: u.total_tokens },
      sessionId: expect.any(String),
      messageId: expect.any(String),
    });
  });

  it('maps errors onto the envelope and HTTP status', async () => {
    const { t, ai } = fx;
    const { token } = await login(t);
    const empty = await t.rest('POST', '/v1/chat/message', { token, body: { content: '' } });
    expect(empty.status).toBe(400);
    expect(empty.body.error?.details).toEqual({ field: 'content', reason: 'EMPTY' });
    const missing = await t.rest('POST', '/v1/ai/message', { token, body: {} });
    expect(missing.status).toBe(400);
    expect(missing.body.error?.details?.field).toBe('message');
    const model = await t.rest('POST', '/v1/ai/message', { token, body: { message: 'x', modelId: 'nope' } });
    expect(model.status).toBe(400);
    ai.nextModes.push('error500', 'error500', 'error500');
    const upstream = await t.rest('POST', '/v1/chat/message', { token, body: { content: 'fail please' } });
    expect(upstream.status).toBe(502);
    expect(upstream.body).toMatchObject({ code: 502, data: null, error: { code: 502 } });
    expect((await t.rest('POST', '/v1/chat/message', { body: { content: 'hi' } })).status).toBe(401);
  });
});

import { login, rows } from '../helpers/accounts';
import { dataOf, send, sent, useAppWithFakeAi } from '../helpers/replies';
import { collect } from '../helpers/test-app';
import { usageFor } from '../fakes/openai';
import { ReplyStreamDocument } from '../generated/graphql';

describe('sendMessage against an OpenAI-compatible provider', () => {
  const fx = useAppWithFakeAi();

  it('waits for the whole reply with stream: false and stores it with the provider usage', async () => {
    const { t, ai } = fx;
    const { token } = await login(t);
    const res = await send(t, token, { content: '你好，介绍一下杭州' });
    expect(res.body.errors).toBeUndefined();
    const out = dataOf(res).sendMessage;
    const call = ai.calls.at(-1)!;
    expect(call.body).toMatchObject({ model: 'gpt-test', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: '你好，介绍一下杭州' }] });
    const usage = usageFor(call.body, 'Echo: 你好，介绍一下杭州');
    expect(out.reply).toMatchObject({ role: 'ASSISTANT', content: 'Echo: 你好，介绍一下杭州', status: 'COMPLETE', model: 'gpt-test', chatId: out.sessionId });
    expect(out.reply.usage).toEqual({ promptTokens: usage.prompt_tokens, completionTokens: usage.completion_tokens, totalTokens: usage.total_tokens });
    expect(out.metadata).toEqual({ modelType: 'chat', responseLength: 'Echo: 你好，介绍一下杭州'.length, tokensUsed: usage.total_tokens });
    expect(out.messageId).toBe(out.reply.id);
    const stored = await rows(t, 'select role, content, status, total_tokens from messages where chat_id = ? order by position', [out.sessionId]);
    expect(stored).toEqual([
      { role: 'USER', content: '你好，介绍一下杭州', status: 'COMPLETE', total_tokens: null },
      { role: 'ASSISTANT', content: 'Echo: 你好，介绍一下杭州', status: 'COMPLETE', total_tokens: usage.total_tokens },
    ]);
    const [chat] = await rows(t, 'select title, message_count, preview from chats where id = ?', [out.sessionId]);
    expect(chat).toEqual({ title: '你好，介绍一下杭州', message_count: 2, preview: 'Echo: 你好，介绍一下杭州' });
  });

  it('streams with stream: true: deltas with increasing seq concatenate to the stored content', async () => {
    const { t, ai } = fx;
    const { token } = await login(t);
    ai.delayMs = 20;
    try {
      const out = await sent(t, token, { content: 'tell me a long story about the sea', stream: true });
      expect(out.reply.status).toBe('STREAMING');
      const { results, error } = await collect(t.ws({ authorization: `Bearer ${token}` }), ReplyStreamDocument, { messageId: out.messageId });
      expect(error).toBeUndefined();
      const events = results.map((r) => dataOf(r).replyStream);
      const deltas = events.filter((e) => !e.done);
      const done = events.at(-1)!;
      expect(done.done).toBe(true);
      expect(deltas.map((e) => e.seq)).toEqual(deltas.map((_, i) => i + 1));
      expect(done.seq).toBe(deltas.length + 1);
      const text = deltas.map((e) => e.delta).join('');
      expect(text).toBe('Echo: tell me a long story about the sea');
      expect(done.message).toMatchObject({ id: out.messageId, content: text, status: 'COMPLETE' });
      const [stored] = await rows(t, 'select content, status from messages where id = ?', [out.messageId]);
      expect(stored).toEqual({ content: text, status: 'COMPLETE' });
    } finally {
      ai.delayMs = 0;
    }
  });
});

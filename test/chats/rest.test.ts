import { login } from '../helpers/accounts';
import { saveChat, userSays } from '../helpers/chats';
import { startTestApp, type TestApp } from '../helpers/test-app';

/** A chat as /v1 answers it (roles in lowercase). */
interface RestChat {
  id: string;
  title: string;
  preview: string;
  category: string;
  tags: string[];
  isStarred: boolean;
  createdAt: string;
  updatedAt: string;
  messageCount: number;
  messages: Array<{ id: string; role: string; content: string; status: string; model: string | null; timestamp: string }>;
}

describe('chats over /v1', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('POST /v1/chats creates a chat from SaveChatParams and answers the REST Chat shape', async () => {
    const { token } = await login(t);
    const res = await t.rest<RestChat>('POST', '/v1/chats', {
      token,
      body: { title: '旅行计划', messages: [{ role: 'user', content: '去哪儿玩？', timestamp: '2024-02-22T14:30:00.000Z' }, { role: 'assistant', content: '杭州西湖' }], category: 'life', tags: ['旅行'] },
    });
    expect(res.status).toBe(200);
    expect(res.body.code).toBe(200);
    const chat = res.body.data;
    expect(Object.keys(chat).sort()).toEqual(['category', 'createdAt', 'id', 'isStarred', 'messageCount', 'messages', 'preview', 'tags', 'title', 'updatedAt']);
    expect(chat).toMatchObject({ title: '旅行计划', preview: '杭州西湖', category: 'life', tags: ['旅行'], isStarred: false, messageCount: 2 });
    expect(chat.messages).toEqual([
      { id: expect.any(String), role: 'user', content: '去哪儿玩？', aiGenerated: false, status: 'COMPLETE', model: null, timestamp: '2024-02-22T14:30:00.000Z' },
      { id: expect.any(String), role: 'assistant', content: '杭州西湖', aiGenerated: true, status: 'COMPLETE', model: null, timestamp: expect.any(String) },
    ]);

    const one = await t.rest<RestChat>('GET', `/v1/chats/${chat.id}`, { token });
    expect(one.body.data).toEqual(chat);
  });

  it('GET /v1/chats returns an array with X-Total-Count and X-Next-Cursor, and filters', async () => {
    const { token } = await login(t);
    for (let i = 0; i < 5; i++) await saveChat(t, token, { title: `c${i}`, messages: [userSays(`m${i}`)], isStarred: i % 2 === 0 });
    const p1 = await t.rest<RestChat[]>('GET', '/v1/chats?first=2', { token });
    expect(p1.status).toBe(200);
    expect(p1.body.data.map((c) => c.title)).toEqual(['c4', 'c3']);
    expect(p1.headers.get('x-total-count')).toBe('5');
    const cursor = p1.headers.get('x-next-cursor')!;
    expect(cursor).toBeTruthy();
    const p2 = await t.rest<RestChat[]>('GET', `/v1/chats?first=2&after=${encodeURIComponent(cursor)}`, { token });
    expect(p2.body.data.map((c) => c.title)).toEqual(['c2', 'c1']);
    const last = await t.rest<RestChat[]>('GET', `/v1/chats?first=2&after=${encodeURIComponent(p2.headers.get('x-next-cursor')!)}`, { token });
    expect(last.body.data.map((c) => c.title)).toEqual(['c0']);
    expect(last.headers.get('x-next-cursor')).toBeNull();
    const starred = await t.rest<RestChat[]>('GET', '/v1/chats?starred=true', { token });
    expect(starred.body.data.map((c) => c.title)).toEqual(['c4', 'c2', 'c0']);
    expect(starred.headers.get('x-total-count')).toBe('3');
    expect((await t.rest('GET', '/v1/chats?first=101', { token })).status).toBe(400);
    expect((await t.rest('GET', '/v1/chats?after=garbage', { token })).status).toBe(400);
  });

  it('GET /v1/chats/search?q= finds chats', async () => {
    const { token } = await login(t);
    await saveChat(t, token, { title: 'x', messages: [userSays('这个问题很简单吧')] });
    const res = await t.rest<RestChat[]>('GET', `/v1/chats/search?q=${encodeURIComponent('简单')}`, { token });
    expect(res.body.data.map((c) => c.messages[0].content)).toEqual(['这个问题很简单吧']);
    expect(res.headers.get('x-total-count')).toBe('1');
    expect((await t.rest('GET', '/v1/chats/search', { token })).status).toBe(400);
  });

  it('DELETE /v1/chats deletes and returns {deleted: n}', async () => {
    const { token } = await login(t);
    const a = await saveChat(t, token, { messages: [userSays('a')] });
    const res = await t.rest('DELETE', '/v1/chats', { token, body: { ids: [a.id, 'nope'] } });
    expect(res.body).toEqual({ code: 200, message: 'success', data: { deleted: 1 } });
    expect((await t.rest('GET', `/v1/chats/${a.id}`, { token })).status).toBe(404);
  });

  it("answers 404 for someone else's chat and 401 without a credential, with the error envelope", async () => {
    const owner = await login(t);
    const other = await login(t);
    const chat = await saveChat(t, owner.token, { messages: [userSays('mine')] });
    const res = await t.rest('GET', `/v1/chats/${chat.id}`, { token: other.token });
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ code: 404, message: 'Chat not found', data: null, error: { code: 404, message: 'Chat not found' } });
    const replace = await t.rest('POST', '/v1/chats', { token: other.token, body: { id: chat.id, messages: [] } });
    expect(replace.status).toBe(404);
    expect((await t.rest('GET', '/v1/chats')).status).toBe(401);
  });

  it('refuses malformed bodies with 400 naming the field', async () => {
    const { token } = await login(t);
    const noMessages = await t.rest('POST', '/v1/chats', { token, body: { title: 'x' } });
    expect(noMessages.status).toBe(400);
    expect(noMessages.body.error?.details?.field).toBe('messages');
    const badRole = await t.rest('POST', '/v1/chats', { token, body: { messages: [{ role: 'robot', content: 'x' }] } });
    expect(badRole.status).toBe(400);
    expect(badRole.body.error?.details?.field).toBe('messages.0.role');
    const longTitle = await t.rest('POST', '/v1/chats', { token, body: { title: 't'.repeat(201), messages: [] } });
    expect(longTitle.status).toBe(400);
    expect(longTitle.body.error?.details).toEqual({ field: 'title', reason: 'TOO_LONG' });
  });
});

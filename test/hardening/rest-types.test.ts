import { login } from '../helpers/accounts';
import { startAppWithPayments } from '../helpers/payments';
import type { TestApp } from '../helpers/test-app';
import { dbState } from './db-state';

/*
 * /v1 bodies are checked against their declared JSON types with no coercion: "9.9", "1e2" and
 * " 5" each created a real order before. A wrong type is BAD_REQUEST / INVALID naming the
 * field, and nothing is stored. Query strings, which have no types, accept a number or a
 * boolean only in its one plain spelling.
 */

describe('REST types', () => {
  let t: TestApp;
  let close: () => Promise<void>;
  let token: string;
  beforeAll(async () => {
    ({ t, close } = await startAppWithPayments());
    ({ token } = await login(t));
  });
  afterAll(() => close());

  const refusesField = async (method: string, path: string, body: unknown, field: string) => {
    const before = await dbState(t);
    const res = await t.rest(method, path, { token, body });
    expect([path, res.status, res.body.error?.details]).toEqual([path, 400, { field, reason: 'INVALID' }]);
    expect(await dbState(t)).toBe(before);
  };

  it.each(['9.9', '1e2', ' 5', '5'])('refuses the amount %j as a string on both payment routes, and creates no order', async (amount) => {
    await refusesField('POST', '/v1/pay/wechat', { amount, orderId: 'o-string' }, 'amount');
    await refusesField('POST', '/v1/pay/alipay', { amount, orderId: 'o-string' }, 'amount');
  });

  it.each([
    ['POST', '/v1/chat/message', { content: 5 }, 'content'],
    ['POST', '/v1/chat/message', { content: 'hi', clientMessageId: 12 }, 'clientMessageId'],
    ['POST', '/v1/ai/message', { message: 'hi', messageHistory: { role: 'user', content: 'x' } }, 'messageHistory'],
    ['POST', '/v1/ai/message', { message: 'hi', messageHistory: [{ role: 'user', content: true }] }, 'messageHistory.0.content'],
    ['PUT', '/v1/user/settings', { isDarkMode: 'true' }, 'isDarkMode'],
    ['PUT', '/v1/user/settings', { saveHistory: 0 }, 'saveHistory'],
    ['POST', '/v1/chats', { messages: [], tags: 'one' }, 'tags'],
    ['POST', '/v1/chats', { messages: [{ role: 'user', content: 1 }] }, 'messages.0.content'],
    ['POST', '/v1/chats', { messages: [], isStarred: 'yes' }, 'isStarred'],
    ['DELETE', '/v1/chats', { ids: '01m8y1b4twy6rpcc6ftq4rygv9' }, 'ids'],
    ['POST', '/v1/auth/wechat-login', { code: 123 }, 'code'],
    ['POST', '/v1/auth/wechat-login', { code: 'c', userInfo: { nickName: 7 } }, 'userInfo.nickName'],
    ['POST', '/v1/pay/wechat', { amount: 1, orderId: 42 }, 'orderId'],
  ])('%s %s %j: 400 naming %s, nothing stored', async (method, path, body, field) => {
    await refusesField(method, path, body, field);
  });

  it('takes null for an optional field as absent, as GraphQL does, but not for a required one', async () => {
    const sent = await t.rest<{ sessionId: string }>('POST', '/v1/chat/message', { token, body: { content: 'hi', sessionId: null, clientMessageId: null, modelId: null } });
    expect(sent.status).toBe(200);
    const saved = await t.rest<{ title: string }>('POST', '/v1/chats', { token, body: { title: null, messages: [{ role: 'user', content: 'named after me', timestamp: null }] } });
    expect([saved.status, saved.body.data.title]).toEqual([200, 'named after me']);
    await refusesField('POST', '/v1/chat/message', { content: null }, 'content');
  });

  it.each([
    ['first=1e1', 'first'],
    ['first=%205', 'first'],
    ['first=2.0', 'first'],
    ['first=0x10', 'first'],
    ['first=1&first=2', 'first'],
    ['starred=1', 'starred'],
    ['starred=TRUE', 'starred'],
  ])('refuses the query string %s, naming %s', async (query, field) => {
    const res = await t.rest('GET', `/v1/chats?${query}`, { token });
    expect([res.status, res.body.error?.details]).toEqual([400, { field, reason: 'INVALID' }]);
  });

  it('reads plain numbers and booleans from the query string', async () => {
    const { token: own } = await login(t);
    for (const isStarred of [true, false, true]) await t.rest('POST', '/v1/chats', { token: own, body: { messages: [], isStarred } });
    const page = await t.rest<Array<{ isStarred: boolean }>>('GET', '/v1/chats?first=1&starred=true', { token: own });
    expect([page.status, page.body.data, page.headers.get('x-total-count')]).toEqual([200, [expect.objectContaining({ isStarred: true })], '2']);
    const all = await t.rest<unknown[]>('GET', '/v1/chats?starred=false', { token: own });
    expect(all.body.data).toHaveLength(1);
  });
});

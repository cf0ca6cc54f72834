import { login } from '../helpers/accounts';
import { saveChat } from '../helpers/chats';
import { startTestApp, type TestApp } from '../helpers/test-app';

/** Page sizes are `Int` with a default: an explicit null from a client means the default. */
describe('page sizes given as null', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('take the default on chats, searchChats, orders and Chat.messages', async () => {
    const { token } = await login(t);
    const chat = await saveChat(t, token, { title: '默认分页', messages: [{ role: 'USER', content: 'hello' }] });
    const res = await t.gql<{ chats: { nodes: Array<{ id: string; messages: Array<{ content: string }> }> }; searchChats: { totalCount: number }; orders: { nodes: unknown[] } }>(
      `query($n: Int) {
        chats(first: $n) { nodes { id messages(last: $n) { content } } }
        searchChats(query: "默认", first: null) { totalCount }
        orders(first: null) { nodes { orderId } }
      }`,
      { n: null },
      { token },
    );
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data?.chats.nodes).toEqual([{ id: chat.id, messages: [{ content: 'hello' }] }]);
    expect(res.body.data?.searchChats.totalCount).toBe(1);
    expect(res.body.data?.orders.nodes).toEqual([]);
  });
});

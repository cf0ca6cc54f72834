import { AdminModerationEventsDocument, AdminOrdersDocument, AdminRatingsDocument, AdminUserDocument, AdminUsersDocument, LoginDocument, RateMessageDocument } from '../generated/graphql';
import { keywordFile } from '../moderation/setup';
import { login, rows } from '../helpers/accounts';
import { createOrder, startAppWithPayments } from '../helpers/payments';
import { dataOf, send, sent } from '../helpers/replies';
import type { TestApp } from '../helpers/test-app';
import { adminLogin, outcome } from './setup';

let t: TestApp;
let close: () => Promise<void>;
let admin: { token: string; userId: string };

beforeAll(async () => {
  ({ t, close } = await startAppWithPayments({ MODERATION_KEYWORDS_FILE: keywordFile(['forbiddenword']) }));
  admin = await adminLogin(t);
});
afterAll(() => close());

const as = { get token() { return admin.token; } };
const named = async (nickName: string) => {
  const res = dataOf(await t.gql(LoginDocument, { input: { code: `n-${Math.random()}`, userInfo: { nickName } } }));
  return { token: res.wechatLogin.token, userId: res.wechatLogin.userInfo.id };
};

describe('adminUsers', () => {
  it('finds by id, openid and part of the nickname (case-insensitive, % and _ literal), newest first, in pages', async () => {
    const tag = `Zq${Date.now() % 100000}`;
    const a = await named(`${tag} Alice`);
    const b = await named(`bob ${tag.toLowerCase()}`);
    const c = await named(`${tag}_100%`);
    await named('unrelated');
    const search = async (query: string, first?: number, after?: string) => dataOf(await t.gql(AdminUsersDocument, { query, first, after }, as)).adminUsers;

    const all = await search(tag);
    expect(all.nodes.map((n) => n.id)).toEqual([c.userId, b.userId, a.userId]);
    expect(all.totalCount).toBe(3);
    expect(all.nodes[2]).toMatchObject({ nickName: `${tag} Alice`, role: 'USER', balance: 0, suspendedUntil: null });

    const first = await search(tag, 2);
    expect([first.nodes.map((n) => n.id), first.pageInfo.hasNextPage, first.totalCount]).toEqual([[c.userId, b.userId], true, 3]);
    const second = await search(tag, 2, first.pageInfo.endCursor!);
    expect([second.nodes.map((n) => n.id), second.pageInfo.hasNextPage]).toEqual([[a.userId], false]);

    expect((await search(a.userId)).nodes.map((n) => n.id)).toEqual([a.userId]);
    const [{ openid }] = await rows(t, 'select openid from users where id = ?', [b.userId]);
    expect((await search(String(openid))).nodes.map((n) => n.id)).toEqual([b.userId]);
    expect((await search('_100%')).nodes.map((n) => n.id)).toEqual([c.userId]);
    expect((await search('%')).nodes.map((n) => n.id)).toEqual([c.userId]);
    expect((await search('nobody like this')).totalCount).toBe(0);
  });

  it('refuses bad page sizes and cursors', async () => {
    expect(outcome(await t.gql(AdminUsersDocument, { first: 101 }, as))).toEqual({ status: 400, code: 'BAD_REQUEST', reason: 'OUT_OF_RANGE', field: 'first' });
    expect(outcome(await t.gql(AdminUsersDocument, { after: 'garbage' }, as))).toEqual({ status: 400, code: 'BAD_REQUEST', reason: 'MALFORMED_CURSOR', field: 'after' });
  });
});

describe('adminOrders', () => {
  it('filters by status, method and user, each order naming its user', async () => {
    const u = await login(t);
    const v = await login(t);
    await createOrder(t, { token: u.token }, 'WECHAT', { amount: 1, orderId: 'u-w' });
    await createOrder(t, { token: u.token }, 'ALIPAY', { amount: 2, orderId: 'u-a' });
    await createOrder(t, { token: v.token }, 'WECHAT', { amount: 3, orderId: 'v-w' });
    await rows(t, "update payment_orders set status = 'SUCCESS' where client_order_id = 'u-a'");
    const orders = async (vars: { status?: 'PENDING' | 'SUCCESS' | 'FAILED'; method?: 'WECHAT' | 'ALIPAY'; userId?: string; first?: number; after?: string }) => dataOf(await t.gql(AdminOrdersDocument, vars, as)).adminOrders;

    expect((await orders({ userId: u.userId })).nodes.map((o) => [o.orderId, o.paymentMethod, o.amount, o.userId])).toEqual([
      ['u-a', 'ALIPAY', 2, u.userId],
      ['u-w', 'WECHAT', 1, u.userId],
    ]);
    expect((await orders({ userId: u.userId, status: 'SUCCESS' })).nodes.map((o) => o.orderId)).toEqual(['u-a']);
    const wechat = await orders({ method: 'WECHAT', status: 'PENDING' });
    expect(wechat.nodes.filter((o) => [u.userId, v.userId].includes(o.userId!)).map((o) => o.orderId)).toEqual(['v-w', 'u-w']);
    const page = await orders({ userId: u.userId, first: 1 });
    expect([page.nodes[0].orderId, page.pageInfo.hasNextPage, page.totalCount]).toEqual(['u-a', true, 2]);
    expect((await orders({ userId: u.userId, first: 1, after: page.pageInfo.endCursor! })).nodes.map((o) => o.orderId)).toEqual(['u-w']);

    const detail = dataOf(await t.gql(AdminUserDocument, { id: u.userId }, as)).adminUser.adminDetail;
    expect(detail.recentOrders.map((o) => [o.orderId, o.userId])).toEqual([['u-a', u.userId], ['u-w', u.userId]]);
  });

  it("userId on a user's own orders is for admins only", async () => {
    const u = await login(t);
    await createOrder(t, { token: u.token }, 'WECHAT', { amount: 1, orderId: 'own' });
    const res = await t.gql<{ orders: { nodes: Array<{ userId: string | null }> } }>('{ orders { nodes { orderId userId } } }', {}, { token: u.token });
    expect(res.body.errors?.[0].extensions).toMatchObject({ code: 'FORBIDDEN', details: { reason: 'ADMIN_REQUIRED' } });
  });
});

describe('adminRatings and adminModerationEvents', () => {
  it('lists rated replies, most recently rated first, filtered by rating', async () => {
    const u = await login(t);
    const one = await sent(t, u.token, { content: 'first question' });
    const two = await sent(t, u.token, { content: 'second question' });
    await t.gql(RateMessageDocument, { messageId: one.reply.id, rating: 'DOWN', comment: 'wrong answer' }, { token: u.token });
    await t.gql(RateMessageDocument, { messageId: two.reply.id, rating: 'UP' }, { token: u.token });
    const ratings = async (rating?: 'UP' | 'DOWN') => dataOf(await t.gql(AdminRatingsDocument, { rating, first: 100 }, as)).adminRatings;

    const mine = (await ratings()).nodes.filter((n) => n.userId === u.userId);
    expect(mine.map((n) => [n.message.id, n.rating, n.comment, n.message.chatId])).toEqual([
      [two.reply.id, 'UP', null, two.sessionId],
      [one.reply.id, 'DOWN', 'wrong answer', one.sessionId],
    ]);
    expect((await ratings('DOWN')).nodes.filter((n) => n.userId === u.userId).map((n) => n.message.id)).toEqual([one.reply.id]);
    // Cleared ratings leave the list.
    await t.gql(RateMessageDocument, { messageId: one.reply.id, rating: null }, { token: u.token });
    expect((await ratings('DOWN')).nodes.filter((n) => n.userId === u.userId)).toEqual([]);
  });

  it('lists content-security hits, filtered by user, and counts them in adminDetail', async () => {
    const u = await login(t);
    const refused = await send(t, u.token, { content: 'this has forbiddenword in it' });
    expect(outcome(refused)).toMatchObject({ code: 'FORBIDDEN', reason: 'CONTENT_BLOCKED' });
    const events = dataOf(await t.gql(AdminModerationEventsDocument, { userId: u.userId }, as)).adminModerationEvents;
    expect(events.totalCount).toBe(1);
    expect(events.nodes[0]).toMatchObject({ userId: u.userId, stage: 'INPUT', engine: 'keywords', action: 'BLOCK', field: 'content' });
    expect(events.nodes[0].excerpt).toContain('forbiddenword');
    expect(dataOf(await t.gql(AdminUserDocument, { id: u.userId }, as)).adminUser.adminDetail.moderationHits).toBe(1);
  });
});

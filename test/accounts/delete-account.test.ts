import { everyTable, login, rows } from '../helpers/accounts';
import { saveChat, userSays } from '../helpers/chats';
import { connectLegacy } from '../helpers/legacy-ws';
import { balanceOf, createOrder, outTradeNoOf, postWechatNotification, startAppWithPayments } from '../helpers/payments';
import { openGraphqlWs } from '../helpers/raw-ws';
import { sent } from '../helpers/replies';
import { startTestApp, testRedisEnv, type TestApp } from '../helpers/test-app';
import { freshDatabaseUrl } from '../helpers/database';
import { CreateApiKeyDocument, DeleteAccountDocument, LoginDocument, MeDocument, RateMessageDocument } from '../generated/graphql';

const PHRASE = 'DELETE MY ACCOUNT';

describe('deleting an account', () => {
  let t: TestApp;
  let pay: Awaited<ReturnType<typeof startAppWithPayments>>;
  beforeAll(async () => {
    pay = await startAppWithPayments();
    t = pay.t;
  });
  afterAll(() => pay.close());

  it('needs the phrase word for word and a login token; otherwise nothing changes', async () => {
    const { token, userId } = await login(t);
    const key = (await t.gql(CreateApiKeyDocument, { name: 'k' }, { token })).body.data!.createApiKey.secret;
    for (const confirm of ['', 'delete my account', 'DELETE ALL CHATS']) {
      const res = await t.gql(DeleteAccountDocument, { confirm }, { token });
      expect(res.body.errors?.[0].extensions).toMatchObject({ code: 'BAD_REQUEST', details: { field: 'confirm', reason: 'CONFIRMATION_REQUIRED' } });
    }
    const byKey = await t.gql(DeleteAccountDocument, { confirm: PHRASE }, { apiKey: key });
    expect(byKey.body.errors?.[0].extensions).toMatchObject({ code: 'FORBIDDEN', details: { reason: 'LOGIN_TOKEN_REQUIRED' } });
    expect((await t.gql(DeleteAccountDocument, { confirm: PHRASE })).body.errors?.[0].extensions.code).toBe('UNAUTHENTICATED');
    expect((await t.rest('DELETE', '/v1/user', { token, body: { confirm: 'no' } })).status).toBe(400);
    expect((await t.gql(MeDocument, {}, { token })).body.data?.me.id).toBe(userId);
    expect((await t.gql(MeDocument, {}, { apiKey: key })).body.data?.me.id).toBe(userId);
  });

  it('erases everything personal, keeps anonymous payment records, refuses every credential on every transport, and closes sockets', async () => {
    const code = `delete-me-${Math.random()}`;
    const { token, userId } = await login(t, code);
    const other = await login(t);
    // Nickname and chats with recognisable text, a rated reply, an API key, a paid order.
    await t.gql('mutation { updateSettings(input: { isDarkMode: true }) { isDarkMode } }', {}, { token });
    await saveChat(t, token, { title: '我的秘密标题', tags: ['私人'], messages: [userSays('我的秘密内容 secret-words')] });
    const reply = await sent(t, token, { content: '回复我 secret-words' });
    await t.gql(RateMessageDocument, { messageId: reply.reply.id, rating: 'UP', comment: 'secret-comment' }, { token });
    const key = (await t.gql(CreateApiKeyDocument, { name: 'secret-key-name' }, { token })).body.data!.createApiKey.secret;
    const order = await createOrder(t, { token }, 'WECHAT', { amount: 12.5, orderId: `o-${Date.now()}` });
    expect((await postWechatNotification(t, pay.wechat.notification(await outTradeNoOf(t, userId, order.orderId)))).status).toBe(204);
    expect(await balanceOf(t, { token })).toBe(1250);
    const openid = String((await rows(t, 'select openid from users where id = ?', [userId]))[0].openid);
    const othersChat = await saveChat(t, other.token, { title: 'not mine', messages: [userSays('keep me')] });

    // Open sockets on both socket transports.
    const ws = await openGraphqlWs(t.wsUrl, { authorization: `Bearer ${token}` });
    expect(ws.acked).toBe(true);
    const legacy = await connectLegacy(t.url);
    legacy.send({ type: 'auth', data: { token } });
    await legacy.waitFor((f) => f.type === 'auth' && f.data.ok === true);

    const res = await t.rest<{ deleted: boolean }>('DELETE', '/v1/user', { token, body: { confirm: PHRASE } });
    expect([res.status, res.body.data]).toEqual([200, { deleted: true }]);

    // Sockets closed at once.
    expect((await ws.closed).code).toBe(4403);
    expect((await legacy.closed()).code).toBeGreaterThanOrEqual(4000);
    // Every credential refused on every transport.
    expect((await t.gql(MeDocument, {}, { token })).status).toBe(401);
    expect((await t.gql(MeDocument, {}, { apiKey: key })).status).toBe(401);
    expect((await t.rest('GET', '/v1/user/info', { token })).status).toBe(401);
    expect((await openGraphqlWs(t.wsUrl, { authorization: `Bearer ${token}` })).acked).toBe(false);
    expect((await openGraphqlWs(t.wsUrl, { apiKey: key })).acked).toBe(false);
    const again = await connectLegacy(t.url);
    again.send({ type: 'auth', data: { token } });
    expect((await again.closed()).code).toBeGreaterThanOrEqual(4000);
    // A second call with the same token is refused like any other use of it.
    expect((await t.gql(DeleteAccountDocument, { confirm: PHRASE }, { token })).status).toBe(401);

    // Nothing personal of the user in any table; only accounting rows still carry the (now anonymous) id.
    const dump = await everyTable(t);
    for (const [table, text] of Object.entries(dump)) {
      for (const secret of ['secret-words', '我的秘密', '私人', 'secret-comment', 'secret-key-name', openid, key.slice(0, 12)]) {
        expect([table, text.includes(secret)]).toEqual([table, false]);
      }
      // Accounting and audit records stay, owned by the anonymous id.
      if (text.includes(userId)) expect(['users', 'payment_orders', 'payment_refunds', 'ledger_entries', 'usage_records', 'reply_holds', 'admin_audit']).toContain(table);
    }
    const [tombstone] = await rows(t, 'select app_id, openid, unionid, nick_name, avatar, balance, deleted_at from users where id = ?', [userId]);
    expect(tombstone).toMatchObject({ app_id: 'deleted', openid: `deleted:${userId}`, unionid: null, nick_name: '', avatar: null });
    expect(Number(tombstone.balance)).toBe(0);
    expect(tombstone.deleted_at).not.toBeNull();
    const ledger = await rows(t, 'select kind, amount, balance_after from ledger_entries where user_id = ? order by created_at, id', [userId]);
    expect(ledger.map((r) => [r.kind, Number(r.amount), Number(r.balance_after)])).toEqual([
      ['TOPUP', 1250, 1250],
      ['ACCOUNT_DELETED', -1250, 0],
    ]);
    expect(await rows(t, 'select status from payment_orders where user_id = ?', [userId])).toEqual([{ status: 'SUCCESS' }]);
    expect((await rows(t, 'select id from chats where id = ?', [othersChat.id])).length).toBe(1);

    // The same WeChat identity logs in to a new, empty account.
    const fresh = await t.gql(LoginDocument, { input: { code } });
    const freshUser = fresh.body.data!.wechatLogin.userInfo;
    expect(freshUser.id).not.toBe(userId);
    expect(await balanceOf(t, { token: fresh.body.data!.wechatLogin.token })).toBe(0);
  });
});

const onRedis = process.env.TEST_REDIS_URL ? describe : describe.skip;

onRedis('deleting an account with two instances', () => {
  it('refuses the credentials on the other instance and closes its sockets', async () => {
    const env = { DATABASE_URL: freshDatabaseUrl(), ...testRedisEnv() };
    const a = await startTestApp({ env });
    const b = await startTestApp({ env });
    try {
      const { token } = await login(a);
      const key = (await a.gql(CreateApiKeyDocument, { name: 'k' }, { token })).body.data!.createApiKey.secret;
      const onB = await openGraphqlWs(b.wsUrl, { apiKey: key });
      expect(onB.acked).toBe(true);
      expect((await a.gql(DeleteAccountDocument, { confirm: PHRASE }, { token })).body.data).toEqual({ deleteAccount: true });
      expect((await onB.closed).code).toBe(4403);
      expect((await b.gql(MeDocument, {}, { token })).status).toBe(401);
      expect((await b.gql(MeDocument, {}, { apiKey: key })).status).toBe(401);
    } finally {
      await b.close();
      await a.close();
    }
  });
});

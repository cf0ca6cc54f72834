import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { everyTable, rows } from '../helpers/accounts';
import { balanceOf, ledgerOf, outTradeNoOf } from '../helpers/payments';
import { invalidVariables, startTestApp, type TestApp } from '../helpers/test-app';
import { startFakeWechat } from '../fakes/wechat';
import { fakeXpay } from '../fakes/wechat-xpay';
import { LoginDocument, TestCreateVirtualPayOrderDocument as CREATE, TestVirtualPaymentStatusDocument as STATUS, TestVirtualProductsDocument as PRODUCTS } from '../generated/graphql';

const APP_KEY = `appkey-${randomBytes(8).toString('hex')}`;
const PUSH_TOKEN = `push-${randomBytes(6).toString('hex')}`;
// An EncodingAESKey: 43 base64 characters.
const AES_KEY = randomBytes(32).toString('base64').slice(0, 43);
const PRODUCTS_JSON = [
  { id: 'credits_6', name: '600 积分', price: 6, credits: 600 },
  { id: 'credits_30', name: '3300 积分', price: 30, credits: 3300 },
];

const hmac = (key: string, text: string) => createHmac('sha256', key).update(text).digest('hex');
const newOrderId = () => `v-${randomBytes(6).toString('hex')}`;

describe('WeChat virtual payment', () => {
  let t: TestApp;
  let wechat: Awaited<ReturnType<typeof startFakeWechat>>;
  let xpay: ReturnType<typeof fakeXpay>;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xpay-'));
    const productsFile = join(dir, 'products.json');
    writeFileSync(productsFile, JSON.stringify(PRODUCTS_JSON));
    let appId = '';
    xpay = fakeXpay({ get appId() { return appId; }, appKey: APP_KEY, pushToken: PUSH_TOKEN, aesKey: AES_KEY });
    wechat = await startFakeWechat({ extra: xpay.extra });
    appId = wechat.env().WECHAT_APP_ID;
    t = await startTestApp({
      env: {
        ...wechat.env(),
        WECHAT_XPAY_OFFER_ID: '1450000001',
        WECHAT_XPAY_APP_KEY: APP_KEY,
        WECHAT_XPAY_ENV: '1',
        WECHAT_XPAY_PRODUCTS: productsFile,
        WECHAT_PUSH_TOKEN: PUSH_TOKEN,
        WECHAT_PUSH_AES_KEY: AES_KEY,
        DATA_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
      },
      // Each order is checked by the reconciler whenever asked (the production interval is a minute).
      timings: (timings) => {
        timings.payments.reconcileCheckIntervalMs = 1;
      },
    });
  });
  afterAll(async () => {
    await t.close();
    await wechat.close();
  });

  async function miniUser() {
    const openid = `oX${randomBytes(10).toString('hex')}`;
    const res = await t.gql(LoginDocument, { input: { code: wechat.code(openid) } });
    const login = res.body.data!.wechatLogin;
    return { token: login.token, userId: login.userInfo.id, openid, sessionKey: wechat.sessionKeys.at(-1)! };
  }
  const orderCount = async () => Number((await rows(t, 'select count(*) as n from payment_orders'))[0].n);
  const create = (creds: { token?: string }, productId: string, orderId = newOrderId()) => t.gql(CREATE, { input: { productId, orderId } }, creds);
  const postPush = async (p: { query: string; body: string }) => {
    const res = await fetch(`${t.url}/v1/wechat/push?${p.query}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: p.body });
    return { status: res.status, text: await res.text() };
  };
  const deliverPush = (outTradeNo: string, openid: string, price: number, productId = 'credits_6') => ({
    ToUserName: 'gh_fake',
    FromUserName: openid,
    CreateTime: Math.floor(Date.now() / 1000),
    MsgType: 'event',
    Event: 'xpay_goods_deliver_notify',
    OpenId: openid,
    OutTradeNo: outTradeNo,
    Env: 1,
    WeChatPayInfo: { MchOrderNo: `mch${outTradeNo}`, TransactionId: `4200${randomBytes(6).toString('hex')}`, PaidTime: Math.floor(Date.now() / 1000) },
    GoodsInfo: { ProductId: productId, Quantity: 1, OrigPrice: price, ActualPrice: price, Attach: '' },
  });

  it('virtualProducts lists the configured products (GraphQL and REST), price in yuan and credits in fen', async () => {
    const res = await t.gql(PRODUCTS, {});
    expect(res.body.data!.virtualProducts).toEqual(PRODUCTS_JSON);
    const rest = await t.rest('GET', '/v1/pay/virtual-products');
    expect(rest.status).toBe(200);
    expect(rest.body.data).toEqual(PRODUCTS_JSON);
  });

  it('login keeps the session_key only encrypted: no table holds it in plain text', async () => {
    const user = await miniUser();
    const [row] = await rows(t, 'select session_key_enc from users where id = ?', [user.userId]);
    expect(String(row.session_key_enc)).toMatch(/^v1\./);
    const dump = Object.values(await everyTable(t)).join('\n');
    for (const key of wechat.sessionKeys) {
      expect(dump).not.toContain(key);
      expect(dump).not.toContain(Buffer.from(key, 'base64').toString('hex'));
    }
  });

  it('createVirtualPayOrder stores a pending order and answers signData, paySig and signature as WeChat verifies them; the same orderId is the same order', async () => {
    const user = await miniUser();
    const orderId = newOrderId();
    const res = await create(user, 'credits_30', orderId);
    const made = res.body.data!.createVirtualPayOrder;
    expect(made.mode).toBe('short_series_goods');
    expect(made.order).toMatchObject({ orderId, amount: 30, paymentMethod: 'WECHAT_VIRTUAL', scene: 'MINI_PROGRAM', status: 'PENDING' });
    const outTradeNo = await outTradeNoOf(t, user.userId, orderId);
    expect(JSON.parse(made.signData)).toEqual({ offerId: '1450000001', buyQuantity: 1, env: 1, currencyType: 'CNY', productId: 'credits_30', goodsPrice: 3000, outTradeNo, attach: orderId });
    // WeChat's checks: paySig with the AppKey over "requestVirtualPayment&" + signData, signature with the session_key over signData.
    expect(made.paySig).toBe(hmac(APP_KEY, `requestVirtualPayment&${made.signData}`));
    expect(made.signature).toBe(hmac(user.sessionKey, made.signData));
    const [row] = await rows(t, 'select method, amount, credits, product_id, status from payment_orders where out_trade_no = ?', [outTradeNo]);
    expect(row).toMatchObject({ method: 'WECHAT_VIRTUAL', amount: 3000, credits: 3300, product_id: 'credits_30', status: 'PENDING' });
    const before = await orderCount();
    const again = await create(user, 'credits_30', orderId);
    expect(JSON.parse(again.body.data!.createVirtualPayOrder.signData).outTradeNo).toBe(outTradeNo);
    expect(await orderCount()).toBe(before);
    const conflict = await create(user, 'credits_6', orderId);
    expect(conflict.body.errors![0].extensions).toMatchObject({ code: 'BAD_REQUEST', details: { reason: 'ORDER_ID_CONFLICT' } });
  });

  it('POST /v1/pay/wechat-virtual and GET /v1/pay/status?paymentMethod=wechat_virtual', async () => {
    const user = await miniUser();
    const orderId = newOrderId();
    const res = await t.rest<Record<string, unknown>>('POST', '/v1/pay/wechat-virtual', { token: user.token, body: { productId: 'credits_6', orderId } });
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ orderId, amount: 6, status: 'pending', mode: 'short_series_goods' });
    expect(res.body.data.paySig).toBe(hmac(APP_KEY, `requestVirtualPayment&${String(res.body.data.signData)}`));
    const status = await t.rest<Record<string, unknown>>('GET', `/v1/pay/status?orderId=${orderId}&paymentMethod=wechat_virtual`, { token: user.token });
    expect(status.body.data).toMatchObject({ orderId, status: 'pending', paidAmount: 0 });
  });

  it('a delivery push (safe mode) credits the product once; 10 duplicate pushes leave one ledger row', async () => {
    const user = await miniUser();
    const orderId = newOrderId();
    await create(user, 'credits_6', orderId);
    const outTradeNo = await outTradeNoOf(t, user.userId, orderId);
    const first = await postPush(xpay.push(deliverPush(outTradeNo, user.openid, 600)));
    expect(first).toEqual({ status: 200, text: JSON.stringify({ ErrCode: 0, ErrMsg: 'success' }) });
    expect(await balanceOf(t, user)).toBe(600);
    const again = await Promise.all(Array.from({ length: 10 }, () => postPush(xpay.push(deliverPush(outTradeNo, user.openid, 600)))));
    expect(again.map((a) => a.status)).toEqual(Array(10).fill(200));
    expect(await balanceOf(t, user)).toBe(600);
    const ledger = await ledgerOf(t, user.userId);
    expect(ledger).toHaveLength(1);
    expect(ledger[0]).toMatchObject({ kind: 'TOPUP', amount: 600, balanceAfter: 600 });
    const status = await t.gql(STATUS, { orderId }, user);
    expect(status.body.data!.paymentStatus).toMatchObject({ status: 'SUCCESS', paidAmount: 6 });
  });

  it('a lost push: the reconciler asks query_order (signed with pay_sig) and credits a paid order', async () => {
    const user = await miniUser();
    const orderId = newOrderId();
    await create(user, 'credits_30', orderId);
    const outTradeNo = await outTradeNoOf(t, user.userId, orderId);
    // Not paid yet: the reconciler leaves it pending.
    await t.app.deps.payments.settlement.reconcile();
    expect(await balanceOf(t, user)).toBe(0);
    xpay.orders.set(outTradeNo, { order_id: outTradeNo, status: 2, order_fee: 3000, paid_fee: 3000, paid_time: Math.floor(Date.now() / 1000), wx_order_id: 'wx123' });
    await t.app.deps.payments.settlement.reconcile();
    expect(await balanceOf(t, user)).toBe(3300);
    const query = xpay.queries.filter((q) => q.body.order_id === outTradeNo);
    expect(query.length).toBeGreaterThanOrEqual(2);
    expect(query.every((q) => q.paySigValid)).toBe(true);
    expect(query[0].body).toEqual({ openid: user.openid, env: 1, order_id: outTradeNo });
    await t.app.deps.payments.settlement.reconcile();
    expect(await ledgerOf(t, user.userId)).toHaveLength(1);
  });

  it('refuses pushes with a bad signature, another token or another appid, crediting nothing', async () => {
    const user = await miniUser();
    const orderId = newOrderId();
    await create(user, 'credits_6', orderId);
    const outTradeNo = await outTradeNoOf(t, user.userId, orderId);
    const good = xpay.push(deliverPush(outTradeNo, user.openid, 600));
    const tampered = { query: good.query.replace(/msg_signature=[0-9a-f]+/, `msg_signature=${'0'.repeat(40)}`), body: good.body };
    expect((await postPush(tampered)).status).toBe(401);
    expect((await postPush(xpay.push(deliverPush(outTradeNo, user.openid, 600), { token: 'another-token' }))).status).toBe(401);
    expect((await postPush(xpay.push(deliverPush(outTradeNo, user.openid, 600), { appId: 'wxsomeoneelse0000' }))).status).toBe(401);
    expect((await postPush({ query: good.query, body: '{not json' })).status).toBe(400);
    // A plain (not safe-mode) push is not read.
    expect((await postPush({ query: good.query, body: JSON.stringify(deliverPush(outTradeNo, user.openid, 600)) })).status).toBe(401);
    expect(await balanceOf(t, user)).toBe(0);
    expect(await ledgerOf(t, user.userId)).toHaveLength(0);
    const [row] = await rows(t, 'select status from payment_orders where out_trade_no = ?', [outTradeNo]);
    expect(row.status).toBe('PENDING');
  });

  it('URL verification echoes echostr only with a valid signature', async () => {
    const ok = await fetch(`${t.url}/v1/wechat/push?${xpay.urlCheck('echo-123')}`);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe('echo-123');
    const bad = await fetch(`${t.url}/v1/wechat/push?${xpay.urlCheck('echo-456', 'wrong-token')}`);
    expect(bad.status).toBe(403);
    expect(await bad.text()).not.toContain('echo-456');
  });

  it('refusals change nothing: unknown product, no openid, no session key, malformed, oversized, unauthenticated, push for a mismatched product', async () => {
    const user = await miniUser();
    const before = await orderCount();
    const reason = async (p: Promise<{ body: { errors?: ReadonlyArray<{ extensions?: Record<string, unknown> }> } }>) => (await p).body.errors?.[0]?.extensions;
    expect(await reason(create(user, 'credits_999'))).toMatchObject({ code: 'BAD_REQUEST', details: { reason: 'UNKNOWN_PRODUCT' } });
    expect(await reason(create(user, 'x'.repeat(100_000)))).toMatchObject({ code: 'BAD_REQUEST' });
    expect(await reason(create(user, 'credits_6', 'bad order id!'))).toMatchObject({ code: 'BAD_REQUEST', details: { reason: 'INVALID_ORDER_ID' } });
    expect(await reason(create(user, 'credits_6', 'o'.repeat(65)))).toMatchObject({ code: 'BAD_REQUEST', details: { reason: 'INVALID_ORDER_ID' } });
    expect(await reason(create({}, 'credits_6'))).toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(await reason(t.gql(CREATE, invalidVariables({ input: { productId: 5, orderId: null } }), user))).toMatchObject({ code: 'BAD_USER_INPUT' });
    const rest = await t.rest('POST', '/v1/pay/wechat-virtual', { token: user.token, body: { productId: 'credits_6' } });
    expect(rest.status).toBe(400);

    const other = await miniUser();
    await rows(t, 'update users set app_id = ? where id = ?', ['wxanotherapp00000', other.userId]);
    expect(await reason(create(other, 'credits_6'))).toMatchObject({ code: 'BAD_REQUEST', details: { reason: 'OPENID_REQUIRED' } });
    const noKey = await miniUser();
    await rows(t, 'update users set session_key_enc = null where id = ?', [noKey.userId]);
    expect(await reason(create(noKey, 'credits_6'))).toMatchObject({ code: 'BAD_REQUEST', details: { reason: 'SESSION_KEY_REQUIRED' } });
    expect(await orderCount()).toBe(before);

    // Someone else's orderId is only a name in the caller's own namespace: their order is untouched.
    const owner = await miniUser();
    const orderId = newOrderId();
    await create(owner, 'credits_6', orderId);
    const ownerTradeNo = await outTradeNoOf(t, owner.userId, orderId);
    await create(user, 'credits_30', orderId);
    const [ownerRow] = await rows(t, 'select amount, credits, status from payment_orders where out_trade_no = ?', [ownerTradeNo]);
    expect(ownerRow).toMatchObject({ amount: 600, credits: 600, status: 'PENDING' });
    // A push naming another user's openid or product for the order credits nothing.
    await postPush(xpay.push(deliverPush(ownerTradeNo, user.openid, 600)));
    await postPush(xpay.push(deliverPush(ownerTradeNo, owner.openid, 600, 'credits_30')));
    expect(await ledgerOf(t, owner.userId)).toHaveLength(0);
  });
});

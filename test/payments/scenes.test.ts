import { createPublicKey, randomBytes, verify } from 'node:crypto';
import { login, rows } from '../helpers/accounts';
import { balanceOf, outTradeNoOf, postWechatNotification, startAppWithPayments } from '../helpers/payments';
import { invalidVariables } from '../helpers/test-app';
import { CreateAlipayOrderInSceneDocument as CREATE_ALIPAY, CreateWechatPayOrderInSceneDocument as CREATE_WECHAT, type PaymentScene } from '../generated/graphql';

type Fx = Awaited<ReturnType<typeof startAppWithPayments>>;

const orderCount = async (fx: Fx) => Number((await rows(fx.t, 'select count(*) as n from payment_orders'))[0].n);
const newOrderId = () => `s-${randomBytes(6).toString('hex')}`;

/** A user who logged in through the mini-program WeChat Pay pays for: their openid belongs to its appid. */
async function miniProgramUser(fx: Fx, appId = fx.wechat.appId) {
  const user = await login(fx.t);
  const openid = `oMini${randomBytes(12).toString('base64url')}`;
  await rows(fx.t, 'update users set app_id = ?, openid = ? where id = ?', [appId, openid, user.userId]);
  return { ...user, openid };
}

describe('payment scenes', () => {
  let fx: Fx;
  beforeAll(async () => {
    fx = await startAppWithPayments({ WECHATPAY_H5_ENABLED: 'true' });
  });
  afterAll(() => fx.close());

  const input = (scene: PaymentScene | undefined, orderId: string) => ({ input: { amount: 1.5, orderId, ...(scene ? { scene } : {}) } });
  const createWechat = (scene: PaymentScene | undefined, creds: { token: string }, orderId = newOrderId()) => fx.t.gql(CREATE_WECHAT, input(scene, orderId), creds);
  const createAlipay = (scene: PaymentScene | undefined, creds: { token: string }, orderId = newOrderId()) => fx.t.gql(CREATE_ALIPAY, input(scene, orderId), creds);

  describe('WeChat Pay', () => {
    it('DESKTOP_WEB is the default: a Native order with codeUrl', async () => {
      const user = await login(fx.t);
      const res = await createWechat(undefined, user);
      const order = res.body.data!.createWechatPayOrder;
      expect(order).toMatchObject({ scene: 'DESKTOP_WEB', h5Url: null, jsapiParams: null, payUrl: null, status: 'PENDING', refundedAmount: 0 });
      expect(order.codeUrl).toMatch(/^weixin:\/\/wxpay\/bizpayurl/);
      const sent = fx.wechat.orders.get(await outTradeNoOf(fx.t, user.userId, order.orderId))!;
      expect(sent.trade_type).toBe('NATIVE');
    });

    it("MOBILE_WEB is an H5 order for the payer's IP, answering h5Url", async () => {
      const user = await login(fx.t);
      const res = await createWechat('MOBILE_WEB', user);
      const order = res.body.data!.createWechatPayOrder;
      expect(order).toMatchObject({ scene: 'MOBILE_WEB', codeUrl: null, jsapiParams: null });
      expect(order.h5Url).toMatch(/^https:\/\/wx\.tenpay\.com\//);
      const outTradeNo = await outTradeNoOf(fx.t, user.userId, order.orderId);
      const sent = fx.wechat.orders.get(outTradeNo)!;
      expect(sent).toMatchObject({ trade_type: 'MWEB', payer_client_ip: '127.0.0.1', h5_url: order.h5Url });
      const call = fx.wechat.calls.find((c) => c.path === '/v3/pay/transactions/h5' && (c.body as { out_trade_no?: string }).out_trade_no === outTradeNo)!;
      expect(call.signatureValid).toBe(true);
      expect(call.body).toMatchObject({ scene_info: { payer_client_ip: '127.0.0.1', h5_info: { type: 'Wap' } } });
      const [row] = await rows(fx.t, 'select scene from payment_orders where out_trade_no = ?', [outTradeNo]);
      expect(row.scene).toBe('MOBILE_WEB');
    });

    it('MINI_PROGRAM is a JSAPI order for the viewer\'s openid, answering wx.requestPayment parameters that verify as WeChat verifies them', async () => {
      const user = await miniProgramUser(fx);
      const before = Math.floor(Date.now() / 1000);
      const res = await createWechat('MINI_PROGRAM', user);
      const order = res.body.data!.createWechatPayOrder;
      expect(order).toMatchObject({ scene: 'MINI_PROGRAM', codeUrl: null, h5Url: null, status: 'PENDING' });
      const sent = fx.wechat.orders.get(await outTradeNoOf(fx.t, user.userId, order.orderId))!;
      expect(sent).toMatchObject({ trade_type: 'JSAPI', payer_openid: user.openid, appid: fx.wechat.appId });

      const p = order.jsapiParams!;
      expect(p).toMatchObject({ appId: fx.wechat.appId, package: `prepay_id=${sent.prepay_id}`, signType: 'RSA' });
      expect(p.nonceStr).toMatch(/^[0-9a-f]{32}$/);
      expect(Number(p.timeStamp)).toBeGreaterThanOrEqual(before);
      expect(Number(p.timeStamp)).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
      // WeChat checks paySign with the merchant's public key over appId\ntimeStamp\nnonceStr\npackage\n.
      const merchantPublicKey = createPublicKey(fx.wechat.merchantPrivateKeyPem);
      const message = `${p.appId}\n${p.timeStamp}\n${p.nonceStr}\n${p.package}\n`;
      expect(verify('sha256', Buffer.from(message), merchantPublicKey, Buffer.from(p.paySign, 'base64'))).toBe(true);
      expect(verify('sha256', Buffer.from(`${message}x`), merchantPublicKey, Buffer.from(p.paySign, 'base64'))).toBe(false);

      // Asked again: the same prepay id (one JSAPI order), signed afresh.
      const calls = fx.wechat.calls.length;
      const again = (await createWechat('MINI_PROGRAM', user, order.orderId)).body.data!.createWechatPayOrder;
      expect(fx.wechat.calls.length).toBe(calls);
      expect(again.jsapiParams!.package).toBe(p.package);
      expect(again.jsapiParams!.nonceStr).not.toBe(p.nonceStr);
    });

    it('a MINI_PROGRAM order is credited by the verified notification, never by the client', async () => {
      const user = await miniProgramUser(fx);
      const order = (await createWechat('MINI_PROGRAM', user)).body.data!.createWechatPayOrder;
      expect(await balanceOf(fx.t, user)).toBe(0);
      const outTradeNo = await outTradeNoOf(fx.t, user.userId, order.orderId);
      expect((await postWechatNotification(fx.t, fx.wechat.notification(outTradeNo))).status).toBe(204);
      expect(await balanceOf(fx.t, user)).toBe(150);
    });

    it.each([
      ['a development login (appId local)', async () => login(fx.t)],
      ['a login through another app', async () => miniProgramUser(fx, 'wxanotherapp00001')],
    ])('refuses MINI_PROGRAM for %s with OPENID_REQUIRED, storing and sending nothing', async (_name, who) => {
      const user = await who();
      const [before, calls] = [await orderCount(fx), fx.wechat.calls.length];
      const res = await createWechat('MINI_PROGRAM', user);
      expect(res.body.errors![0].extensions).toMatchObject({ code: 'BAD_REQUEST', details: { reason: 'OPENID_REQUIRED' } });
      expect(await orderCount(fx)).toBe(before);
      expect(fx.wechat.calls.length).toBe(calls);
    });

    it('refuses the same orderId in another scene (ORDER_ID_CONFLICT)', async () => {
      const user = await miniProgramUser(fx);
      const orderId = newOrderId();
      await createWechat('DESKTOP_WEB', user, orderId);
      const before = await orderCount(fx);
      const res = await createWechat('MINI_PROGRAM', user, orderId);
      expect(res.body.errors![0].extensions).toMatchObject({ code: 'BAD_REQUEST', details: { reason: 'ORDER_ID_CONFLICT' } });
      expect(await orderCount(fx)).toBe(before);
    });
  });

  describe('Alipay', () => {
    it('DESKTOP_WEB is page pay and MOBILE_WEB wap pay, each a signed URL for the same kind of trade', async () => {
      const user = await login(fx.t);
      const desktop = (await createAlipay('DESKTOP_WEB', user)).body.data!.createAlipayOrder;
      expect(new URL(desktop.payUrl!).searchParams.get('method')).toBe('alipay.trade.page.pay');
      const mobile = (await createAlipay('MOBILE_WEB', user)).body.data!.createAlipayOrder;
      expect(mobile).toMatchObject({ scene: 'MOBILE_WEB', codeUrl: null, h5Url: null, jsapiParams: null });
      const url = new URL(mobile.payUrl!);
      expect(url.searchParams.get('method')).toBe('alipay.trade.wap.pay');
      expect(JSON.parse(url.searchParams.get('biz_content')!)).toMatchObject({ product_code: 'QUICK_WAP_WAY', total_amount: '1.50' });
      // The fake opens it only when signed by our app key with the wap product code.
      const opened = fx.alipay.openPayUrl(mobile.payUrl!);
      expect(opened.outTradeNo).toBe(await outTradeNoOf(fx.t, user.userId, mobile.orderId));
      expect(opened.amountFen).toBe(150);
    });

    it('has no MINI_PROGRAM: SCENE_NOT_SUPPORTED, nothing stored', async () => {
      const user = await miniProgramUser(fx);
      const before = await orderCount(fx);
      const res = await createAlipay('MINI_PROGRAM', user);
      expect(res.body.errors![0].extensions).toMatchObject({ code: 'BAD_REQUEST', details: { field: 'scene', reason: 'SCENE_NOT_SUPPORTED' } });
      expect(await orderCount(fx)).toBe(before);
    });
  });

  it('refuses a scene that is not one, and callers without a credential, storing nothing', async () => {
    const user = await login(fx.t);
    const before = await orderCount(fx);
    const bad = await fx.t.gql(CREATE_WECHAT, invalidVariables({ input: { amount: 1, orderId: newOrderId(), scene: 'WATCH' } }), user);
    expect(bad.body.errors![0].extensions.code).toMatch(/BAD_REQUEST|BAD_USER_INPUT/);
    const huge = await fx.t.gql(CREATE_WECHAT, invalidVariables({ input: { amount: 1, orderId: newOrderId(), scene: 'x'.repeat(100_000) } }), user);
    expect(huge.body.errors![0].extensions.code).toMatch(/BAD_REQUEST|BAD_USER_INPUT|PAYLOAD_TOO_LARGE/);
    const anonymous = await fx.t.gql(CREATE_WECHAT, { input: { amount: 1, orderId: newOrderId(), scene: 'MOBILE_WEB' } });
    expect(anonymous.body.errors![0].extensions.code).toBe('UNAUTHENTICATED');
    expect(await orderCount(fx)).toBe(before);
  });

  it('REST takes scene in lowercase and answers h5Url / jsapiParams only when set', async () => {
    const user = await miniProgramUser(fx);
    const desktop = await fx.t.rest<Record<string, unknown>>('POST', '/v1/pay/wechat', { ...user, body: { amount: 2, orderId: newOrderId() } });
    expect(desktop.status).toBe(200);
    expect(desktop.body.data).toMatchObject({ status: 'pending', codeUrl: expect.stringMatching(/^weixin:/) });
    expect(desktop.body.data).not.toHaveProperty('h5Url');
    expect(desktop.body.data).not.toHaveProperty('jsapiParams');
    const mini = await fx.t.rest<{ jsapiParams: { package: string; signType: string } }>('POST', '/v1/pay/wechat', { ...user, body: { amount: 2, orderId: newOrderId(), scene: 'mini_program' } });
    expect(mini.body.data.jsapiParams).toMatchObject({ package: expect.stringMatching(/^prepay_id=/), signType: 'RSA' });
    const h5 = await fx.t.rest<{ h5Url: string }>('POST', '/v1/pay/wechat', { ...user, body: { amount: 2, orderId: newOrderId(), scene: 'mobile_web' } });
    expect(h5.body.data.h5Url).toMatch(/^https:/);
    const wap = await fx.t.rest<{ payUrl: string }>('POST', '/v1/pay/alipay', { ...user, body: { amount: 2, orderId: newOrderId(), scene: 'mobile_web' } });
    expect(new URL(wap.body.data.payUrl).searchParams.get('method')).toBe('alipay.trade.wap.pay');
    const before = await orderCount(fx);
    const badScene = await fx.t.rest('POST', '/v1/pay/wechat', { ...user, body: { amount: 2, orderId: newOrderId(), scene: 'MINI_PROGRAM' } });
    expect(badScene.status).toBe(400);
    const aliMini = await fx.t.rest('POST', '/v1/pay/alipay', { ...user, body: { amount: 2, orderId: newOrderId(), scene: 'mini_program' } });
    expect(aliMini.body.error).toMatchObject({ code: 400, details: { reason: 'SCENE_NOT_SUPPORTED' } });
    expect(await orderCount(fx)).toBe(before);
  });
});

describe('payment scenes without WeChat H5', () => {
  let fx: Fx;
  beforeAll(async () => {
    fx = await startAppWithPayments();
  });
  afterAll(() => fx.close());

  it('refuses WeChat MOBILE_WEB with SCENE_NOT_SUPPORTED, sending and storing nothing', async () => {
    const user = await login(fx.t);
    const [before, calls] = [await orderCount(fx), fx.wechat.calls.length];
    const res = await fx.t.gql(CREATE_WECHAT, { input: { amount: 1, orderId: newOrderId(), scene: 'MOBILE_WEB' } }, user);
    expect(res.body.errors![0].extensions).toMatchObject({ code: 'BAD_REQUEST', details: { field: 'scene', reason: 'SCENE_NOT_SUPPORTED' } });
    expect(await orderCount(fx)).toBe(before);
    expect(fx.wechat.calls.length).toBe(calls);
    // Alipay's wap pay needs no such product: it works here.
    const wap = await fx.t.gql(CREATE_ALIPAY, { input: { amount: 1, orderId: newOrderId(), scene: 'MOBILE_WEB' } }, user);
    expect(wap.body.data!.createAlipayOrder.scene).toBe('MOBILE_WEB');
  });
});

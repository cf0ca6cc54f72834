import { login, rows } from '../helpers/accounts';
import { outTradeNoOf, startAppWithPayments } from '../helpers/payments';
import { startTestApp } from '../helpers/test-app';
import {
  CreateAlipayOrderFullDocument as CREATE_ALIPAY,
  CreateWechatPayOrderFullDocument as CREATE_WECHAT,
  OrdersDocument,
  PaymentStatusDocument as PAYMENT_STATUS,
} from '../generated/graphql';

/** An order as /v1 answers it (states in lowercase). */
interface RestOrder {
  orderId: string;
  amount: number;
  status: string;
  codeUrl?: string | null;
  payUrl?: string | null;
}

/** GET /v1/pay/status's data. */
interface RestPaymentStatus {
  orderId: string;
  status: string;
  paidAmount: number;
  paidTime: string | null;
}

type Fx = Awaited<ReturnType<typeof startAppWithPayments>>;

describe('payment orders', () => {
  let fx: Fx;
  beforeAll(async () => {
    fx = await startAppWithPayments();
  });
  afterAll(() => fx.close());

  const orderCount = async () => Number((await rows(fx.t, 'select count(*) as n from payment_orders'))[0].n);

  it('creates a WeChat Pay Native order: codeUrl from WeChat, amount stored in fen, an unguessable out_trade_no', async () => {
    const user = await login(fx.t);
    const res = await fx.t.gql(CREATE_WECHAT, { input: { amount: 12.34, orderId: 'wx-1' } }, user);
    const order = res.body.data!.createWechatPayOrder;
    expect(order).toMatchObject({ orderId: 'wx-1', amount: 12.34, paymentMethod: 'WECHAT', payUrl: null, status: 'PENDING' });
    expect(order.codeUrl).toMatch(/^weixin:\/\/wxpay\/bizpayurl\?pr=/);
    expect(Date.parse(order.expiresAt) - Date.parse(order.createdAt)).toBe(2 * 60 * 60 * 1000);

    const outTradeNo = await outTradeNoOf(fx.t, user.userId, 'wx-1');
    expect(outTradeNo).toMatch(/^[0-9a-f]{32}$/);
    expect(outTradeNo).not.toContain('wx-1');
    const [row] = await rows(fx.t, 'select amount, status, method from payment_orders where out_trade_no = ?', [outTradeNo]);
    expect(row).toMatchObject({ status: 'PENDING', method: 'WECHAT' });
    expect(Number(row.amount)).toBe(1234);
    // WeChat Pay got the same amount in fen, our notify URL and a signed request.
    const sent = fx.wechat.orders.get(outTradeNo)!;
    expect(sent.total).toBe(1234);
    expect(fx.wechat.calls.at(-1)!.signatureValid).toBe(true);
  });

  it('creates an Alipay order whose payUrl is a signed page-pay URL for the same trade', async () => {
    const user = await login(fx.t);
    const res = await fx.t.gql(CREATE_ALIPAY, { input: { amount: 0.01, orderId: 'ali-1' } }, user);
    const order = res.body.data!.createAlipayOrder;
    expect(order).toMatchObject({ orderId: 'ali-1', amount: 0.01, paymentMethod: 'ALIPAY', codeUrl: null, status: 'PENDING' });
    const url = new URL(order.payUrl!);
    expect(url.searchParams.get('method')).toBe('alipay.trade.page.pay');
    const opened = fx.alipay.openPayUrl(order.payUrl!);
    expect(opened.outTradeNo).toBe(await outTradeNoOf(fx.t, user.userId, 'ali-1'));
    expect(opened.amountFen).toBe(1);
    // Asked again: the same order, its URL signed afresh for the same trade.
    const again = (await fx.t.gql(CREATE_ALIPAY, { input: { amount: 0.01, orderId: 'ali-1' } }, user)).body.data!.createAlipayOrder;
    expect(again).toMatchObject({ orderId: 'ali-1', createdAt: order.createdAt, status: 'PENDING' });
    expect(fx.alipay.openPayUrl(again.payUrl!).outTradeNo).toBe(opened.outTradeNo);
  });

  it('is idempotent per orderId: the same request returns the same order; a different amount or method is BAD_REQUEST', async () => {
    const user = await login(fx.t);
    const first = await fx.t.gql(CREATE_WECHAT, { input: { amount: 50, orderId: 'same' } }, user);
    const callsAfterFirst = fx.wechat.calls.length;
    const again = await fx.t.gql(CREATE_WECHAT, { input: { amount: 50, orderId: 'same' } }, user);
    expect(again.body.data!.createWechatPayOrder).toEqual(first.body.data!.createWechatPayOrder);
    expect(fx.wechat.calls.length).toBe(callsAfterFirst);

    const before = await orderCount();
    const otherAmount = await fx.t.gql(CREATE_WECHAT, { input: { amount: 51, orderId: 'same' } }, user);
    expect(otherAmount.body.errors![0].extensions).toMatchObject({ code: 'BAD_REQUEST', details: { field: 'orderId', reason: 'ORDER_ID_CONFLICT' } });
    const otherMethod = await fx.t.gql(CREATE_ALIPAY, { input: { amount: 50, orderId: 'same' } }, user);
    expect(otherMethod.body.errors![0].extensions).toMatchObject({ code: 'BAD_REQUEST', details: { reason: 'ORDER_ID_CONFLICT' } });
    expect(await orderCount()).toBe(before);

    // orderId is per user: another user may use the same one.
    const other = await login(fx.t);
    const theirs = await fx.t.gql(CREATE_WECHAT, { input: { amount: 1, orderId: 'same' } }, other);
    expect(theirs.body.data!.createWechatPayOrder.amount).toBe(1);
  });

  it('creates one order for concurrent identical requests', async () => {
    const user = await login(fx.t);
    const results = await Promise.all(Array.from({ length: 5 }, () => fx.t.gql(CREATE_ALIPAY, { input: { amount: 8.8, orderId: 'race' } }, user)));
    for (const r of results) expect(r.body.data!.createAlipayOrder.orderId).toBe('race');
    const [row] = await rows(fx.t, 'select count(*) as n from payment_orders where user_id = ?', [user.userId]);
    expect(Number(row.n)).toBe(1);
  });

  it.each([
    ['zero', 0],
    ['negative', -1],
    ['three decimals', 0.001],
    ['float noise', 0.1 + 0.2],
    ['over the maximum', 50000.01],
    ['huge', 1e21],
  ])('refuses an amount that is %s with BAD_REQUEST and stores nothing', async (_name, amount) => {
    const user = await login(fx.t);
    const before = await orderCount();
    const calls = fx.wechat.calls.length;
    const res = await fx.t.gql(CREATE_WECHAT, { input: { amount, orderId: `bad-${Math.random().toString(36).slice(2)}` } }, user);
    expect(res.body.errors![0].extensions).toMatchObject({ code: 'BAD_REQUEST', details: { field: 'amount', reason: 'INVALID_AMOUNT' } });
    expect(await orderCount()).toBe(before);
    expect(fx.wechat.calls.length).toBe(calls);
  });

  it('accepts the edges 0.01 and 50000', async () => {
    const user = await login(fx.t);
    expect((await fx.t.gql(CREATE_ALIPAY, { input: { amount: 50000, orderId: 'max' } }, user)).body.data!.createAlipayOrder.amount).toBe(50000);
    expect((await fx.t.gql(CREATE_ALIPAY, { input: { amount: 0.01, orderId: 'min' } }, user)).body.data!.createAlipayOrder.amount).toBe(0.01);
  });

  it.each([
    ['empty', ''],
    ['too long', 'x'.repeat(65)],
    ['with a space', 'a b'],
    ['with a slash', '../x'],
  ])('refuses an orderId that is %s', async (_name, orderId) => {
    const user = await login(fx.t);
    const res = await fx.t.gql(CREATE_ALIPAY, { input: { amount: 1, orderId } }, user);
    expect(res.body.errors![0].extensions).toMatchObject({ code: 'BAD_REQUEST', details: { field: 'orderId', reason: 'INVALID_ORDER_ID' } });
  });

  it('refuses requests without a credential', async () => {
    const before = await orderCount();
    const res = await fx.t.gql(CREATE_WECHAT, { input: { amount: 1, orderId: 'anon' } });
    expect(res.body.errors![0].extensions.code).toBe('UNAUTHENTICATED');
    const rest = await fx.t.rest('GET', '/v1/pay/status?orderId=anon&paymentMethod=wechat');
    expect(rest.status).toBe(401);
    expect(await orderCount()).toBe(before);
  });

  it("answers NOT_FOUND for someone else's order, an unknown one, and the wrong method", async () => {
    const owner = await login(fx.t);
    const stranger = await login(fx.t);
    await fx.t.gql(CREATE_WECHAT, { input: { amount: 3, orderId: 'mine' } }, owner);
    const theirs = await fx.t.gql(PAYMENT_STATUS, { orderId: 'mine', paymentMethod: 'WECHAT' }, stranger);
    expect(theirs.body.errors![0].extensions.code).toBe('NOT_FOUND');
    const unknown = await fx.t.gql(PAYMENT_STATUS, { orderId: 'nope', paymentMethod: 'WECHAT' }, owner);
    expect(unknown.body.errors![0].extensions.code).toBe('NOT_FOUND');
    const wrongMethod = await fx.t.gql(PAYMENT_STATUS, { orderId: 'mine', paymentMethod: 'ALIPAY' }, owner);
    expect(wrongMethod.body.errors![0].extensions.code).toBe('NOT_FOUND');
    const own = await fx.t.gql(PAYMENT_STATUS, { orderId: 'mine', paymentMethod: 'WECHAT' }, owner);
    expect(own.body.data!.paymentStatus).toEqual({ orderId: 'mine', status: 'PENDING', paidAmount: 0, paidTime: null });
  });

  it('leaves the order retryable when WeChat Pay fails, and the retry gets the code', async () => {
    const user = await login(fx.t);
    fx.wechat.nextFailure('http500');
    const failed = await fx.t.gql(CREATE_WECHAT, { input: { amount: 2, orderId: 'flaky' } }, user);
    expect(failed.body.errors![0].extensions).toMatchObject({ code: 'UPSTREAM_ERROR', status: 502 });
    const retried = await fx.t.gql(CREATE_WECHAT, { input: { amount: 2, orderId: 'flaky' } }, user);
    expect(retried.body.data!.createWechatPayOrder.codeUrl).toMatch(/^weixin:/);
    const [row] = await rows(fx.t, 'select count(*) as n from payment_orders where user_id = ?', [user.userId]);
    expect(Number(row.n)).toBe(1);
  });

  it('lists your orders newest first, paged', async () => {
    const user = await login(fx.t);
    for (const id of ['o1', 'o2', 'o3']) await fx.t.gql(CREATE_ALIPAY, { input: { amount: 1, orderId: id } }, user);
    const q = OrdersDocument; // two per page
    const page1 = (await fx.t.gql(q, {}, user)).body.data!.orders;
    expect(page1.nodes.map((n) => n.orderId)).toEqual(['o3', 'o2']);
    expect(page1).toMatchObject({ totalCount: 3, pageInfo: { hasNextPage: true } });
    const page2 = (await fx.t.gql(q, { after: page1.pageInfo.endCursor }, user)).body.data!.orders;
    expect(page2.nodes.map((n) => n.orderId)).toEqual(['o1']);
    expect(page2.pageInfo.hasNextPage).toBe(false);
    const bad = await fx.t.gql(q, { after: 'garbage' }, user);
    expect(bad.body.errors![0].extensions.code).toBe('BAD_REQUEST');
  });

  it('has the REST shapes: lowercase states, codeUrl / payUrl, the envelope', async () => {
    const user = await login(fx.t);
    const wx = await fx.t.rest<RestOrder>('POST', '/v1/pay/wechat', { ...user, body: { amount: 9.9, orderId: 'rest-wx' } });
    expect(wx.status).toBe(200);
    expect(wx.body).toMatchObject({ code: 200, data: { orderId: 'rest-wx', amount: 9.9, status: 'pending' } });
    expect(wx.body.data.codeUrl).toMatch(/^weixin:/);
    const ali = await fx.t.rest<RestOrder>('POST', '/v1/pay/alipay', { ...user, body: { amount: 1, orderId: 'rest-ali' } });
    expect(ali.body.data.payUrl).toMatch(/^http/);
    const status = await fx.t.rest<RestPaymentStatus>('GET', '/v1/pay/status?orderId=rest-wx&paymentMethod=wechat', user);
    expect(status.body.data).toEqual({ orderId: 'rest-wx', status: 'pending', paidAmount: 0, paidTime: null });
    const badMethod = await fx.t.rest('GET', '/v1/pay/status?orderId=rest-wx&paymentMethod=paypal', user);
    expect(badMethod.status).toBe(400);
    const badAmount = await fx.t.rest('POST', '/v1/pay/alipay', { ...user, body: { amount: 'lots', orderId: 'x' } });
    expect(badAmount.status).toBe(400);
    const conflict = await fx.t.rest('POST', '/v1/pay/alipay', { ...user, body: { amount: 9.9, orderId: 'rest-wx' } });
    expect(conflict.body.error).toMatchObject({ code: 400, details: { reason: 'ORDER_ID_CONFLICT' } });
  });
});

describe('payments not configured', () => {
  it('answers PAYMENT_METHOD_NOT_CONFIGURED, and the server runs', async () => {
    const t = await startTestApp();
    try {
      const user = await login(t);
      const input = { amount: 1, orderId: 'x' };
      for (const res of [await t.gql(CREATE_WECHAT, { input }, user), await t.gql(CREATE_ALIPAY, { input }, user)]) {
        expect(res.body.errors![0].extensions).toMatchObject({ code: 'BAD_REQUEST', details: { reason: 'PAYMENT_METHOD_NOT_CONFIGURED' } });
      }
      const notify = await fetch(`${t.url}/v1/pay/alipay/notify`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=b' });
      expect(await notify.text()).toBe('fail');
      expect((await fetch(`${t.url}/readyz`)).status).toBe(200);
    } finally {
      await t.close();
    }
  });
});

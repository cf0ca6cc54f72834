import { PaymentOrder } from '../../src/db/entities/payment-order.entity';
import { login } from '../helpers/accounts';
import { balanceOf, ledgerOf, pendingOrder as createPendingOrder, postWechatNotification, startAppWithPayments } from '../helpers/payments';
import { collect, subscribe } from '../helpers/test-app';
import { PaymentStatusDocument as PAYMENT_STATUS, PaymentStatusChangedDocument as STATUS_CHANGED } from '../generated/graphql';

type Fx = Awaited<ReturnType<typeof startAppWithPayments>>;

describe('dropped notifications, expiry and the status subscription', () => {
  let fx: Fx;
  beforeAll(async () => {
    fx = await startAppWithPayments();
  });
  afterAll(() => fx.close());

  const pendingOrder = (method: 'WECHAT' | 'ALIPAY', amount: number) => createPendingOrder(fx.t, method, amount);
  const queriesFor = (outTradeNo: string) => fx.wechat.calls.filter((c) => c.method === 'GET' && c.path.includes(outTradeNo)).length;
  const reconcile = () => fx.t.app.deps.payments.settlement.reconcile();
  const expireNow = (outTradeNo: string) => fx.t.app.deps.orm.em.fork().nativeUpdate(PaymentOrder, { outTradeNo }, { expiresAt: new Date(Date.now() - 1000) });

  it('paymentStatus recovers a payment whose notification never came, once, and asks the provider at most once per few seconds', async () => {
    const { user, orderId, outTradeNo } = await pendingOrder('WECHAT', 7.5);
    const first = await fx.t.gql(PAYMENT_STATUS, { orderId, paymentMethod: 'WECHAT' }, user);
    expect(first.body.data!.paymentStatus.status).toBe('PENDING');
    expect(queriesFor(outTradeNo)).toBe(1);

    fx.wechat.pay(outTradeNo); // paid, but the notification is lost
    const throttled = await fx.t.gql(PAYMENT_STATUS, { orderId, paymentMethod: 'WECHAT' }, user);
    expect(throttled.body.data!.paymentStatus.status).toBe('PENDING');
    expect(queriesFor(outTradeNo)).toBe(1);

    // After the interval (forced here by the reconciler's own path), the payment is found.
    const counts = await reconcile();
    expect(counts.SETTLED).toBeGreaterThanOrEqual(1);
    const after = await fx.t.gql(PAYMENT_STATUS, { orderId, paymentMethod: 'WECHAT' }, user);
    expect(after.body.data!.paymentStatus).toMatchObject({ status: 'SUCCESS', paidAmount: 7.5 });
    expect(await balanceOf(fx.t, user)).toBe(750);

    // The late notification and more rounds change nothing.
    expect((await postWechatNotification(fx.t, fx.wechat.notification(outTradeNo))).status).toBe(204);
    await reconcile();
    expect(await balanceOf(fx.t, user)).toBe(750);
    expect(await ledgerOf(fx.t, user.userId)).toHaveLength(1);
  });

  it('paymentStatus itself settles a paid order on its first look', async () => {
    const { user, orderId, outTradeNo } = await pendingOrder('ALIPAY', 3);
    fx.alipay.open(outTradeNo, 300);
    fx.alipay.pay(outTradeNo);
    const status = await fx.t.gql(PAYMENT_STATUS, { orderId, paymentMethod: 'ALIPAY' }, user);
    expect(status.body.data!.paymentStatus).toMatchObject({ status: 'SUCCESS', paidAmount: 3 });
    expect(await balanceOf(fx.t, user)).toBe(300);
  });

  it('a fresh Alipay order nobody opened (ACQ.TRADE_NOT_EXIST) is pending, not failed', async () => {
    const { user, orderId } = await pendingOrder('ALIPAY', 1);
    const status = await fx.t.gql(PAYMENT_STATUS, { orderId, paymentMethod: 'ALIPAY' }, user);
    expect(status.body.data!.paymentStatus).toEqual({ orderId, status: 'PENDING', paidAmount: 0, paidTime: null });
  });

  it('answers from the database when the provider is down', async () => {
    const { user, orderId } = await pendingOrder('WECHAT', 1);
    fx.wechat.nextFailure('http500');
    const status = await fx.t.gql(PAYMENT_STATUS, { orderId, paymentMethod: 'WECHAT' }, user);
    expect(status.body.data!.paymentStatus.status).toBe('PENDING');
  });

  it('the reconciler closes expired unpaid orders with the provider and marks them FAILED', async () => {
    const wx = await pendingOrder('WECHAT', 2);
    const ali = await pendingOrder('ALIPAY', 2);
    fx.alipay.open(ali.outTradeNo, 200);
    await expireNow(wx.outTradeNo);
    await expireNow(ali.outTradeNo);
    await reconcile();
    expect(fx.wechat.orders.get(wx.outTradeNo)!.trade_state).toBe('CLOSED');
    expect(fx.alipay.trades.get(ali.outTradeNo)!.status).toBe('TRADE_CLOSED');
    for (const [o, method] of [[wx, 'WECHAT'], [ali, 'ALIPAY']] as const) {
      const status = await fx.t.gql(PAYMENT_STATUS, { orderId: o.orderId, paymentMethod: method }, o.user);
      expect(status.body.data!.paymentStatus.status).toBe('FAILED');
      expect(await balanceOf(fx.t, o.user)).toBe(0);
    }
  });

  it('an expired order that was paid after all is credited, not closed', async () => {
    const { user, orderId, outTradeNo } = await pendingOrder('WECHAT', 4);
    fx.wechat.pay(outTradeNo);
    await expireNow(outTradeNo);
    await reconcile();
    expect(fx.wechat.orders.get(outTradeNo)!.trade_state).toBe('SUCCESS');
    const status = await fx.t.gql(PAYMENT_STATUS, { orderId, paymentMethod: 'WECHAT' }, user);
    expect(status.body.data!.paymentStatus.status).toBe('SUCCESS');
    expect(await balanceOf(fx.t, user)).toBe(400);
  });

  it('paymentStatusChanged fires for the owner when the order is paid, and is NOT_FOUND for others', async () => {
    const { user, orderId, outTradeNo } = await pendingOrder('WECHAT', 9.99);
    const events = subscribe(fx.t.ws({ authorization: `Bearer ${user.token}` }), STATUS_CHANGED, { orderId });
    // The first event is the status now.
    expect((await events.until(() => true)).data?.paymentStatusChanged).toMatchObject({ orderId, status: 'PENDING', paidAmount: 0, paidTime: null });
    expect((await postWechatNotification(fx.t, fx.wechat.notification(outTradeNo))).status).toBe(204);
    const paid = (await events.until((r) => r.data?.paymentStatusChanged.status === 'SUCCESS')).data!.paymentStatusChanged;
    events.dispose();
    expect(events.error).toBeUndefined();
    expect(paid).toMatchObject({ orderId, status: 'SUCCESS', paidAmount: 9.99 });
    expect(Date.parse(paid.paidTime!)).toBeGreaterThan(0);

    // A client that subscribes after paying learns it at once.
    const late = await collect(fx.t.ws({ authorization: `Bearer ${user.token}` }), STATUS_CHANGED, { orderId }, 1, 3000);
    expect(late.results.map((r) => r.data?.paymentStatusChanged)).toEqual([{ ...paid }]);

    const stranger = await login(fx.t);
    const theirs = await collect(fx.t.ws({ authorization: `Bearer ${stranger.token}` }), STATUS_CHANGED, { orderId }, 1, 3000);
    // Refused as a result with errors, or as the subscription's error (an array of GraphQL errors).
    const refusal = theirs.results[0]?.errors?.[0] ?? (theirs.error as Array<{ extensions?: Record<string, unknown> }> | undefined)?.[0];
    expect(refusal!.extensions!.code).toBe('NOT_FOUND');
  });
});

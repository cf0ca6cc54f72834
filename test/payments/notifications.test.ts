import { rows } from '../helpers/accounts';
import {
  balanceOf,
  ledgerOf,
  pendingOrder as createPendingOrder,
  postAlipayNotification,
  postWechatNotification,
  startAppWithPayments,
} from '../helpers/payments';
import type { NotificationTamper } from '../fakes/wechat-pay';
import { PaymentStatusDocument as PAYMENT_STATUS } from '../generated/graphql';

type Fx = Awaited<ReturnType<typeof startAppWithPayments>>;

describe('payment notifications', () => {
  let fx: Fx;
  beforeAll(async () => {
    fx = await startAppWithPayments();
  });
  afterAll(() => fx.close());

  // The buyer opens the Alipay page, so the trade exists at Alipay as in real life.
  const pendingOrder = (method: 'WECHAT' | 'ALIPAY', amount: number) => createPendingOrder(fx.t, method, amount, { openAlipay: (url) => fx.alipay.openPayUrl(url) });

  const orderRow = async (outTradeNo: string) => (await rows(fx.t, 'select status, paid_amount, provider_trade_no from payment_orders where out_trade_no = ?', [outTradeNo]))[0];

  describe('WeChat Pay', () => {
    it('a paid notification marks the order paid and credits the balance once, with a ledger entry; a duplicate is answered 204 and credits nothing', async () => {
      const { user, orderId, outTradeNo } = await pendingOrder('WECHAT', 12.34);
      const n = fx.wechat.notification(outTradeNo);
      expect(await postWechatNotification(fx.t, n)).toEqual({ status: 204, body: null });
      expect(await balanceOf(fx.t, user)).toBe(1234);
      const row = await orderRow(outTradeNo);
      expect(row.status).toBe('SUCCESS');
      expect(Number(row.paid_amount)).toBe(1234);
      expect(row.provider_trade_no).toBe(n.transaction.transaction_id);

      expect((await postWechatNotification(fx.t, n)).status).toBe(204);
      expect((await postWechatNotification(fx.t, fx.wechat.notification(outTradeNo))).status).toBe(204);
      expect(await balanceOf(fx.t, user)).toBe(1234);
      const ledger = await ledgerOf(fx.t, user.userId);
      expect(ledger).toEqual([{ kind: 'TOPUP', reference: expect.any(String), amount: 1234, balanceAfter: 1234 }]);

      const status = await fx.t.gql(PAYMENT_STATUS, { orderId, paymentMethod: 'WECHAT' }, user);
      expect(status.body.data!.paymentStatus).toMatchObject({ orderId, status: 'SUCCESS', paidAmount: 12.34 });
      expect(Date.parse(status.body.data!.paymentStatus.paidTime!)).toBeGreaterThan(Date.now() - 60_000);
    });

    it('10 concurrent duplicate notifications credit exactly once', async () => {
      const { user, outTradeNo } = await pendingOrder('WECHAT', 5);
      const n = fx.wechat.notification(outTradeNo);
      const answers = await Promise.all(Array.from({ length: 10 }, () => postWechatNotification(fx.t, n)));
      expect(answers.map((a) => a.status)).toEqual(Array(10).fill(204));
      expect(await balanceOf(fx.t, user)).toBe(500);
      expect(await ledgerOf(fx.t, user.userId)).toHaveLength(1);
    });

    const refused: Array<[string, NotificationTamper, number]> = [
      ['a bad signature', { badSignature: true }, 401],
      ['a WECHATPAY/SIGNTEST probe', { signtest: true }, 401],
      ['a stale timestamp', { timestampOffsetSeconds: -301 }, 401],
      ['a timestamp from the future', { timestampOffsetSeconds: 301 }, 401],
      ['an unknown serial', { serial: 'PUB_KEY_ID_0000000000000000000000000000' }, 401],
      ['a tampered ciphertext', { tamperCiphertext: true }, 400],
      ['a different amount', { transaction: { amount: { total: 1 } } }, 400],
      ['another merchant', { transaction: { mchid: '1900000999' } }, 400],
      ['another app', { transaction: { appid: 'wxsomeoneelse0001' } }, 400],
    ];
    it.each(refused)('refuses %s with {code: FAIL} and credits nothing', async (_name, tamper, status) => {
      const { user, outTradeNo } = await pendingOrder('WECHAT', 3);
      const answer = await postWechatNotification(fx.t, fx.wechat.notification(outTradeNo, tamper));
      expect(answer.status).toBe(status);
      expect(answer.body).toEqual({ code: 'FAIL', message: expect.any(String) });
      expect(await balanceOf(fx.t, user)).toBe(0);
      expect((await orderRow(outTradeNo)).status).toBe('PENDING');
      expect(await ledgerOf(fx.t, user.userId)).toEqual([]);
    });

    it('refuses a notification for an order that is not ours, and a body that is not a notification', async () => {
      const unknown = await postWechatNotification(fx.t, fx.wechat.notification('ffffffffffffffffffffffffffffffff'));
      expect(unknown).toEqual({ status: 400, body: { code: 'FAIL', message: 'unknown order' } });
      const garbage = await postWechatNotification(fx.t, { headers: { 'content-type': 'application/json' }, body: '{"hello":1}' });
      expect(garbage.status).toBe(401);
      expect(garbage.body!.code).toBe('FAIL');
    });

    it('does not credit an order of the other method with the same out_trade_no lookup', async () => {
      // An Alipay order's out_trade_no sent in a (genuine) WeChat notification is not a WeChat order.
      const { user, outTradeNo } = await pendingOrder('ALIPAY', 2);
      const answer = await postWechatNotification(fx.t, fx.wechat.notification(outTradeNo, { transaction: { amount: { total: 200 } } }));
      expect(answer.status).toBe(400);
      expect(await balanceOf(fx.t, user)).toBe(0);
    });
  });

  describe('Alipay', () => {
    it('TRADE_SUCCESS credits once and answers success, also for duplicates', async () => {
      const { user, orderId, outTradeNo } = await pendingOrder('ALIPAY', 66.6);
      fx.alipay.pay(outTradeNo);
      const form = fx.alipay.notification(outTradeNo);
      expect(await postAlipayNotification(fx.t, form)).toEqual({ status: 200, text: 'success' });
      expect(await postAlipayNotification(fx.t, form)).toEqual({ status: 200, text: 'success' });
      const many = await Promise.all(Array.from({ length: 10 }, () => postAlipayNotification(fx.t, form)));
      expect(many.map((a) => a.text)).toEqual(Array(10).fill('success'));
      expect(await balanceOf(fx.t, user)).toBe(6660);
      expect(await ledgerOf(fx.t, user.userId)).toEqual([{ kind: 'TOPUP', reference: expect.any(String), amount: 6660, balanceAfter: 6660 }]);
      const status = await fx.t.gql(PAYMENT_STATUS, { orderId, paymentMethod: 'ALIPAY' }, user);
      expect(status.body.data!.paymentStatus).toMatchObject({ status: 'SUCCESS', paidAmount: 66.6 });
    });

    it('TRADE_CLOSED marks the order FAILED and answers success', async () => {
      const { user, orderId, outTradeNo } = await pendingOrder('ALIPAY', 1);
      const answer = await postAlipayNotification(fx.t, fx.alipay.notification(outTradeNo, { trade_status: 'TRADE_CLOSED' }));
      expect(answer.text).toBe('success');
      const status = await fx.t.gql(PAYMENT_STATUS, { orderId, paymentMethod: 'ALIPAY' }, user);
      expect(status.body.data!.paymentStatus).toEqual({ orderId, status: 'FAILED', paidAmount: 0, paidTime: null });
      expect(await balanceOf(fx.t, user)).toBe(0);
    });

    it.each([
      ['a bad signature', { badSignature: true }],
      ['another app id', { app_id: '2021000000009999', auth_app_id: '2021000000009999' }],
      ['a different amount', { total_amount: '0.01' }],
    ])('answers fail to %s and changes nothing', async (_name, overrides) => {
      const { user, outTradeNo } = await pendingOrder('ALIPAY', 10);
      fx.alipay.pay(outTradeNo);
      const answer = await postAlipayNotification(fx.t, fx.alipay.notification(outTradeNo, overrides));
      expect(answer).toEqual({ status: 200, text: 'fail' });
      expect(await balanceOf(fx.t, user)).toBe(0);
      expect((await orderRow(outTradeNo)).status).toBe('PENDING');
    });

    it('answers fail to a field changed after signing and to an empty form', async () => {
      const { user, outTradeNo } = await pendingOrder('ALIPAY', 10);
      fx.alipay.pay(outTradeNo);
      const form = { ...fx.alipay.notification(outTradeNo), trade_status: 'TRADE_SUCCESS', total_amount: '100.00' };
      expect((await postAlipayNotification(fx.t, form)).text).toBe('fail');
      expect((await postAlipayNotification(fx.t, {})).text).toBe('fail');
      expect(await balanceOf(fx.t, user)).toBe(0);
    });
  });
});

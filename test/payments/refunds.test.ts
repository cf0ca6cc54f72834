import { randomBytes } from 'node:crypto';
import { changeBalance } from '../../src/payments/ledger';
import { login, rows } from '../helpers/accounts';
import { balanceOf, ledgerOf, pendingOrder, postAlipayNotification, postWechatNotification, startAppWithPayments } from '../helpers/payments';
import { invalidVariables } from '../helpers/test-app';
import { RefundOrderDocument as REFUND } from '../generated/graphql';

type Fx = Awaited<ReturnType<typeof startAppWithPayments>>;

describe('refunds', () => {
  let fx: Fx;
  let admin: { token: string; userId: string };
  beforeAll(async () => {
    fx = await startAppWithPayments();
    admin = await login(fx.t);
    await rows(fx.t, "update users set role = 'ADMIN' where id = ?", [admin.userId]);
  });
  afterAll(() => fx.close());
  afterEach(() => {
    fx.wechat.refundBehaviour.answer = 'PROCESSING';
  });

  /** A user whose order of `amount` yuan is paid (notified and credited). */
  async function paidOrder(method: 'WECHAT' | 'ALIPAY', amount: number) {
    const p = await pendingOrder(fx.t, method, amount, { openAlipay: (url) => fx.alipay.openPayUrl(url) });
    if (method === 'WECHAT') {
      expect((await postWechatNotification(fx.t, fx.wechat.notification(p.outTradeNo))).status).toBe(204);
    } else {
      fx.alipay.pay(p.outTradeNo);
      expect((await postAlipayNotification(fx.t, fx.alipay.notification(p.outTradeNo))).text).toBe('success');
    }
    const [row] = await rows(fx.t, 'select id from payment_orders where out_trade_no = ?', [p.outTradeNo]);
    return { ...p, id: String(row.id) };
  }

  const refundRows = async (orderId?: string) =>
    (await rows(fx.t, `select id, out_refund_no, amount, status, shortfall, forced, reason from payment_refunds${orderId ? ' where order_id = ?' : ''} order by created_at, id`, orderId ? [orderId] : [])).map((r) => ({
      id: String(r.id),
      outRefundNo: String(r.out_refund_no),
      amount: Number(r.amount),
      status: String(r.status),
      shortfall: Number(r.shortfall),
    }));
  const orderRow = async (id: string) => {
    const [r] = await rows(fx.t, 'select status, refunded_amount, refund_reserved from payment_orders where id = ?', [id]);
    return { status: String(r.status), refundedAmount: Number(r.refunded_amount), reserved: Number(r.refund_reserved) };
  };
  const wechatRefundCalls = () => fx.wechat.calls.filter((c) => c.method === 'POST' && c.path === '/v3/refund/domestic/refunds').length;
  const spend = (userId: string, fen: number) => fx.t.app.deps.orm.em.fork().transactional((tx) => changeBalance(tx, { userId, kind: 'AI_USAGE', reference: randomBytes(8).toString('hex'), amount: -fen }));
  /** Everything a refusal must leave as it was. */
  const snapshot = async (o: { id: string; user: { token: string; userId: string } }) => ({
    order: await orderRow(o.id),
    refunds: await refundRows(),
    balance: await balanceOf(fx.t, o.user),
    ledger: await ledgerOf(fx.t, o.user.userId),
    wechatRefunds: wechatRefundCalls(),
    alipayRefunds: fx.alipay.refunds.size,
  });

  describe('WeChat Pay', () => {
    it('refunds in full: pending until WeChat Pay notifies REFUND.SUCCESS, then the balance is taken back through the ledger', async () => {
      const o = await paidOrder('WECHAT', 12.34);
      const res = await fx.t.gql(REFUND, { id: o.id, reason: 'customer asked' }, admin);
      expect(res.body.data!.refundOrder).toEqual({ id: o.id, status: 'SUCCESS', amount: 12.34, refundedAmount: 0 });
      const [refund] = await refundRows(o.id);
      expect(refund).toMatchObject({ amount: 1234, status: 'PENDING' });
      expect(refund.outRefundNo).toMatch(/^[0-9a-f]{32}$/);
      expect(fx.wechat.refunds.get(refund.outRefundNo)).toMatchObject({ refund: 1234, total: 1234, out_trade_no: o.outTradeNo, reason: 'customer asked' });
      expect(await balanceOf(fx.t, o.user)).toBe(1234);

      fx.wechat.settleRefund(refund.outRefundNo, 'SUCCESS');
      const n = fx.wechat.refundNotification(refund.outRefundNo);
      expect(await postWechatNotification(fx.t, n)).toEqual({ status: 204, body: null });
      expect(await postWechatNotification(fx.t, n)).toEqual({ status: 204, body: null });
      expect(await orderRow(o.id)).toEqual({ status: 'REFUNDED', refundedAmount: 1234, reserved: 1234 });
      expect(await balanceOf(fx.t, o.user)).toBe(0);
      expect(await ledgerOf(fx.t, o.user.userId)).toEqual([
        { kind: 'TOPUP', reference: o.id, amount: 1234, balanceAfter: 1234 },
        { kind: 'REFUND', reference: refund.id, amount: -1234, balanceAfter: 0 },
      ]);
      expect((await refundRows(o.id))[0]).toMatchObject({ status: 'SUCCESS', shortfall: 0 });
      const [audit] = await rows(fx.t, "select admin_id, target_id from admin_audit where action = 'REFUND_ORDER' and target_id = ?", [o.id]);
      expect(audit).toMatchObject({ admin_id: admin.userId, target_id: o.id });
    });

    it('refunds in parts: PARTIALLY_REFUNDED, then REFUNDED when the rest goes too', async () => {
      fx.wechat.refundBehaviour.answer = 'SUCCESS';
      const o = await paidOrder('WECHAT', 10);
      const first = await fx.t.gql(REFUND, { id: o.id, amount: 3.5, reason: 'part' }, admin);
      expect(first.body.data!.refundOrder).toMatchObject({ status: 'PARTIALLY_REFUNDED', refundedAmount: 3.5 });
      expect(await balanceOf(fx.t, o.user)).toBe(650);
      const rest = await fx.t.gql(REFUND, { id: o.id, reason: 'the rest' }, admin);
      expect(rest.body.data!.refundOrder).toMatchObject({ status: 'REFUNDED', refundedAmount: 10 });
      expect(await balanceOf(fx.t, o.user)).toBe(0);
      expect((await ledgerOf(fx.t, o.user.userId)).map((e) => e.amount)).toEqual([1000, -350, -650]);
      const nothingLeft = await fx.t.gql(REFUND, { id: o.id, reason: 'again?' }, admin);
      expect(nothingLeft.body.errors![0].extensions).toMatchObject({ code: 'BAD_REQUEST', details: { reason: 'REFUND_EXCEEDS_PAID' } });
    });

    it('10 concurrent duplicate refund calls make one provider refund and one ledger row', async () => {
      fx.wechat.refundBehaviour.answer = 'SUCCESS';
      const o = await paidOrder('WECHAT', 5);
      const calls = wechatRefundCalls();
      const answers = await Promise.all(Array.from({ length: 10 }, () => fx.t.gql(REFUND, { id: o.id, amount: 2, reason: 'double click' }, admin)));
      for (const a of answers) expect(a.body.errors).toBeUndefined();
      expect(wechatRefundCalls() - calls).toBe(1);
      expect(await refundRows(o.id)).toHaveLength(1);
      expect((await ledgerOf(fx.t, o.user.userId)).filter((e) => e.kind === 'REFUND')).toEqual([{ kind: 'REFUND', reference: expect.any(String), amount: -200, balanceAfter: 300 }]);
      expect(await orderRow(o.id)).toEqual({ status: 'PARTIALLY_REFUNDED', refundedAmount: 200, reserved: 200 });
    });

    it('the reconciler settles a refund whose notification never came', async () => {
      const o = await paidOrder('WECHAT', 3);
      await fx.t.gql(REFUND, { id: o.id, reason: 'lost notification' }, admin);
      const [refund] = await refundRows(o.id);
      expect((await fx.t.app.deps.payments.refunds.reconcile()).SUCCEEDED).toBe(0);
      fx.wechat.settleRefund(refund.outRefundNo, 'SUCCESS');
      expect((await fx.t.app.deps.payments.refunds.reconcile()).SUCCEEDED).toBe(1);
      expect(await orderRow(o.id)).toMatchObject({ status: 'REFUNDED', refundedAmount: 300 });
      expect(await balanceOf(fx.t, o.user)).toBe(0);
    });

    it('a refund WeChat Pay never received is sent again with the same number by the reconciler', async () => {
      fx.wechat.refundBehaviour.answer = 'SUCCESS';
      const o = await paidOrder('WECHAT', 4);
      fx.wechat.nextFailure('http500');
      const res = await fx.t.gql(REFUND, { id: o.id, reason: 'flaky' }, admin);
      expect(res.body.errors![0].extensions).toMatchObject({ code: 'UPSTREAM_ERROR' });
      const [refund] = await refundRows(o.id);
      expect(refund.status).toBe('PENDING');
      expect(fx.wechat.refunds.has(refund.outRefundNo)).toBe(false);
      // The same request again answers the pending refund instead of making a second one.
      expect((await fx.t.gql(REFUND, { id: o.id, reason: 'flaky' }, admin)).body.data!.refundOrder.refundedAmount).toBe(0);
      expect(await refundRows(o.id)).toHaveLength(1);
      await fx.t.app.deps.payments.refunds.reconcile();
      expect(fx.wechat.refunds.get(refund.outRefundNo)).toMatchObject({ refund: 400, status: 'SUCCESS' });
      expect(await orderRow(o.id)).toMatchObject({ status: 'REFUNDED', refundedAmount: 400 });
      expect((await ledgerOf(fx.t, o.user.userId)).filter((e) => e.kind === 'REFUND')).toHaveLength(1);
    });

    it('REFUND.CLOSED ends the refund and releases it; nothing is taken back', async () => {
      const o = await paidOrder('WECHAT', 6);
      await fx.t.gql(REFUND, { id: o.id, reason: 'to be closed' }, admin);
      const [refund] = await refundRows(o.id);
      fx.wechat.settleRefund(refund.outRefundNo, 'CLOSED');
      expect((await postWechatNotification(fx.t, fx.wechat.refundNotification(refund.outRefundNo))).status).toBe(204);
      expect((await refundRows(o.id))[0].status).toBe('CLOSED');
      expect(await orderRow(o.id)).toEqual({ status: 'SUCCESS', refundedAmount: 0, reserved: 0 });
      expect(await balanceOf(fx.t, o.user)).toBe(600);
    });

    it('refuses a refund notification of another merchant, and ignores one for a refund not made here', async () => {
      const o = await paidOrder('WECHAT', 2);
      await fx.t.gql(REFUND, { id: o.id, reason: 'check merchant' }, admin);
      const [refund] = await refundRows(o.id);
      fx.wechat.settleRefund(refund.outRefundNo, 'SUCCESS');
      const other = await postWechatNotification(fx.t, fx.wechat.refundNotification(refund.outRefundNo, { refund: { mchid: '1900000999' } }));
      expect(other.status).toBe(400);
      const unknown = await postWechatNotification(fx.t, fx.wechat.refundNotification(refund.outRefundNo, { refund: { out_refund_no: 'a'.repeat(32) } }));
      expect(unknown.status).toBe(204);
      const wrongAmount = await postWechatNotification(fx.t, fx.wechat.refundNotification(refund.outRefundNo, { refund: { amount: { total: 200, refund: 1 } } }));
      expect(wrongAmount.status).toBe(204);
      expect(await orderRow(o.id)).toMatchObject({ status: 'SUCCESS', refundedAmount: 0 });
      expect(await balanceOf(fx.t, o.user)).toBe(200);
    });
  });

  describe('Alipay', () => {
    it('refunds in full and in parts, synchronously', async () => {
      const o = await paidOrder('ALIPAY', 8);
      const part = await fx.t.gql(REFUND, { id: o.id, amount: 0.01, reason: 'a cent' }, admin);
      expect(part.body.data!.refundOrder).toMatchObject({ status: 'PARTIALLY_REFUNDED', refundedAmount: 0.01 });
      const rest = await fx.t.gql(REFUND, { id: o.id, reason: 'the rest' }, admin);
      expect(rest.body.data!.refundOrder).toMatchObject({ status: 'REFUNDED', refundedAmount: 8 });
      const refunds = await refundRows(o.id);
      expect(refunds.map((r) => [r.amount, r.status])).toEqual([
        [1, 'SUCCESS'],
        [799, 'SUCCESS'],
      ]);
      expect(refunds.map((r) => fx.alipay.refunds.get(r.outRefundNo)?.amountFen)).toEqual([1, 799]);
      expect(fx.alipay.trades.get(o.outTradeNo)!.status).toBe('TRADE_CLOSED');
      expect(await balanceOf(fx.t, o.user)).toBe(0);
      // Alipay's refund notification (a trade_status_sync with out_biz_no) changes nothing more.
      const note = fx.alipay.notification(o.outTradeNo, { out_biz_no: refunds[1].outRefundNo, refund_fee: '8.00' });
      expect((await postAlipayNotification(fx.t, note)).text).toBe('success');
      expect((await ledgerOf(fx.t, o.user.userId)).map((e) => e.amount)).toEqual([800, -1, -799]);
    });

    it('10 concurrent duplicate refund calls make one Alipay refund and one ledger row', async () => {
      const o = await paidOrder('ALIPAY', 5);
      const answers = await Promise.all(Array.from({ length: 10 }, () => fx.t.gql(REFUND, { id: o.id, reason: 'double click' }, admin)));
      for (const a of answers) expect(a.body.errors).toBeUndefined();
      expect(Array.from(fx.alipay.refunds.values()).filter((r) => r.outTradeNo === o.outTradeNo)).toHaveLength(1);
      expect((await ledgerOf(fx.t, o.user.userId)).filter((e) => e.kind === 'REFUND')).toHaveLength(1);
      expect(await balanceOf(fx.t, o.user)).toBe(0);
    });
  });

  describe('refusals change nothing', () => {
    it('more than is left to refund: REFUND_EXCEEDS_PAID', async () => {
      const o = await paidOrder('ALIPAY', 3);
      const before = await snapshot(o);
      const res = await fx.t.gql(REFUND, { id: o.id, amount: 3.01, reason: 'too much' }, admin);
      expect(res.body.errors![0].extensions).toMatchObject({ code: 'BAD_REQUEST', details: { reason: 'REFUND_EXCEEDS_PAID' } });
      expect(await snapshot(o)).toEqual(before);
    });

    it('a balance already spent: BALANCE_ALREADY_SPENT; with force the balance goes to zero, never below, and the shortfall is recorded', async () => {
      const o = await paidOrder('ALIPAY', 10);
      await spend(o.user.userId, 700);
      const before = await snapshot(o);
      const res = await fx.t.gql(REFUND, { id: o.id, reason: 'spent' }, admin);
      expect(res.body.errors![0].extensions).toMatchObject({ code: 'BAD_REQUEST', details: { reason: 'BALANCE_ALREADY_SPENT' } });
      expect(await snapshot(o)).toEqual(before);

      const forced = await fx.t.gql(REFUND, { id: o.id, reason: 'spent', force: true }, admin);
      expect(forced.body.data!.refundOrder).toMatchObject({ status: 'REFUNDED', refundedAmount: 10 });
      expect(await balanceOf(fx.t, o.user)).toBe(0);
      const [refund] = await refundRows(o.id);
      expect(refund).toMatchObject({ amount: 1000, status: 'SUCCESS', shortfall: 700 });
      expect((await ledgerOf(fx.t, o.user.userId)).at(-1)).toEqual({ kind: 'REFUND', reference: refund.id, amount: -300, balanceAfter: 0 });
    });

    it('an unpaid order: ORDER_NOT_PAID; an unknown or malformed id: NOT_FOUND', async () => {
      const p = await pendingOrder(fx.t, 'WECHAT', 1);
      const [row] = await rows(fx.t, 'select id from payment_orders where out_trade_no = ?', [p.outTradeNo]);
      const o = { id: String(row.id), user: p.user };
      const before = await snapshot(o);
      const unpaid = await fx.t.gql(REFUND, { id: o.id, reason: 'not paid' }, admin);
      expect(unpaid.body.errors![0].extensions).toMatchObject({ code: 'BAD_REQUEST', details: { reason: 'ORDER_NOT_PAID' } });
      for (const id of ['01m8y0v228hz5x7s28xkc7m6m4', 'not-an-id', 'x'.repeat(10_000)]) {
        const res = await fx.t.gql(REFUND, { id, reason: 'who?' }, admin);
        expect(res.body.errors![0].extensions.code).toBe('NOT_FOUND');
      }
      expect(await snapshot(o)).toEqual(before);
    });

    it.each([
      ['zero', { amount: 0 }, 'INVALID_AMOUNT'],
      ['negative', { amount: -1 }, 'INVALID_AMOUNT'],
      ['three decimals', { amount: 0.001 }, 'INVALID_AMOUNT'],
      ['an empty reason', { reason: '  ' }, 'INVALID_REASON'],
      ['an oversized reason', { reason: 'x'.repeat(81) }, 'INVALID_REASON'],
    ])('malformed input (%s) is BAD_REQUEST', async (_name, change, reason) => {
      const o = await paidOrder('ALIPAY', 1);
      const before = await snapshot(o);
      const res = await fx.t.gql(REFUND, { id: o.id, reason: 'ok', ...change }, admin);
      expect(res.body.errors![0].extensions).toMatchObject({ code: 'BAD_REQUEST', details: { reason } });
      const wrongType = await fx.t.gql(REFUND, invalidVariables({ id: o.id, reason: 'ok', amount: 'all of it' }), admin);
      expect(wrongType.body.errors![0].extensions.code).toMatch(/BAD_REQUEST|BAD_USER_INPUT/);
      expect(await snapshot(o)).toEqual(before);
    });

    it('not an admin (even for their own order) or no credential: refused', async () => {
      const o = await paidOrder('WECHAT', 2);
      const before = await snapshot(o);
      const own = await fx.t.gql(REFUND, { id: o.id, reason: 'mine' }, o.user);
      expect(own.body.errors![0].extensions.code).toBe('FORBIDDEN');
      const stranger = await login(fx.t);
      expect((await fx.t.gql(REFUND, { id: o.id, reason: 'theirs' }, stranger)).body.errors![0].extensions.code).toBe('FORBIDDEN');
      expect((await fx.t.gql(REFUND, { id: o.id, reason: 'anyone' })).body.errors![0].extensions.code).toBe('UNAUTHENTICATED');
      expect(await snapshot(o)).toEqual(before);
    });
  });
});

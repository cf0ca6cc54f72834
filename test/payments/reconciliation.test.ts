import { PaymentOrder } from '../../src/db/entities/payment-order.entity';
import { ReconciliationDiff } from '../../src/db/entities/reconciliation-diff.entity';
import { ReconciliationRun } from '../../src/db/entities/reconciliation-run.entity';
import { AdminReconciliationDocument as ADMIN_RECONCILIATION } from '../generated/graphql';
import { login } from '../helpers/accounts';
import { dataOf } from '../helpers/replies';
import { balanceOf, pendingOrder, postAlipayNotification, postWechatNotification, startAppWithPayments } from '../helpers/payments';
import type { FakeBillRow } from '../fakes/provider-bills';
import { adminLogin, outcome } from '../admin/setup';

type Fx = Awaited<ReturnType<typeof startAppWithPayments>>;
type Method = 'WECHAT' | 'ALIPAY';

describe('daily reconciliation against the providers’ trade bills', () => {
  let fx: Fx;
  beforeAll(async () => {
    fx = await startAppWithPayments();
  });
  afterAll(() => fx.close());

  const reconciliation = () => fx.t.app.deps.payments.reconciliation;
  const em = () => fx.t.app.deps.orm.em.fork();
  const setBill = (method: Method, day: string, rows: FakeBillRow[]) => (method === 'WECHAT' ? fx.wechat.tradeBills : fx.alipay.tradeBills).set(day, rows);
  const diffsOf = async (method: Method, day: string) =>
    (await em().find(ReconciliationDiff, { provider: method, run: { billDate: day } }, { orderBy: { outTradeNo: 'asc' } })).map((d) => ({ outTradeNo: d.outTradeNo, kind: d.kind, ourAmount: d.ourAmount, theirAmount: d.theirAmount }));

  /** An order paid through the provider's notification (so credited with its ledger row), then dated on `day` (Beijing noon). */
  async function paidOrder(method: Method, yuan: number, day: string) {
    const o = await pendingOrder(fx.t, method, yuan);
    if (method === 'WECHAT') {
      expect((await postWechatNotification(fx.t, fx.wechat.notification(o.outTradeNo))).status).toBe(204);
    } else {
      fx.alipay.open(o.outTradeNo, Math.round(yuan * 100));
      fx.alipay.pay(o.outTradeNo);
      expect((await postAlipayNotification(fx.t, fx.alipay.notification(o.outTradeNo))).text).toBe('success');
    }
    await em().nativeUpdate(PaymentOrder, { outTradeNo: o.outTradeNo }, { paidAt: new Date(`${day}T12:00:00+08:00`) });
    return o;
  }

  it.each([
    ['WECHAT', '2026-01-01'],
    ['ALIPAY', '2026-01-02'],
  ] as const)('%s: finds each kind of difference, records them, and changes no balance', async (method, day) => {
    const same = await paidOrder(method, 10, day);
    const amount = await paidOrder(method, 5, day);
    const notBilled = await paidOrder(method, 3, day);
    const unpaidHere = await pendingOrder(fx.t, method, 4);
    const refundedThere = await paidOrder(method, 2, day);
    setBill(method, day, [
      { outTradeNo: same.outTradeNo, kind: 'PAYMENT', total: 1000 },
      { outTradeNo: amount.outTradeNo, kind: 'PAYMENT', total: 600 },
      { outTradeNo: unpaidHere.outTradeNo, kind: 'PAYMENT', total: 400 },
      { outTradeNo: 'unknownTradeNo0001', kind: 'PAYMENT', total: 100 },
      { outTradeNo: refundedThere.outTradeNo, kind: 'PAYMENT', total: 200 },
      { outTradeNo: refundedThere.outTradeNo, kind: 'REFUND', total: 200, refund: 200 },
    ]);

    expect(await reconciliation().runDay(method, day)).toEqual({ provider: method, billDate: day, status: 'DONE', diffs: 5 });

    const expected = [
      { outTradeNo: amount.outTradeNo, kind: 'AMOUNT', ourAmount: 500, theirAmount: 600 },
      { outTradeNo: notBilled.outTradeNo, kind: 'MISSING_REMOTE', ourAmount: 300, theirAmount: null },
      { outTradeNo: unpaidHere.outTradeNo, kind: 'MISSING_LOCAL', ourAmount: 400, theirAmount: 400 },
      { outTradeNo: 'unknownTradeNo0001', kind: 'MISSING_LOCAL', ourAmount: null, theirAmount: 100 },
      { outTradeNo: refundedThere.outTradeNo, kind: 'STATE', ourAmount: 0, theirAmount: 200 },
    ].sort((a, b) => (a.outTradeNo < b.outTradeNo ? -1 : 1));
    expect(await diffsOf(method, day)).toEqual(expected);
    const run = await em().findOneOrFail(ReconciliationRun, { provider: method, billDate: day });
    expect({ status: run.status, diffCount: run.diffCount, attempts: run.attempts }).toEqual({ status: 'DONE', diffCount: 5, attempts: 1 });
    // Recorded only: balances and orders are as they were.
    expect(await balanceOf(fx.t, amount.user)).toBe(500);
    expect(await balanceOf(fx.t, refundedThere.user)).toBe(200);
    expect((await em().findOneOrFail(PaymentOrder, { outTradeNo: unpaidHere.outTradeNo })).status).toBe('PENDING');
  });

  it('a matching day records no difference, for both providers', async () => {
    const day = '2026-01-03';
    for (const method of ['WECHAT', 'ALIPAY'] as const) {
      const a = await paidOrder(method, 1.23, day);
      const b = await paidOrder(method, 8, day);
      setBill(method, day, [
        { outTradeNo: a.outTradeNo, kind: 'PAYMENT', total: 123 },
        { outTradeNo: b.outTradeNo, kind: 'PAYMENT', total: 800 },
      ]);
      expect(await reconciliation().runDay(method, day)).toEqual({ provider: method, billDate: day, status: 'DONE', diffs: 0 });
      expect(await diffsOf(method, day)).toEqual([]);
    }
  });

  it('a day WeChat Pay has no bill for (NO_STATEMENT_EXIST) is compared as empty: our payments that day are MISSING_REMOTE', async () => {
    const day = '2026-01-08';
    const paid = await paidOrder('WECHAT', 6, day);
    expect(await reconciliation().runDay('WECHAT', day)).toEqual({ provider: 'WECHAT', billDate: day, status: 'DONE', diffs: 1 });
    expect(await diffsOf('WECHAT', day)).toEqual([{ outTradeNo: paid.outTradeNo, kind: 'MISSING_REMOTE', ourAmount: 600, theirAmount: null }]);
  });

  it('a WeChat bill whose SHA1 does not match hash_value is a failed run with no diffs, tried again later', async () => {
    const day = '2026-01-04';
    setBill('WECHAT', day, [{ outTradeNo: 'unknownTradeNo0004', kind: 'PAYMENT', total: 100 }]);
    fx.wechat.billOptions.billHashTampered = true;
    try {
      expect(await reconciliation().runDay('WECHAT', day)).toEqual({ provider: 'WECHAT', billDate: day, status: 'FAILED', diffs: 0 });
    } finally {
      fx.wechat.billOptions.billHashTampered = false;
    }
    const run = await em().findOneOrFail(ReconciliationRun, { provider: 'WECHAT', billDate: day });
    expect({ status: run.status, diffCount: run.diffCount }).toEqual({ status: 'FAILED', diffCount: 0 });
    expect(run.error).toContain('SHA1');
    expect(await em().count(ReconciliationDiff, { run: run.id })).toBe(0);
    // The bill was downloaded, checked and refused: the download happened, the comparison did not.
    expect(fx.wechat.calls.some((c) => c.path.startsWith('/v3/billdownload/file'))).toBe(true);

    // A later round takes the failed day over; with a good file it compares.
    expect(await reconciliation().runDay('WECHAT', day)).toEqual({ provider: 'WECHAT', billDate: day, status: 'DONE', diffs: 1 });
    expect(await em().count(ReconciliationRun, { provider: 'WECHAT', billDate: day })).toBe(1);
  });

  it('two job runs at once (two instances) reconcile a day once', async () => {
    const day = '2026-01-05';
    setBill('WECHAT', day, [{ outTradeNo: 'unknownTradeNo0005', kind: 'PAYMENT', total: 100 }]);
    setBill('ALIPAY', day, [{ outTradeNo: 'unknownTradeNo0006', kind: 'PAYMENT', total: 200 }]);
    // 10:30 Beijing time the next day: that day is due.
    const now = new Date('2026-01-06T10:30:00+08:00');
    expect(await reconciliation().runDue(new Date('2026-01-06T09:59:00+08:00'))).toEqual([]);
    const [one, two] = await Promise.all([reconciliation().runDue(now), reconciliation().runDue(now)]);
    for (const method of ['WECHAT', 'ALIPAY'] as const) {
      const statuses = [...one, ...two].filter((o) => o.provider === method && o.billDate === day).map((o) => o.status);
      expect(statuses.sort()).toEqual(['DONE', 'SKIPPED']);
      expect(await em().count(ReconciliationRun, { provider: method, billDate: day })).toBe(1);
      expect(await diffsOf(method, day)).toHaveLength(1);
    }
    // And a later round leaves the done day alone.
    expect((await reconciliation().runDue(now)).map((o) => o.status)).toEqual(['SKIPPED', 'SKIPPED']);
    expect(await em().count(ReconciliationDiff, { run: { billDate: day } })).toBe(2);
  });

  it('adminReconciliation lists the differences for an admin, pages, and refuses others', async () => {
    const day = '2026-01-07';
    setBill('ALIPAY', day, [
      { outTradeNo: 'unknownTradeNo0007', kind: 'PAYMENT', total: 150 },
      { outTradeNo: 'unknownTradeNo0008', kind: 'PAYMENT', total: 250 },
      { outTradeNo: 'unknownTradeNo0009', kind: 'PAYMENT', total: 350 },
    ]);
    await reconciliation().runDay('ALIPAY', day);
    const total = await em().count(ReconciliationDiff, {});
    const admin = await adminLogin(fx.t);

    const first = dataOf(await fx.t.gql(ADMIN_RECONCILIATION, { first: 2 }, admin)).adminReconciliation;
    expect(first.totalCount).toBe(total);
    expect(first.nodes).toHaveLength(2);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const rest = dataOf(await fx.t.gql(ADMIN_RECONCILIATION, { first: 50, after: first.pageInfo.endCursor }, admin)).adminReconciliation;
    expect(rest.nodes).toHaveLength(total - 2);
    expect(rest.pageInfo.hasNextPage).toBe(false);
    const all = [...first.nodes, ...rest.nodes];
    expect(new Set(all.map((n) => n.id)).size).toBe(total);
    const node = all.find((n) => n.outTradeNo === 'unknownTradeNo0008')!;
    expect(node).toMatchObject({ provider: 'ALIPAY', billDate: day, kind: 'MISSING_LOCAL', ourAmount: null, theirAmount: 2.5 });

    expect(outcome(await fx.t.gql(ADMIN_RECONCILIATION, {}, await login(fx.t)))).toEqual({ status: 403, code: 'FORBIDDEN', reason: 'ADMIN_REQUIRED' });
    expect(outcome(await fx.t.gql(ADMIN_RECONCILIATION, {}))).toEqual({ status: 401, code: 'UNAUTHENTICATED' });
    expect(outcome(await fx.t.gql(ADMIN_RECONCILIATION, { after: 'not-a-cursor' }, admin)).code).toBe('BAD_REQUEST');
    // An oversized page is refused before execution by the query limits; a zero one by the paging check.
    expect(outcome(await fx.t.gql(ADMIN_RECONCILIATION, { first: 100_000 }, admin)).code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(outcome(await fx.t.gql(ADMIN_RECONCILIATION, { first: 0 }, admin)).code).toBe('BAD_REQUEST');
  });
});

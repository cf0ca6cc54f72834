import type { FormattedExecutionResult } from 'graphql-ws';
import { statusTopic } from '../../src/payments/settlement';
import {
  BalanceDocument,
  CreateAlipayOrderFullDocument,
  CreateWechatPayOrderFullDocument,
  type OrderFieldsFragment,
  type PaymentMethod,
  type PaymentStatusChangedSubscription,
} from '../generated/graphql';
import { startFakeAlipay } from '../fakes/alipay';
import { startFakeWechatPay } from '../fakes/wechat-pay';
import { login, rows } from './accounts';
import { dataOf } from './replies';
import { startTestApp, type Credentials, type Subscription, type TestApp } from './test-app';
import { waitFor } from './wait';

/** The app with both providers configured against their fakes. */
export async function startAppWithPayments(env: Record<string, string> = {}) {
  const wechat = await startFakeWechatPay();
  const alipay = await startFakeAlipay();
  const t = await startTestApp({ env: { ...wechat.env(), ...alipay.env(), ...env } });
  return {
    t,
    wechat,
    alipay,
    close: async () => {
      await t.close();
      await wechat.close();
      await alipay.close();
    },
  };
}

/** Creates (or finds again) an order of `method` through its mutation; throws on errors. */
export async function createOrder(t: TestApp, creds: Credentials, method: PaymentMethod, input: { amount: number; orderId: string }): Promise<OrderFieldsFragment> {
  const res = method === 'WECHAT' ? await t.gql(CreateWechatPayOrderFullDocument, { input }, creds) : await t.gql(CreateAlipayOrderFullDocument, { input }, creds);
  const data = res.body.data;
  if (!data) throw new Error(JSON.stringify(res.body.errors));
  return 'createWechatPayOrder' in data ? data.createWechatPayOrder : data.createAlipayOrder;
}

export async function balanceOf(t: TestApp, creds: Credentials): Promise<number> {
  const res = await t.gql(BalanceDocument, {}, creds);
  return dataOf(res).me.balance;
}

/** The provider-side id of a user's order, straight from the database. */
export async function outTradeNoOf(t: TestApp, userId: string, orderId: string): Promise<string> {
  const [row] = await rows(t, 'select out_trade_no from payment_orders where user_id = ? and client_order_id = ?', [userId, orderId]);
  if (!row) throw new Error(`no order ${orderId}`);
  return String(row.out_trade_no);
}

export async function ledgerOf(t: TestApp, userId: string): Promise<Array<{ kind: string; reference: string; amount: number; balanceAfter: number }>> {
  const entries = await rows(t, 'select kind, reference, amount, balance_after from ledger_entries where user_id = ? order by created_at, id', [userId]);
  return entries.map((e) => ({ kind: String(e.kind), reference: String(e.reference), amount: Number(e.amount), balanceAfter: Number(e.balance_after) }));
}

export async function postWechatNotification(t: TestApp, n: { headers: Record<string, string>; body: string }) {
  const res = await fetch(`${t.url}/v1/pay/wechat/notify`, { method: 'POST', headers: n.headers, body: n.body });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as { code: string; message: string }) : null };
}

export async function postAlipayNotification(t: TestApp, form: Record<string, string>) {
  const res = await fetch(`${t.url}/v1/pay/alipay/notify`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
    body: new URLSearchParams(form).toString(),
  });
  return { status: res.status, text: await res.text() };
}

/**
 * A new user with a pending order of `amount` yuan, and its provider-side out_trade_no.
 * `openAlipay`: the buyer also opened the Alipay page (the trade exists at Alipay).
 */
export async function pendingOrder(t: TestApp, method: PaymentMethod, amount: number, opts: { openAlipay?: (payUrl: string) => unknown } = {}) {
  const user = await login(t);
  const orderId = `o-${Math.random().toString(36).slice(2)}`;
  const order = await createOrder(t, user, method, { amount, orderId });
  if (method === 'ALIPAY') opts.openAlipay?.(order.payUrl!);
  return { user, orderId, order, outTradeNo: await outTradeNoOf(t, user.userId, orderId) };
}

/**
 * Resolves once `sub`, a paymentStatusChanged subscription to the user's pending order, hears
 * changes published through instance `t` (with Redis: another instance than the one it is
 * on). Its first result, the status at subscription, comes from its own instance and proves
 * nothing about that, so this publishes the unchanged PENDING status through `t` until the
 * subscriber hears it.
 */
export async function untilSubscribed(t: TestApp, sub: Subscription<FormattedExecutionResult<PaymentStatusChangedSubscription>>, userId: string, orderId: string): Promise<void> {
  const pending = { userId, orderId, status: 'PENDING' as const, paidAmount: 0, paidAt: null };
  await waitFor(
    () => {
      if (sub.results.length > 1 || sub.ended) return true;
      t.app.deps.payments.pubsub.publish('payment', statusTopic(userId, orderId), pending);
      return false;
    },
    5000,
    'the paymentStatusChanged subscription being live',
    50,
  );
  if (sub.error) throw new Error(`the subscription failed: ${JSON.stringify(sub.error)}`);
}

import { startFakeAlipay } from '../fakes/alipay';
import { startFakeWechatPay } from '../fakes/wechat-pay';
import { login, rows } from './accounts';
import { startTestApp, type Credentials, type TestApp } from './test-app';

const ORDER_FIELDS = 'orderId amount paymentMethod codeUrl payUrl status createdAt expiresAt';
export const CREATE_WECHAT = `mutation($input: CreateOrderInput!) { createWechatPayOrder(input: $input) { ${ORDER_FIELDS} } }`;
export const CREATE_ALIPAY = `mutation($input: CreateOrderInput!) { createAlipayOrder(input: $input) { ${ORDER_FIELDS} } }`;
export const PAYMENT_STATUS = 'query($orderId: String!, $method: PaymentMethod!) { paymentStatus(orderId: $orderId, paymentMethod: $method) { orderId status paidAmount paidTime } }';
export const STATUS_CHANGED = 'subscription($orderId: String!) { paymentStatusChanged(orderId: $orderId) { orderId status paidAmount paidTime } }';

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

export async function balanceOf(t: TestApp, creds: Credentials): Promise<number> {
  const res = await t.gql<{ me: { balance: number } }>('{ me { balance } }', {}, creds);
  return res.body.data!.me.balance;
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
export async function pendingOrder(t: TestApp, method: 'WECHAT' | 'ALIPAY', amount: number, opts: { openAlipay?: (payUrl: string) => unknown } = {}) {
  const user = await login(t);
  const orderId = `o-${Math.random().toString(36).slice(2)}`;
  const res = await t.gql<any>(method === 'WECHAT' ? CREATE_WECHAT : CREATE_ALIPAY, { input: { amount, orderId } }, user);
  if (res.body.errors) throw new Error(JSON.stringify(res.body.errors));
  const order = method === 'WECHAT' ? res.body.data.createWechatPayOrder : res.body.data.createAlipayOrder;
  if (method === 'ALIPAY') opts.openAlipay?.(order.payUrl);
  return { user, orderId, order, outTradeNo: await outTradeNoOf(t, user.userId, orderId) };
}

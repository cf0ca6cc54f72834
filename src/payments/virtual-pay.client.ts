import { UpstreamError } from '../core/errors';
import { xpayApiPaySig } from './virtual-pay.signing';

/** What `POST /xpay/query_order` says of an order (the fields used here); fees in fen. */
export interface XpayOrder {
  order_id?: string;
  /** 0 created (not usable), 1 awaiting payment, 2 paid awaiting delivery, 3 delivering, 4 delivered, 5 refunded, 6 closed, 7 refund failed, 8 refunded by the user. */
  status?: number;
  order_fee?: number;
  paid_fee?: number;
  paid_time?: number;
  wx_order_id?: string;
}

/** The access token of the mini-program (WechatAccessTokens from src/moderation/wechat-token.ts fits). */
export interface AccessTokenSource {
  get(): Promise<string>;
  invalidate(token: string): Promise<void>;
}

/** errcodes that mean the access token is not (or no longer) valid: fetched again once. */
const TOKEN_ERRORS = new Set([40001, 40014, 42001]);
/** The order is unknown to WeChat: the payer never got as far as WeChat's cashier. */
const ORDER_NOT_EXIST = new Set([268490004]);

/** WeChat's server API of mini-program virtual payment (only what reconciling needs). */
export class XpayClient {
  constructor(
    private readonly opts: { apiBase: string; appKey: string; env: 0 | 1; timeoutMs: number },
    private readonly tokens: AccessTokenSource,
  ) {}

  /** The order as WeChat knows it; null when WeChat has not heard of it. */
  async queryOrder(openid: string, outTradeNo: string): Promise<XpayOrder | null> {
    const body = JSON.stringify({ openid, env: this.opts.env, order_id: outTradeNo });
    for (let attempt = 0; ; attempt++) {
      const token = await this.tokens.get();
      const answer = await this.post('/xpay/query_order', token, body);
      const errcode = typeof answer.errcode === 'number' ? answer.errcode : 0;
      if (errcode === 0) {
        const order = answer.order;
        if (typeof order !== 'object' || order === null) throw new UpstreamError('WeChat virtual payment answered without the order', { reason: 'WECHAT_XPAY_REFUSED' });
        return order as XpayOrder;
      }
      if (ORDER_NOT_EXIST.has(errcode)) return null;
      if (TOKEN_ERRORS.has(errcode) && attempt === 0) {
        await this.tokens.invalidate(token);
        continue;
      }
      throw new UpstreamError(`WeChat virtual payment refused query_order (errcode ${errcode})`, { reason: 'WECHAT_XPAY_REFUSED' });
    }
  }

  private async post(uri: string, token: string, body: string): Promise<Record<string, unknown>> {
    const base = this.opts.apiBase.endsWith('/') ? this.opts.apiBase.slice(0, -1) : this.opts.apiBase;
    const url = `${base}${uri}?${new URLSearchParams({ access_token: token, pay_sig: xpayApiPaySig(this.opts.appKey, uri, body) })}`;
    let text: string;
    try {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(this.opts.timeoutMs) });
      text = await res.text();
    } catch {
      throw new UpstreamError('WeChat virtual payment did not answer in time', { reason: 'WECHAT_UNAVAILABLE' });
    }
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
    } catch {
      // answered below
    }
    throw new UpstreamError('WeChat virtual payment answered with something other than a JSON object', { reason: 'WECHAT_XPAY_REFUSED' });
  }
}

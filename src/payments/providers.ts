import type { PaymentMethod, PaymentScene } from '../db/entities/payment-order.entity';
import { UpstreamError } from '../core/errors';
import type { AlipayClient, AlipayRefundResult, AlipayTrade } from './alipay.client';
import type { WechatPayClient, WechatRefund, WechatTransaction } from './wechat-pay.client';

/** What a provider says about a trade, in our terms. */
export type ProviderTrade =
  | { state: 'PENDING' }
  | { state: 'CLOSED' }
  | { state: 'PAID'; paidAmount: number; providerTradeNo: string | null; paidAt: Date }
  /** Paid and then refunded at the provider: never credited by us. */
  | { state: 'REFUNDED' };

export interface NewTrade {
  outTradeNo: string;
  amount: number;
  subject: string;
  expiresAt: Date;
  scene: PaymentScene;
  /** MOBILE_WEB (WeChat H5): the payer's IP as this server saw it. */
  payerIp?: string;
  /** MINI_PROGRAM: the payer's openid of the app the provider pays with. */
  openid?: string;
}

/** What the provider made for the payer to pay with, by scene. */
export interface MadeTrade {
  codeUrl?: string;
  payUrl?: string;
  h5Url?: string;
  prepayId?: string;
}

export interface NewRefund {
  outTradeNo: string;
  outRefundNo: string;
  /** Fen: this refund, and what the order was paid. */
  amount: number;
  total: number;
  reason: string;
}

/** What a provider says about a refund. NOT_FOUND: it never got the request (safe to send again with the same number). */
export type ProviderRefund =
  | { state: 'PENDING' }
  | { state: 'NOT_FOUND' }
  | { state: 'SUCCESS'; providerRefundId: string | null; amount?: number }
  | { state: 'FAILED' }
  | { state: 'CLOSED' };

/** One payment method behind the order service: create, look up and close trades. */
export interface PaymentProvider {
  readonly method: PaymentMethod;
  /** The scenes this provider can pay in, as configured. */
  readonly scenes: readonly PaymentScene[];
  create(trade: NewTrade): Promise<MadeTrade>;
  /** Sends a refund; the same outRefundNo again is the same refund at the provider. */
  refund(refund: NewRefund): Promise<ProviderRefund>;
  queryRefund(refund: NewRefund): Promise<ProviderRefund>;
  /** The provider's view of a trade; PENDING when it has not heard of it yet. */
  query(outTradeNo: string): Promise<ProviderTrade>;
  close(outTradeNo: string): Promise<void>;
}

/**
 * WeChat Pay trade states. REFUND means paid and then refunded: only a query answers it, and
 * only for an order we have not settled (settled ones are not queried), so it was refunded
 * before we ever saw it paid and is not credited.
 */
export function wechatTrade(t: WechatTransaction): ProviderTrade {
  switch (t.trade_state) {
    case 'REFUND':
      return { state: 'REFUNDED' };
    case 'SUCCESS':
      return {
        state: 'PAID',
        paidAmount: t.amount?.total ?? -1,
        providerTradeNo: t.transaction_id ?? null,
        paidAt: t.success_time && !Number.isNaN(Date.parse(t.success_time)) ? new Date(t.success_time) : new Date(),
      };
    case 'NOTPAY':
    case 'USERPAYING':
      return { state: 'PENDING' };
    default:
      return { state: 'CLOSED' };
  }
}

export function wechatRefund(r: WechatRefund): ProviderRefund {
  switch (r.status) {
    case 'SUCCESS':
      return { state: 'SUCCESS', providerRefundId: r.refund_id ?? null, ...(r.amount?.refund !== undefined ? { amount: r.amount.refund } : {}) };
    case 'PROCESSING':
      return { state: 'PENDING' };
    case 'CLOSED':
      return { state: 'CLOSED' };
    default:
      // ABNORMAL: the money could not reach the payer's account; the operator settles it in the merchant platform.
      return { state: 'FAILED' };
  }
}

const alipayRefund = (r: AlipayRefundResult): ProviderRefund => (r.done ? { state: 'SUCCESS', providerRefundId: r.tradeNo ?? null } : { state: 'NOT_FOUND' });

export function alipayTrade(t: AlipayTrade): ProviderTrade {
  switch (t.status) {
    case 'TRADE_SUCCESS':
    case 'TRADE_FINISHED':
      return { state: 'PAID', paidAmount: t.totalAmountFen, providerTradeNo: t.tradeNo ?? null, paidAt: t.paidAt ?? new Date() };
    case 'WAIT_BUYER_PAY':
      return { state: 'PENDING' };
    default:
      return { state: 'CLOSED' };
  }
}

export class WechatPayProvider implements PaymentProvider {
  readonly method = 'WECHAT' as const;
  readonly scenes: readonly PaymentScene[];

  constructor(
    readonly client: WechatPayClient,
    readonly ids: { mchId: string; appId: string },
    options: { h5Enabled?: boolean } = {},
  ) {
    // H5 is a product the merchant applies for separately; without it WeChat refuses every H5 order.
    this.scenes = options.h5Enabled ? ['DESKTOP_WEB', 'MOBILE_WEB', 'MINI_PROGRAM'] : ['DESKTOP_WEB', 'MINI_PROGRAM'];
  }

  async create(trade: NewTrade): Promise<MadeTrade> {
    const common = { outTradeNo: trade.outTradeNo, description: trade.subject, amountFen: trade.amount, expiresAt: trade.expiresAt };
    if (trade.scene === 'MINI_PROGRAM') {
      if (!trade.openid) throw new RangeError('a JSAPI order needs the payer openid');
      return this.client.createJsapiOrder({ ...common, openid: trade.openid });
    }
    if (trade.scene === 'MOBILE_WEB') {
      if (!trade.payerIp) throw new RangeError("an H5 order needs the payer's IP");
      return this.client.createH5Order({ ...common, payerIp: trade.payerIp });
    }
    return this.client.createNativeOrder(common);
  }

  async refund(r: NewRefund): Promise<ProviderRefund> {
    return wechatRefund(await this.client.createRefund({ outTradeNo: r.outTradeNo, outRefundNo: r.outRefundNo, reason: r.reason, refundFen: r.amount, totalFen: r.total }));
  }

  async queryRefund(r: NewRefund): Promise<ProviderRefund> {
    const found = await this.client.queryRefund(r.outRefundNo);
    return found ? wechatRefund(found) : { state: 'NOT_FOUND' };
  }

  async query(outTradeNo: string): Promise<ProviderTrade> {
    const t = await this.client.queryOrder(outTradeNo);
    if (!t) return { state: 'PENDING' };
    if (t.mchid !== this.ids.mchId || t.appid !== this.ids.appId) throw new UpstreamError('WeChat Pay answered for another merchant or app', { reason: 'WECHATPAY_BAD_ANSWER' });
    return wechatTrade(t);
  }

  close(outTradeNo: string): Promise<void> {
    return this.client.closeOrder(outTradeNo);
  }
}

export class AlipayProvider implements PaymentProvider {
  readonly method = 'ALIPAY' as const;
  /** Alipay's mini-program payments need an Alipay mini-program, which this server has none of. */
  readonly scenes: readonly PaymentScene[] = ['DESKTOP_WEB', 'MOBILE_WEB'];

  constructor(
    readonly client: AlipayClient,
    readonly appId: string,
    /** When set, notifications must name this seller. */
    readonly sellerId?: string,
  ) {}

  async create(trade: NewTrade): Promise<MadeTrade> {
    const input = { outTradeNo: trade.outTradeNo, subject: trade.subject, amountFen: trade.amount, expiresAt: trade.expiresAt };
    return { payUrl: trade.scene === 'MOBILE_WEB' ? this.client.wapPayUrl(input) : this.client.pagePayUrl(input) };
  }

  async refund(r: NewRefund): Promise<ProviderRefund> {
    return alipayRefund(await this.client.refund({ outTradeNo: r.outTradeNo, outRequestNo: r.outRefundNo, amountFen: r.amount, reason: r.reason }));
  }

  async queryRefund(r: NewRefund): Promise<ProviderRefund> {
    return alipayRefund(await this.client.queryRefund(r.outTradeNo, r.outRefundNo));
  }

  async query(outTradeNo: string): Promise<ProviderTrade> {
    const t = await this.client.queryTrade(outTradeNo);
    // ACQ.TRADE_NOT_EXIST: nobody has opened the pay page yet.
    return t ? alipayTrade(t) : { state: 'PENDING' };
  }

  close(outTradeNo: string): Promise<void> {
    return this.client.closeTrade(outTradeNo);
  }
}

/** The configured methods; an absent one answers PAYMENT_METHOD_NOT_CONFIGURED. */
export interface PaymentProviders {
  WECHAT?: WechatPayProvider;
  ALIPAY?: AlipayProvider;
  /** Mini-program virtual payment (src/payments/virtual-pay.ts). */
  WECHAT_VIRTUAL?: PaymentProvider;
}

import type { PaymentMethod } from '../db/entities/payment-order.entity';
import { UpstreamError } from '../core/errors';
import type { AlipayClient, AlipayTrade } from './alipay.client';
import type { WechatPayClient, WechatTransaction } from './wechat-pay.client';

/** What a provider says about a trade, in our terms. */
export type ProviderTrade =
  | { state: 'PENDING' }
  | { state: 'CLOSED' }
  | { state: 'PAID'; paidAmount: number; providerTradeNo: string | null; paidAt: Date };

export interface NewTrade {
  outTradeNo: string;
  amount: number;
  subject: string;
  expiresAt: Date;
}

/** One payment method behind the order service: create, look up and close trades. */
export interface PaymentProvider {
  readonly method: PaymentMethod;
  create(trade: NewTrade): Promise<{ codeUrl?: string; payUrl?: string }>;
  /** The provider's view of a trade; PENDING when it has not heard of it yet. */
  query(outTradeNo: string): Promise<ProviderTrade>;
  close(outTradeNo: string): Promise<void>;
}

/** WeChat Pay trade states: REFUND means it was paid (and later refunded), so it still counts as paid. */
export function wechatTrade(t: WechatTransaction): ProviderTrade {
  switch (t.trade_state) {
    case 'SUCCESS':
    case 'REFUND':
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

  constructor(
    readonly client: WechatPayClient,
    readonly ids: { mchId: string; appId: string },
  ) {}

  async create(trade: NewTrade) {
    const { codeUrl } = await this.client.createNativeOrder({ outTradeNo: trade.outTradeNo, description: trade.subject, amountFen: trade.amount, expiresAt: trade.expiresAt });
    return { codeUrl };
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

  constructor(
    readonly client: AlipayClient,
    readonly appId: string,
  ) {}

  async create(trade: NewTrade) {
    return { payUrl: this.client.pagePayUrl({ outTradeNo: trade.outTradeNo, subject: trade.subject, amountFen: trade.amount, expiresAt: trade.expiresAt }) };
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
}

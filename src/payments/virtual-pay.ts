import type { EntityManager, MikroORM } from '@mikro-orm/core';
import type { DataCipher } from '../core/data-cipher';
import { BadRequestError } from '../core/errors';
import type { Logger } from '../core/logger';
import type { Viewer } from '../core/viewer';
import { PaymentOrder, type PaymentScene } from '../db/entities/payment-order.entity';
import { User } from '../db/entities/user.entity';
import type { MadeTrade, PaymentProvider, ProviderRefund, ProviderTrade } from './providers';
import { miniProgramOpenid } from './scenes';
import type { SettleOutcome, Settlement } from './settlement';
import type { XpayClient, XpayOrder } from './virtual-pay.client';
import { signDataString, userSignature, virtualPaySig } from './virtual-pay.signing';
import type { VirtualProduct } from './virtual-products';
import { findOrCreateOrder } from './order-records';

/**
 * The mini-program's virtual payment (WeChat requires it for virtual goods such as AI
 * credits): an order is stored here and signed for `wx.requestVirtualPayment`; WeChat
 * reports the payment by the message push `xpay_goods_deliver_notify`, and the reconciler
 * asks `query_order` about orders whose push was lost. Both end in Settlement.apply, which
 * credits the product's credits exactly once.
 */
export interface VirtualPayConfig {
  appId: string;
  offerId: string;
  appKey: string;
  env: 0 | 1;
  products: VirtualProduct[];
}

const ORDER_ID = /^[A-Za-z0-9_-]{1,64}$/;
/** goods: one product per order, WeChat shows and delivers it by productId. */
export const VIRTUAL_PAY_MODE = 'short_series_goods';

export interface VirtualPayOrder {
  order: PaymentOrder;
  mode: string;
  signData: string;
  paySig: string;
  signature: string;
}

/** xpay states -> ours. 2-4 were paid (awaiting or past delivery: we deliver by crediting); 5 and 8 refunded. */
export function xpayTrade(o: XpayOrder): ProviderTrade {
  switch (o.status) {
    case 2:
    case 3:
    case 4:
      return { state: 'PAID', paidAmount: o.order_fee ?? -1, providerTradeNo: o.wx_order_id ?? null, paidAt: o.paid_time ? new Date(o.paid_time * 1000) : new Date() };
    case 5:
    case 8:
      return { state: 'REFUNDED' };
    case 6:
      return { state: 'CLOSED' };
    default:
      return { state: 'PENDING' };
  }
}

/** The reconciler's view: query_order needs the payer's openid, read from the order's user. */
export class WechatVirtualProvider implements PaymentProvider {
  readonly method = 'WECHAT_VIRTUAL' as const;
  readonly scenes: readonly PaymentScene[] = ['MINI_PROGRAM'];

  constructor(
    private readonly orm: MikroORM,
    readonly client: XpayClient,
  ) {}

  /** Nothing to make with WeChat: the client places the order with the signed signData. */
  async create(): Promise<MadeTrade> {
    return {};
  }

  async query(outTradeNo: string): Promise<ProviderTrade> {
    const order = await this.orm.em.fork().findOne(PaymentOrder, { outTradeNo, method: 'WECHAT_VIRTUAL' }, { populate: ['user'] });
    if (!order) return { state: 'PENDING' };
    const found = await this.client.queryOrder(order.user.openid, outTradeNo);
    return found ? xpayTrade(found) : { state: 'PENDING' };
  }

  /** No close call exists; an unpaid order simply stays unpaid (and is FAILED here after its expiry). */
  async close(): Promise<void> {}

  /** Virtual payment refunds go through WeChat's refund_order, which this server does not call yet: operators refund in the console. */
  async refund(): Promise<ProviderRefund> {
    throw new BadRequestError('Virtual payment orders are refunded in the mini-program console', { reason: 'PAYMENT_METHOD_NOT_CONFIGURED' });
  }

  async queryRefund(): Promise<ProviderRefund> {
    return { state: 'NOT_FOUND' };
  }
}

/** A user's virtual payment orders (per request). */
export class VirtualPayService {
  constructor(
    private readonly em: EntityManager,
    private readonly config: VirtualPayConfig | undefined,
    private readonly cipher: DataCipher | undefined,
    private readonly orderTtlMs: number,
  ) {}

  products(): VirtualProduct[] {
    return this.config?.products ?? [];
  }

  /** Idempotent per orderId, like the other orders; signData and signatures are made afresh on every ask. */
  async create(viewer: Viewer, input: { productId: string; orderId: string }): Promise<VirtualPayOrder> {
    const config = this.config;
    if (!config) throw new BadRequestError('WeChat virtual payment is not configured on this server', { field: 'paymentMethod', reason: 'PAYMENT_METHOD_NOT_CONFIGURED' });
    if (!ORDER_ID.test(input.orderId)) throw new BadRequestError('orderId is 1-64 of A-Z a-z 0-9 _ -', { field: 'orderId', reason: 'INVALID_ORDER_ID' });
    const product = config.products.find((p) => p.id === input.productId);
    if (!product) throw new BadRequestError('Unknown productId', { field: 'productId', reason: 'UNKNOWN_PRODUCT' });
    const user = await this.em.findOneOrFail(User, viewer.userId, { populate: ['sessionKeyEnc'] });
    miniProgramOpenid(user, config.appId);
    const sessionKey = user.sessionKeyEnc && this.cipher ? this.cipher.decrypt(user.sessionKeyEnc) : null;
    if (!sessionKey) throw new BadRequestError('Log in again with wx.login in the mini-program', { reason: 'SESSION_KEY_REQUIRED' });

    const order = await findOrCreateOrder(this.em, viewer.userId, input.orderId, { method: 'WECHAT_VIRTUAL', amount: product.price, credits: product.credits, productId: product.id, scene: 'MINI_PROGRAM' }, this.orderTtlMs);
    if (order.method !== 'WECHAT_VIRTUAL' || order.productId !== product.id || order.amount !== product.price) {
      throw new BadRequestError('This orderId was used for a different product or payment method', { field: 'orderId', reason: 'ORDER_ID_CONFLICT' });
    }
    const signData = signDataString({ offerId: config.offerId, buyQuantity: 1, env: config.env, currencyType: 'CNY', productId: product.id, goodsPrice: product.price, outTradeNo: order.outTradeNo, attach: order.clientOrderId });
    return { order, mode: VIRTUAL_PAY_MODE, signData, paySig: virtualPaySig(config.appKey, signData), signature: userSignature(sessionKey, signData) };
  }
}

/** `xpay_goods_deliver_notify`, the fields used here (WeChat's names). */
interface GoodsDeliverPush {
  Event?: unknown;
  OpenId?: unknown;
  OutTradeNo?: unknown;
  Env?: unknown;
  WeChatPayInfo?: { MchOrderNo?: unknown; TransactionId?: unknown; PaidTime?: unknown };
  GoodsInfo?: { ProductId?: unknown; Quantity?: unknown; OrigPrice?: unknown; ActualPrice?: unknown };
}

export type PushOutcome = SettleOutcome | 'IGNORED' | 'UNKNOWN_ORDER' | 'MISMATCH';

/** Applies a decrypted, verified push: delivery of a paid order credits it (once). */
export class VirtualPayDelivery {
  constructor(
    private readonly orm: MikroORM,
    private readonly settlement: Settlement,
    private readonly config: VirtualPayConfig,
    private readonly logger: Logger,
  ) {}

  async handle(push: Record<string, unknown>): Promise<PushOutcome> {
    if (push.Event !== 'xpay_goods_deliver_notify') return 'IGNORED';
    const p = push as GoodsDeliverPush;
    if (typeof p.OutTradeNo !== 'string') return 'UNKNOWN_ORDER';
    const order = await this.orm.em.fork().findOne(PaymentOrder, { outTradeNo: p.OutTradeNo, method: 'WECHAT_VIRTUAL' }, { populate: ['user'] });
    if (!order) return 'UNKNOWN_ORDER';
    const goods = p.GoodsInfo ?? {};
    const quantity = typeof goods.Quantity === 'number' ? goods.Quantity : 1;
    const price = typeof goods.OrigPrice === 'number' ? goods.OrigPrice : -1;
    // A push for another environment, user or product is not this order's payment.
    if (p.Env !== undefined && Number(p.Env) !== this.config.env || p.OpenId !== undefined && p.OpenId !== order.user.openid || goods.ProductId !== undefined && goods.ProductId !== order.productId) {
      this.logger.error({ component: 'payments', orderId: order.id }, 'a virtual payment push does not match its order; not credited');
      return 'MISMATCH';
    }
    const pay = p.WeChatPayInfo ?? {};
    const paidAt = typeof pay.PaidTime === 'number' ? new Date(pay.PaidTime * 1000) : new Date();
    const tradeNo = typeof pay.TransactionId === 'string' ? pay.TransactionId : null;
    // The goods' price times quantity is what the order is for; coupons WeChat applies lower ActualPrice without changing what was sold.
    return this.settlement.apply(order, { state: 'PAID', paidAmount: price * quantity, providerTradeNo: tradeNo, paidAt });
  }
}

import type { MikroORM } from '@mikro-orm/core';
import type { Redis } from 'ioredis';
import { MemoryTokenStore, RedisTokenStore, WechatAccessTokens } from '../moderation/wechat-token';
import { XpayClient } from './virtual-pay.client';
import { VirtualPayDelivery, type VirtualPayConfig, WechatVirtualProvider } from './virtual-pay';
import type { Logger } from '../core/logger';
import type { AppConfig } from '../config';
import type { Throttle } from '../limits/throttle';
import { AlipayClient } from './alipay.client';
import { PaymentNotifications } from './notifications';
import type { PaymentPubSub } from './payment.service';
import { BillReconciliation } from './reconciliation';
import { AlipayProvider, type PaymentProviders, WechatPayProvider } from './providers';
import { Refunds } from './refunds';
import { type CheckIntervals, type PaymentEvents, Settlement } from './settlement';
import { WechatPayClient } from './wechat-pay.client';

/** The long-lived payment parts, shared by every request. */
export interface Payments {
  settlement: Settlement;
  refunds: Refunds;
  notifications: PaymentNotifications;
  pubsub: PaymentPubSub;
  /** Mini-program virtual payment's deliveries (the message push); absent when not configured. */
  virtualDelivery?: VirtualPayDelivery;
  /** The daily comparison with WeChat Pay's and Alipay's trade bills. */
  reconciliation: BillReconciliation;
}

/** Providers for the methods whose credentials are set; the others answer PAYMENT_METHOD_NOT_CONFIGURED. */
export function paymentProviders(config: AppConfig, timeoutMs: number): PaymentProviders {
  const providers: PaymentProviders = {};
  if (config.wechatPay) {
    providers.WECHAT = new WechatPayProvider(new WechatPayClient(config.wechatPay, { timeoutMs }), { mchId: config.wechatPay.mchId, appId: config.wechatPay.appId }, { h5Enabled: config.wechatPay.h5Enabled });
  }
  if (config.alipay) {
    providers.ALIPAY = new AlipayProvider(new AlipayClient(config.alipay, { timeoutMs }), config.alipay.appId, config.alipay.sellerId);
  }
  return providers;
}

/**
 * Virtual payment's provider (the reconciler's query_order), with the mini-program's access
 * token from the same client (and, with Redis, the same shared key) content security uses.
 */
export function virtualPayProviders(config: AppConfig, base: { orm: MikroORM; logger: Logger; redis?: Redis; timeoutMs: number }): PaymentProviders {
  const login = config.wechat.login;
  if (!config.virtualPay || !login) return {};
  const tokens = new WechatAccessTokens({
    ...login,
    apiBase: config.wechat.apiBase,
    timeoutMs: config.wechat.timeoutMs,
    marginMs: config.timings.moderation.wechatTokenMarginMs,
    store: base.redis ? new RedisTokenStore(base.redis, config.redisPrefix, login.appId) : new MemoryTokenStore(),
    logger: base.logger,
  });
  const client = new XpayClient({ apiBase: config.wechat.apiBase, appKey: config.virtualPay.appKey, env: config.virtualPay.env, timeoutMs: base.timeoutMs }, tokens);
  return { WECHAT_VIRTUAL: new WechatVirtualProvider(base.orm, client) };
}

export function createPayments(opts: { orm: MikroORM; logger: Logger; providers: PaymentProviders; throttle: Throttle; pubsub: PaymentPubSub; checkIntervalMs: CheckIntervals; refundRepeatWindowMs: number; virtualPay?: VirtualPayConfig }): Payments {
  const { pubsub } = opts;
  const events: PaymentEvents = { publish: (topic, event) => pubsub.publish('payment', topic, event) };
  const settlement = new Settlement(opts.orm, opts.logger, opts.providers, events, opts.throttle, opts.checkIntervalMs);
  const refunds = new Refunds(opts.orm, opts.logger, opts.providers, events, opts.refundRepeatWindowMs);
  const virtualDelivery = opts.virtualPay ? new VirtualPayDelivery(opts.orm, settlement, opts.virtualPay, opts.logger) : undefined;
  const reconciliation = new BillReconciliation(opts.orm, opts.logger, opts.providers);
  return { settlement, refunds, notifications: new PaymentNotifications(opts.orm, opts.logger, settlement, refunds), pubsub, virtualDelivery, reconciliation };
}

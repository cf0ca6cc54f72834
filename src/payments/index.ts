import type { MikroORM } from '@mikro-orm/core';
import type { Logger } from '../core/logger';
import type { AppConfig } from '../config';
import type { Throttle } from '../limits/throttle';
import { AlipayClient } from './alipay.client';
import { PaymentNotifications } from './notifications';
import type { PaymentPubSub } from './payment.service';
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

export function createPayments(opts: { orm: MikroORM; logger: Logger; providers: PaymentProviders; throttle: Throttle; pubsub: PaymentPubSub; checkIntervalMs: CheckIntervals; refundRepeatWindowMs: number }): Payments {
  const { pubsub } = opts;
  const events: PaymentEvents = { publish: (topic, event) => pubsub.publish('payment', topic, event) };
  const settlement = new Settlement(opts.orm, opts.logger, opts.providers, events, opts.throttle, opts.checkIntervalMs);
  const refunds = new Refunds(opts.orm, opts.logger, opts.providers, events, opts.refundRepeatWindowMs);
  return { settlement, refunds, notifications: new PaymentNotifications(opts.orm, opts.logger, settlement, refunds), pubsub };
}

import type { MikroORM } from '@mikro-orm/core';
import type { Logger } from '../core/logger';
import { PaymentOrder, type PaymentMethod } from '../db/entities/payment-order.entity';
import { alipayTrade, wechatTrade } from './providers';
import type { Settlement } from './settlement';
import { WechatPayNotificationError } from './wechat-pay.client';

/** WeChat Pay's reply rules: 204 when handled; 4xx/5xx with {code: "FAIL"} makes it retry later. */
export type WechatNotifyReply = { status: 204 } | { status: 400 | 401 | 404 | 500; body: { code: 'FAIL'; message: string } };

const fail = (status: 400 | 401 | 404 | 500, message: string): WechatNotifyReply => ({ status, body: { code: 'FAIL', message } });

/**
 * Provider callbacks. Nothing in a notification is believed before its signature verifies,
 * and then only if it names our merchant/app, one of our orders of that method, and the
 * order's exact amount; only then does it reach the settlement path.
 */
export class PaymentNotifications {
  constructor(
    private readonly orm: MikroORM,
    private readonly logger: Logger,
    private readonly settlement: Settlement,
  ) {}

  async wechat(headers: Record<string, string | string[] | undefined>, rawBody: Buffer): Promise<WechatNotifyReply> {
    const provider = this.settlement.providers.WECHAT;
    if (!provider) return fail(404, 'WeChat Pay is not configured');
    let notification;
    try {
      notification = provider.client.verifyNotification(headers, rawBody);
    } catch (err) {
      if (!(err instanceof WechatPayNotificationError)) throw err;
      this.logger.warn({ component: 'payments', provider: 'wechat', reason: err.message }, 'notification refused');
      return fail(err.kind === 'signature' ? 401 : 400, err.kind === 'signature' ? 'signature verification failed' : 'notification content refused');
    }
    const { transaction, eventType } = notification;
    // Refund and other events are acknowledged; this server only acts on payments.
    if (!eventType.startsWith('TRANSACTION.')) return { status: 204 };
    if (transaction.mchid !== provider.ids.mchId || transaction.appid !== provider.ids.appId) {
      return this.refuse('wechat', transaction.out_trade_no, 'merchant or app id is not ours', () => fail(400, 'merchant or app id mismatch'));
    }
    const order = await this.findOrder('WECHAT', transaction.out_trade_no);
    if (!order) return this.refuse('wechat', transaction.out_trade_no, 'unknown order', () => fail(400, 'unknown order'));
    try {
      const outcome = await this.settlement.apply(order, wechatTrade(transaction));
      if (outcome === 'AMOUNT_MISMATCH') return fail(400, 'amount mismatch');
      return { status: 204 };
    } catch (err) {
      this.logger.error({ component: 'payments', provider: 'wechat', orderId: order.id, err }, 'settling a notification failed');
      return fail(500, 'temporarily unable to process');
    }
  }

  /** Alipay wants the text `success` when handled (also for duplicates and closed trades), else `fail`. */
  async alipay(form: Record<string, string>): Promise<'success' | 'fail'> {
    const provider = this.settlement.providers.ALIPAY;
    if (!provider) return 'fail';
    const notification = provider.client.verifyNotification(form);
    if (!notification) return this.refuse('alipay', form.out_trade_no, 'signature verification failed', () => 'fail' as const);
    if (notification.appId !== provider.appId) return this.refuse('alipay', notification.outTradeNo, 'app id is not ours', () => 'fail' as const);
    const order = await this.findOrder('ALIPAY', notification.outTradeNo);
    if (!order) return this.refuse('alipay', notification.outTradeNo, 'unknown order', () => 'fail' as const);
    try {
      const outcome = await this.settlement.apply(order, alipayTrade(notification));
      return outcome === 'AMOUNT_MISMATCH' ? 'fail' : 'success';
    } catch (err) {
      this.logger.error({ component: 'payments', provider: 'alipay', orderId: order.id, err }, 'settling a notification failed');
      return 'fail';
    }
  }

  private findOrder(method: PaymentMethod, outTradeNo: unknown): Promise<PaymentOrder | null> {
    if (typeof outTradeNo !== 'string' || !/^[A-Za-z0-9]{1,32}$/.test(outTradeNo)) return Promise.resolve(null);
    return this.orm.em.fork().findOne(PaymentOrder, { outTradeNo, method });
  }

  private refuse<T>(provider: string, outTradeNo: unknown, reason: string, reply: () => T): T {
    this.logger.warn({ component: 'payments', provider, outTradeNo: typeof outTradeNo === 'string' ? outTradeNo.slice(0, 64) : undefined, reason }, 'notification refused');
    return reply();
  }
}

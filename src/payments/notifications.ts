import type { MikroORM } from '@mikro-orm/core';
import type { Logger } from '../core/logger';
import { PaymentOrder, type PaymentMethod } from '../db/entities/payment-order.entity';
import type { AlipayNotification } from './alipay.client';
import { alipayTrade, wechatRefund, wechatTrade } from './providers';
import type { Refunds } from './refunds';
import type { Settlement } from './settlement';
import { type WechatEvent, WechatPayNotificationError, type WechatRefund } from './wechat-pay.client';

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
    private readonly refunds: Refunds,
  ) {}

  async wechat(headers: Record<string, string | string[] | undefined>, rawBody: Buffer): Promise<WechatNotifyReply> {
    const provider = this.settlement.providers.WECHAT;
    if (!provider) return fail(404, 'WeChat Pay is not configured');
    let notification: WechatEvent;
    try {
      // Verified with the WeChat Pay public key or, while merchants move to it, the platform certificate (by Wechatpay-Serial).
      notification = provider.client.verifyEvent(headers, rawBody);
    } catch (err) {
      if (!(err instanceof WechatPayNotificationError)) throw err;
      this.logger.warn({ component: 'payments', provider: 'wechat', reason: err.message }, 'notification refused');
      return fail(err.kind === 'signature' ? 401 : 400, err.kind === 'signature' ? 'signature verification failed' : 'notification content refused');
    }
    if (notification.refund) return this.wechatRefund(notification.refund, provider.ids.mchId);
    const { transaction, eventType } = notification;
    // Other events are acknowledged; this server acts on payments and refunds.
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
    // Genuinely signed is not enough: it must be about our app (app_id, or auth_app_id when an
    // app acts for us) and, when configured, our seller; else another merchant's payment would credit here.
    if (notification.appId !== provider.appId && notification.authAppId !== provider.appId) return this.refuse('alipay', notification.outTradeNo, 'app id is not ours', () => 'fail' as const);
    if (provider.sellerId && notification.sellerId !== provider.sellerId) return this.refuse('alipay', notification.outTradeNo, 'seller id is not ours', () => 'fail' as const);
    if (notification.outBizNo && (await this.alipayRefund(notification))) return 'success';
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

  /** REFUND.SUCCESS / ABNORMAL / CLOSED for one of our refunds: applied as the refund's outcome. */
  private async wechatRefund(refund: WechatRefund, mchId: string): Promise<WechatNotifyReply> {
    if (refund.mchid !== mchId) return this.refuse('wechat', refund.out_trade_no, 'refund for another merchant', () => fail(400, 'merchant id mismatch'));
    const ours = await this.refunds.findByNumber(refund.out_refund_no);
    if (!ours || ours.order.method !== 'WECHAT' || ours.order.outTradeNo !== refund.out_trade_no) {
      // A refund made in the merchant platform is not ours to account for; acknowledged so WeChat stops.
      this.logger.warn({ component: 'payments', provider: 'wechat', outRefundNo: refund.out_refund_no.slice(0, 64) }, 'refund notification for a refund not made here; ignored');
      return { status: 204 };
    }
    try {
      await this.refunds.apply(ours.id, wechatRefund(refund));
      return { status: 204 };
    } catch (err) {
      this.logger.error({ component: 'payments', provider: 'wechat', refundId: ours.id, err }, 'applying a refund notification failed');
      return fail(500, 'temporarily unable to process');
    }
  }

  /**
   * Alipay notifies a refund as a trade_status_sync carrying out_biz_no (our out_request_no).
   * Its outcome is then asked of Alipay (the query says exactly whether that refund was made).
   * False when it is not one of our refunds: the caller handles it as a trade notification.
   */
  private async alipayRefund(notification: AlipayNotification): Promise<boolean> {
    const ours = await this.refunds.findByNumber(notification.outBizNo ?? '');
    if (!ours || ours.order.method !== 'ALIPAY' || ours.order.outTradeNo !== notification.outTradeNo) return false;
    await this.refunds.refresh(ours);
    return true;
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

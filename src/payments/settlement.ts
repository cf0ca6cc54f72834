import { type MikroORM, UniqueConstraintViolationException } from '@mikro-orm/core';
import type { Logger } from '../core/logger';
import { PaymentOrder, type PaymentState } from '../db/entities/payment-order.entity';
import { AppError } from '../core/errors';
import type { Throttle } from '../limits/throttle';
import { changeBalance } from './ledger';
import type { PaymentProviders, ProviderTrade } from './providers';

/** What `paymentStatus` and `paymentStatusChanged` carry; amounts in fen. */
export interface PaymentStatusEvent {
  userId: string;
  orderId: string;
  status: PaymentState;
  paidAmount: number;
  paidAt: Date | null;
}

/** Where status changes go (in-process or Redis pub/sub); keyed by `statusTopic`. */
export interface PaymentEvents {
  publish(topic: string, event: PaymentStatusEvent): void;
}

/** Only the owner's subscription hears about an order: the topic includes the user. */
export const statusTopic = (userId: string, orderId: string) => `${userId}:${orderId}`;

export type SettleOutcome = 'SETTLED' | 'CLOSED' | 'UNCHANGED' | 'AMOUNT_MISMATCH';

/**
 * How often one order may be checked with its provider: by paymentStatus polls, and
 * separately by the reconcilers of all instances (which run every minute).
 */
export interface CheckIntervals {
  poll: number;
  reconcile: number;
}

/** The states of an order that was paid (a refund does not undo having been paid). */
export const PAID_STATES: readonly PaymentState[] = ['SUCCESS', 'PARTIALLY_REFUNDED', 'REFUNDED'];
export const wasPaid = (status: PaymentState) => PAID_STATES.includes(status);

export const eventOf = (order: PaymentOrder, userId = order.user.id): PaymentStatusEvent => ({
  userId,
  orderId: order.clientOrderId,
  status: order.status,
  paidAmount: wasPaid(order.status) ? (order.paidAmount ?? order.amount) : 0,
  paidAt: wasPaid(order.status) ? (order.paidAt ?? null) : null,
});

/**
 * The one path by which an order changes state, whoever learned of it (notification, status
 * poll, reconciler). Paying is exactly once: a conditional update moves the order to SUCCESS
 * only if it was not already, and the credit and its ledger row (unique per order) commit in
 * the same transaction, so duplicate or concurrent reports find nothing left to do.
 */
export class Settlement {
  constructor(
    private readonly orm: MikroORM,
    private readonly logger: Logger,
    readonly providers: PaymentProviders,
    private readonly events: PaymentEvents,
    private readonly throttle: Throttle,
    private readonly checkIntervalMs: CheckIntervals,
  ) {}

  /** Applies what the provider reported about `order` (the caller checked it is that order). */
  async apply(order: PaymentOrder, trade: ProviderTrade): Promise<SettleOutcome> {
    if (trade.state === 'PENDING') return 'UNCHANGED';
    const em = this.orm.em.fork();
    const now = new Date();
    if (trade.state === 'REFUNDED') {
      // Paid and refunded before we ever saw it paid: nothing to credit; closed like an unpaid order.
      this.logger.error({ component: 'payments', orderId: order.id, method: order.method }, 'the provider says this order was paid and refunded, but it was never settled here; not credited');
    }
    if (trade.state === 'CLOSED' || trade.state === 'REFUNDED') {
      const changed = await em.nativeUpdate(PaymentOrder, { id: order.id, status: 'PENDING' }, { status: 'FAILED', updatedAt: now });
      if (!changed) return 'UNCHANGED';
      this.publish(order, { status: 'FAILED', paidAmount: 0, paidAt: null });
      return 'CLOSED';
    }
    if (trade.paidAmount !== order.amount) {
      // Never credit what was not paid, nor settle a payment for a different sum: someone must look.
      this.logger.error({ component: 'payments', orderId: order.id, method: order.method, expected: order.amount, reported: trade.paidAmount }, 'paid amount differs from the order; not credited');
      return 'AMOUNT_MISMATCH';
    }
    const userId = order.user.id;
    let settled: boolean;
    try {
      settled = await em.transactional(async (tx) => {
        // Not only PENDING: a payment confirmed after the order was given up must still be credited.
        const changed = await tx.nativeUpdate(
          PaymentOrder,
          { id: order.id, status: { $nin: [...PAID_STATES] } },
          { status: 'SUCCESS', paidAmount: trade.paidAmount, paidAt: trade.paidAt, providerTradeNo: trade.providerTradeNo, updatedAt: now },
        );
        if (!changed) return false;
        // A virtual payment order credits its product's credits; a top-up what was paid.
        await changeBalance(tx, { userId, kind: 'TOPUP', reference: order.id, amount: order.credits ?? order.amount });
        return true;
      });
    } catch (err) {
      if (err instanceof UniqueConstraintViolationException) return 'UNCHANGED';
      throw err;
    }
    if (!settled) return 'UNCHANGED';
    this.logger.info({ component: 'payments', orderId: order.id, method: order.method, amount: order.amount }, 'order paid; balance credited');
    this.publish(order, { status: 'SUCCESS', paidAmount: trade.paidAmount, paidAt: trade.paidAt });
    return 'SETTLED';
  }

  /**
   * Asks the provider about a pending order (at most once per interval per order, across
   * instances with Redis) and applies the answer. Provider failures are logged, not thrown:
   * the stored state is still a true answer.
   */
  async refresh(order: PaymentOrder, by: keyof CheckIntervals = 'poll'): Promise<SettleOutcome> {
    const provider = this.providers[order.method];
    if (!provider || wasPaid(order.status)) return 'UNCHANGED';
    if (!(await this.throttle.tryAcquire(`pay-${by}:${order.id}`, this.checkIntervalMs[by]))) return 'UNCHANGED';
    try {
      return await this.apply(order, await provider.query(order.outTradeNo));
    } catch (err) {
      this.logger.warn({ component: 'payments', orderId: order.id, err: err instanceof AppError ? { code: err.code, message: err.message } : err }, 'checking an order with its provider failed');
      return 'UNCHANGED';
    }
  }

  /**
   * An order past its expiry: paid after all -> settled; else closed with the provider (so it
   * can no longer be paid) and then FAILED. If closing fails the order stays PENDING for the
   * next round.
   */
  async expire(order: PaymentOrder): Promise<SettleOutcome> {
    const provider = this.providers[order.method];
    if (!provider) return 'UNCHANGED';
    try {
      const trade = await provider.query(order.outTradeNo);
      if (trade.state !== 'PENDING') return await this.apply(order, trade);
      await provider.close(order.outTradeNo);
      // Paid in the moment between the query and the close? The provider refuses to close a
      // paid trade (an error above); a last look catches the rest.
      const last = await provider.query(order.outTradeNo);
      return await this.apply(order, last.state === 'PAID' ? last : { state: 'CLOSED' });
    } catch (err) {
      if (err instanceof AppError && err.details?.reason === 'WECHATPAY_ORDER_NOT_EXIST') return this.apply(order, { state: 'CLOSED' });
      this.logger.warn({ component: 'payments', orderId: order.id, err: err instanceof AppError ? { code: err.code, message: err.message } : err }, 'closing an expired order failed; will retry');
      return 'UNCHANGED';
    }
  }

  /** One reconciler round: every pending order is checked, expired ones are closed. */
  async reconcile(limit = 500): Promise<Record<SettleOutcome, number>> {
    const counts: Record<SettleOutcome, number> = { SETTLED: 0, CLOSED: 0, UNCHANGED: 0, AMOUNT_MISMATCH: 0 };
    if (!Object.keys(this.providers).length) return counts;
    const pending = await this.orm.em.fork().find(PaymentOrder, { status: 'PENDING' }, { orderBy: { createdAt: 'asc' }, limit });
    const now = Date.now();
    for (const order of pending) {
      const outcome = order.expiresAt.getTime() <= now ? await this.expire(order) : await this.refresh(order, 'reconcile');
      counts[outcome]++;
    }
    return counts;
  }

  private publish(order: PaymentOrder, change: Pick<PaymentStatusEvent, 'status' | 'paidAmount' | 'paidAt'>): void {
    const userId = order.user.id;
    this.events.publish(statusTopic(userId, order.clientOrderId), { userId, orderId: order.clientOrderId, ...change });
  }
}

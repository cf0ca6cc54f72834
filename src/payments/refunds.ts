import { randomBytes } from 'node:crypto';
import type { EntityManager, MikroORM } from '@mikro-orm/core';
import { recordAdminAction } from '../admin/audit';
import { requireAdmin } from '../admin/admin-access';
import { AppError, BadRequestError, NotFoundError } from '../core/errors';
import { isId } from '../core/ids';
import type { Logger } from '../core/logger';
import type { Viewer } from '../core/viewer';
import { PaymentOrder } from '../db/entities/payment-order.entity';
import { PaymentRefund, type RefundStatus } from '../db/entities/payment-refund.entity';
import { User } from '../db/entities/user.entity';
import { changeBalance } from './ledger';
import { yuanNumberToFen } from './money';
import type { NewRefund, PaymentProviders, ProviderRefund } from './providers';
import { type PaymentEvents, statusTopic } from './settlement';

export interface RefundRequest {
  /** The order's id (Order.id). */
  orderId: string;
  /** Yuan; omitted (or null) means all that is left to refund. */
  amount?: number | null;
  reason: string;
  /** Refund even when the user's balance no longer covers it. */
  force?: boolean;
}

export type RefundOutcome = 'SUCCEEDED' | 'ENDED' | 'UNCHANGED';

const PAID_STATES = ['SUCCESS', 'PARTIALLY_REFUNDED'] as const;
const MAX_REASON = 80;

/**
 * Provider answers that say "not now" rather than "no": the refund stays PENDING and the
 * reconciler asks again (the same out_refund_no, so never a second refund).
 */
const TRANSIENT = new Set([
  'WECHATPAY_UNAVAILABLE',
  'WECHATPAY_HTTP_ERROR',
  'WECHATPAY_SYSTEM_ERROR',
  'WECHATPAY_BAD_SIGNATURE',
  'WECHATPAY_BAD_ANSWER',
  'WECHATPAY_FREQUENCY_LIMITED',
  'WECHATPAY_NOT_ENOUGH',
  'ALIPAY_UNAVAILABLE',
  'ALIPAY_HTTP_ERROR',
  'ALIPAY_BAD_ANSWER',
  'ALIPAY_ACQ.SYSTEM_ERROR',
]);
const isTransient = (err: unknown) => err instanceof AppError && err.code === 'UPSTREAM_ERROR' && TRANSIENT.has(err.details?.reason ?? '');

/**
 * Refunds of paid orders, asked for by admins. The path of one refund:
 * 1. `request`, in one transaction holding the order's row lock: checks, the reservation
 *    (`refund_reserved`, so refunds can never add up to more than was paid), the refund row
 *    with a fresh out_refund_no, the audit row. An identical request (same order, amount and
 *    reason) within the repeat window is answered with the first, so a double click or a
 *    retried call never refunds twice.
 * 2. The provider is asked once, with that number; retries (the reconciler) reuse it.
 * 3. `apply`: whoever learns the outcome (the answer, a notification, a query) moves the
 *    refund from PENDING by a conditional update, and on success takes the money back from
 *    the balance through the ledger in the same transaction, never below zero (a shortfall
 *    is recorded on the refund). A failed or closed refund releases its reservation.
 */
export class Refunds {
  constructor(
    private readonly orm: MikroORM,
    private readonly logger: Logger,
    private readonly providers: PaymentProviders,
    private readonly events: PaymentEvents,
    private readonly repeatWindowMs: number,
  ) {}

  /** Refunds `amount` (or what is left) of a paid order; answers the order as it then stands. */
  async request(admin: Viewer, input: RefundRequest): Promise<PaymentOrder> {
    const em = this.orm.em.fork();
    await requireAdmin(em, admin);
    const reason = input.reason.trim();
    if (!reason || Array.from(reason).length > MAX_REASON) throw new BadRequestError(`reason is 1 to ${MAX_REASON} characters`, { field: 'reason', reason: 'INVALID_REASON' });
    let requested: number | null = null;
    if (input.amount !== undefined && input.amount !== null) {
      requested = yuanNumberToFen(input.amount);
      if (requested === null || requested < 1) throw new BadRequestError('amount is in yuan, at least 0.01, with at most two decimals', { field: 'amount', reason: 'INVALID_AMOUNT' });
    }
    if (!isId(input.orderId)) throw new NotFoundError('Order');
    const found = await em.findOne(PaymentOrder, input.orderId);
    if (!found) throw new NotFoundError('Order');
    if (!this.providers[found.method]) throw new BadRequestError(`${found.method === 'WECHAT' ? 'WeChat Pay' : 'Alipay'} is not configured on this server`, { reason: 'PAYMENT_METHOD_NOT_CONFIGURED' });
    // Virtual payment credits differ from the price and are refunded through WeChat's own console, not here.
    if (found.method === 'WECHAT_VIRTUAL') throw new BadRequestError('Virtual payment orders are refunded in the mini-program console', { reason: 'PAYMENT_METHOD_NOT_CONFIGURED' });

    const made = await em.transactional(async (tx) => {
      const now = new Date();
      // The row lock: requests for one order take their turn from here to the commit.
      if (!(await tx.nativeUpdate(PaymentOrder, { id: found.id }, { updatedAt: now }))) throw new NotFoundError('Order');
      const order = await tx.findOneOrFail(PaymentOrder, found.id, { refresh: true });
      if (!(PAID_STATES as readonly string[]).includes(order.status) && order.status !== 'REFUNDED') {
        throw new BadRequestError('Only a paid order can be refunded', { reason: 'ORDER_NOT_PAID' });
      }
      const repeat = await tx.findOne(
        PaymentRefund,
        { order: order.id, reason, requestedAmount: requested, status: { $in: ['PENDING', 'SUCCESS'] }, createdAt: { $gte: new Date(now.getTime() - this.repeatWindowMs) } },
        { orderBy: { createdAt: 'desc' } },
      );
      if (repeat) return null;

      const paid = order.paidAmount ?? order.amount;
      const left = paid - order.refundReserved;
      const amount = requested ?? left;
      if (amount < 1 || amount > left) {
        throw new BadRequestError(`At most ${left} fen of this order is left to refund`, { field: 'amount', reason: 'REFUND_EXCEEDS_PAID' });
      }
      const balance = await this.lockedBalance(tx, order.user.id);
      if (!input.force && balance < amount) {
        throw new BadRequestError(`The user's balance (${balance} fen) no longer covers this refund (${amount} fen)`, { reason: 'BALANCE_ALREADY_SPENT' });
      }
      await tx.nativeUpdate(PaymentOrder, { id: order.id }, { refundReserved: order.refundReserved + amount });
      const refund = tx.create(PaymentRefund, {
        order: order.id,
        // 128 random bits: unguessable, within both providers' 64 characters.
        outRefundNo: randomBytes(16).toString('hex'),
        amount,
        requestedAmount: requested,
        reason,
        forced: input.force ?? false,
        admin: tx.getReference(User, admin.userId),
        createdAt: now,
        updatedAt: now,
      });
      await tx.flush();
      await recordAdminAction(tx, {
        adminId: admin.userId,
        action: 'REFUND_ORDER',
        targetType: 'payment_order',
        targetId: order.id,
        details: { refundId: refund.id, amount, reason, force: input.force ?? false, balance },
      });
      return refund;
    });

    if (made) await this.send(made, found);
    return em.fork().findOneOrFail(PaymentOrder, found.id);
  }

  /** Asks the provider about a pending refund; one it never got is sent again, with the same number. */
  async refresh(refund: PaymentRefund): Promise<RefundOutcome> {
    const order = await this.orm.em.fork().findOneOrFail(PaymentOrder, refund.order.id);
    const provider = this.providers[order.method];
    if (!provider || refund.status !== 'PENDING') return 'UNCHANGED';
    try {
      const answer = await provider.queryRefund(this.newRefund(refund, order));
      if (answer.state === 'NOT_FOUND') return await this.send(refund, order, false);
      return await this.apply(refund.id, answer);
    } catch (err) {
      this.logger.warn({ component: 'payments', refundId: refund.id, err: err instanceof AppError ? { code: err.code, message: err.message } : err }, 'checking a refund with its provider failed');
      return 'UNCHANGED';
    }
  }

  /** One reconciler round over pending refunds. */
  async reconcile(limit = 200): Promise<Record<RefundOutcome, number>> {
    const counts: Record<RefundOutcome, number> = { SUCCEEDED: 0, ENDED: 0, UNCHANGED: 0 };
    const pending = await this.orm.em.fork().find(PaymentRefund, { status: 'PENDING' }, { orderBy: { createdAt: 'asc' }, limit });
    for (const refund of pending) counts[await this.refresh(refund)]++;
    return counts;
  }

  /** The refund with this number, for notifications; null when it is not ours. */
  findByNumber(outRefundNo: string): Promise<PaymentRefund | null> {
    if (!/^[0-9a-f]{32}$/.test(outRefundNo)) return Promise.resolve(null);
    return this.orm.em.fork().findOne(PaymentRefund, { outRefundNo }, { populate: ['order'] });
  }

  /**
   * Applies what the provider said about a refund (the caller checked it is that refund).
   * SUCCESS with an amount other than the refund's is not believed.
   */
  async apply(refundId: string, answer: ProviderRefund): Promise<RefundOutcome> {
    if (answer.state === 'PENDING' || answer.state === 'NOT_FOUND') return 'UNCHANGED';
    const em = this.orm.em.fork();
    const refund = await em.findOneOrFail(PaymentRefund, refundId);
    if (answer.state === 'SUCCESS' && answer.amount !== undefined && answer.amount !== refund.amount) {
      this.logger.error({ component: 'payments', refundId, expected: refund.amount, reported: answer.amount }, 'refunded amount differs from the refund; not applied');
      return 'UNCHANGED';
    }
    const orderId = refund.order.id;
    const done = await em.transactional(async (tx) => {
      const now = new Date();
      const status: RefundStatus = answer.state === 'SUCCESS' ? 'SUCCESS' : answer.state;
      const changed = await tx.nativeUpdate(PaymentRefund, { id: refundId, status: 'PENDING' }, { status, updatedAt: now, ...(answer.state === 'SUCCESS' && answer.providerRefundId ? { providerRefundId: answer.providerRefundId } : {}) });
      if (!changed) return null;
      // The order's row lock first (as `request` takes it), then its fresh values.
      await tx.nativeUpdate(PaymentOrder, { id: orderId }, { updatedAt: now });
      const order = await tx.findOneOrFail(PaymentOrder, orderId, { refresh: true });
      if (answer.state !== 'SUCCESS') {
        await tx.nativeUpdate(PaymentOrder, { id: orderId }, { refundReserved: order.refundReserved - refund.amount });
        return order;
      }
      const balance = await this.lockedBalance(tx, order.user.id);
      const takeBack = Math.max(0, Math.min(refund.amount, balance));
      if (takeBack > 0) await changeBalance(tx, { userId: order.user.id, kind: 'REFUND', reference: refundId, amount: -takeBack });
      if (takeBack < refund.amount) await tx.nativeUpdate(PaymentRefund, { id: refundId }, { shortfall: refund.amount - takeBack });
      const refunded = order.refundedAmount + refund.amount;
      const paid = order.paidAmount ?? order.amount;
      await tx.nativeUpdate(PaymentOrder, { id: orderId }, { refundedAmount: refunded, status: refunded >= paid ? 'REFUNDED' : 'PARTIALLY_REFUNDED' });
      return tx.findOneOrFail(PaymentOrder, orderId, { refresh: true });
    });
    if (!done) return 'UNCHANGED';
    if (answer.state !== 'SUCCESS') {
      this.logger.error({ component: 'payments', refundId, orderId, state: answer.state }, 'refund failed or was closed by the provider; the operator has to look');
      return 'ENDED';
    }
    this.logger.info({ component: 'payments', refundId, orderId, amount: refund.amount }, 'refund succeeded; balance taken back');
    const userId = done.user.id;
    this.events.publish(statusTopic(userId, done.clientOrderId), { userId, orderId: done.clientOrderId, status: done.status, paidAmount: done.paidAmount ?? done.amount, paidAt: done.paidAt ?? null });
    return 'SUCCEEDED';
  }

  /**
   * Sends the refund to its provider and applies the answer. A refusal ends the refund
   * (FAILED, reservation released) and is thrown; a transient failure leaves it PENDING for
   * the reconciler and is thrown when an admin is waiting (`rethrow`).
   */
  private async send(refund: PaymentRefund, order: PaymentOrder, rethrow = true): Promise<RefundOutcome> {
    const provider = this.providers[order.method]!;
    let answer: ProviderRefund;
    try {
      answer = await provider.refund(this.newRefund(refund, order));
    } catch (err) {
      if (!isTransient(err)) {
        await this.apply(refund.id, { state: 'FAILED' });
      } else {
        this.logger.warn({ component: 'payments', refundId: refund.id, err: err instanceof AppError ? { code: err.code, message: err.message } : err }, 'refund not confirmed yet; will retry');
      }
      if (rethrow) throw err;
      return 'UNCHANGED';
    }
    return this.apply(refund.id, answer);
  }

  private newRefund(refund: PaymentRefund, order: PaymentOrder): NewRefund {
    return { outTradeNo: order.outTradeNo, outRefundNo: refund.outRefundNo, amount: refund.amount, total: order.paidAmount ?? order.amount, reason: refund.reason };
  }

  /** The user's balance, with the row locked until the transaction ends (a no-op update takes the lock on MySQL; SQLite runs one writer at a time). */
  private async lockedBalance(tx: EntityManager, userId: string): Promise<number> {
    const connection = tx.getConnection();
    const table = tx.getMetadata().get(User.name).tableName;
    await connection.execute(`update ${table} set balance = balance where id = ?`, [userId], 'run', tx.getTransactionContext());
    const [row] = await connection.execute<Array<{ balance: number }>>(`select balance from ${table} where id = ?`, [userId], 'all', tx.getTransactionContext());
    return Number(row?.balance ?? 0);
  }
}

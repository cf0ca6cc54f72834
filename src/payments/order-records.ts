import { randomBytes } from 'node:crypto';
import { type EntityManager, UniqueConstraintViolationException } from '@mikro-orm/core';
import { PaymentOrder } from '../db/entities/payment-order.entity';
import { User } from '../db/entities/user.entity';

/** What a new order is made of, besides its owner, its client orderId and its times. */
export type NewOrderFields = Pick<PaymentOrder, 'method' | 'amount' | 'scene'> & Partial<Pick<PaymentOrder, 'credits' | 'productId'>>;

/** The user's order with this client orderId, or null. */
export function findOwnOrder(em: EntityManager, userId: string, clientOrderId: string): Promise<PaymentOrder | null> {
  return em.findOne(PaymentOrder, { user: userId, clientOrderId });
}

/**
 * The user's order with this client orderId, created from `fields` when there is none. The
 * same orderId created by a concurrent request is read back instead; the caller then checks
 * that it asked for the same thing (ORDER_ID_CONFLICT otherwise).
 */
export async function findOrCreateOrder(em: EntityManager, userId: string, clientOrderId: string, fields: NewOrderFields, ttlMs: number): Promise<PaymentOrder> {
  const found = await findOwnOrder(em, userId, clientOrderId);
  if (found) return found;
  const now = new Date();
  const order = em.create(PaymentOrder, {
    user: em.getReference(User, userId),
    clientOrderId,
    ...fields,
    // 128 random bits as 32 hex characters: WeChat Pay's longest out_trade_no.
    outTradeNo: randomBytes(16).toString('hex'),
    // One clock reading for both, so an order lives exactly ttlMs.
    createdAt: now,
    expiresAt: new Date(now.getTime() + ttlMs),
  });
  try {
    await em.flush();
    return order;
  } catch (err) {
    if (!(err instanceof UniqueConstraintViolationException)) throw err;
    em.clear();
    const raced = await findOwnOrder(em, userId, clientOrderId);
    if (!raced) throw err;
    return raced;
  }
}

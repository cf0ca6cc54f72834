import type { EntityManager } from '@mikro-orm/core';
import type { PubSub } from '../core/pubsub';
import type { Viewer } from '../core/viewer';
import { PaymentOrder, type PaymentMethod, type PaymentScene } from '../db/entities/payment-order.entity';
import { User } from '../db/entities/user.entity';
import { BadRequestError, NotFoundError } from '../core/errors';
import { checkPageSize, decodeCursor, encodeCursor } from '../core/cursor';
import { fenToYuanString, yuanNumberToFen } from './money';
import type { NewTrade, PaymentProvider } from './providers';
import { checkScene, miniProgramOpenid } from './scenes';
import { eventOf, type PaymentStatusEvent, type Settlement, statusTopic } from './settlement';
import type { WechatJsapiPayParams } from './wechat-jsapi';
import { findOrCreateOrder, findOwnOrder } from './order-records';

/** An order is 0.01 to 50,000 yuan. */
const MIN_AMOUNT = 1;
const MAX_AMOUNT = 5_000_000;
const ORDER_ID = /^[A-Za-z0-9_-]{1,64}$/;
export const ORDER_TTL_MS = 2 * 60 * 60 * 1000;

export type PaymentPubSub = PubSub<{ payment: [topic: string, event: PaymentStatusEvent] }>;

export interface CreateOrderInput {
  amount: number;
  orderId: string;
  /** Where the payer pays; DESKTOP_WEB when omitted. */
  scene?: PaymentScene | null;
}

/** The order, and for MINI_PROGRAM the `wx.requestPayment` parameters, signed afresh. */
export interface CreatedOrder {
  order: PaymentOrder;
  jsapiParams: WechatJsapiPayParams | null;
}

/** A user's top-up orders: create (idempotent per orderId), status, list, follow. */
export class PaymentService {
  constructor(
    private readonly em: EntityManager,
    private readonly settlement: Settlement,
    private readonly pubsub: PaymentPubSub,
    /** How long an unpaid order lives. */
    private readonly orderTtlMs: number,
  ) {}

  /**
   * The same (orderId, amount, method) returns the existing order; the same orderId with a
   * different amount or method is BAD_REQUEST. A provider failure leaves the order pending
   * without a code/URL, and repeating the request tries the provider again.
   */
  async create(viewer: Viewer, method: PaymentMethod, input: CreateOrderInput, payer: { ip: string }): Promise<CreatedOrder> {
    const provider: PaymentProvider | undefined = this.settlement.providers[method];
    if (!provider) throw new BadRequestError(`${method === 'WECHAT' ? 'WeChat Pay' : 'Alipay'} is not configured on this server`, { field: 'paymentMethod', reason: 'PAYMENT_METHOD_NOT_CONFIGURED' });
    const amount = yuanNumberToFen(input.amount);
    if (amount === null || amount < MIN_AMOUNT || amount > MAX_AMOUNT) {
      throw new BadRequestError('amount is in yuan, 0.01 to 50000, with at most two decimals', { field: 'amount', reason: 'INVALID_AMOUNT' });
    }
    if (!ORDER_ID.test(input.orderId)) throw new BadRequestError('orderId is 1-64 of A-Z a-z 0-9 _ -', { field: 'orderId', reason: 'INVALID_ORDER_ID' });
    const scene = input.scene ?? 'DESKTOP_WEB';
    // Checked before anything is stored, so a refused scene leaves no order behind.
    checkScene(provider, scene);
    const wechat = method === 'WECHAT' ? this.settlement.providers.WECHAT : undefined;
    let openid: string | undefined;
    if (scene === 'MINI_PROGRAM' && wechat) {
      const user = await this.em.findOneOrFail(User, viewer.userId);
      openid = miniProgramOpenid(user, wechat.ids.appId);
    }

    const order = await findOrCreateOrder(this.em, viewer.userId, input.orderId, { method, amount, scene }, this.orderTtlMs);
    if (order.amount !== amount || order.method !== method || order.scene !== scene) {
      throw new BadRequestError('This orderId was used for a different amount, payment method or scene', { field: 'orderId', reason: 'ORDER_ID_CONFLICT' });
    }
    // A WeChat code or prepay id is made once (a network call); an Alipay URL is signed afresh
    // each time (locally), so a returned order never carries a stale request timestamp; a
    // WeChat H5 URL lives 5 minutes, so it is asked for again.
    const made = order.codeUrl || order.payUrl || order.prepayId || order.h5Url;
    if (order.status === 'PENDING' && (!made || method === 'ALIPAY' || scene === 'MOBILE_WEB')) {
      const trade: NewTrade = { outTradeNo: order.outTradeNo, amount, subject: `账户余额充值 ${fenToYuanString(amount)} 元`, expiresAt: order.expiresAt, scene, payerIp: payer.ip, openid };
      const fresh = await provider.create(trade);
      order.codeUrl = fresh.codeUrl ?? null;
      order.payUrl = fresh.payUrl ?? null;
      order.h5Url = fresh.h5Url ?? null;
      order.prepayId = fresh.prepayId ?? null;
      order.updatedAt = new Date();
      await this.em.flush();
    }
    // Signed on every ask: the mini-program may call wx.requestPayment again after a cancel.
    const jsapiParams = order.status === 'PENDING' && order.prepayId && wechat ? wechat.client.jsapiParams(order.prepayId) : null;
    return { order, jsapiParams };
  }

  /** From the database; a pending order is also checked with its provider (throttled). NOT_FOUND for others' orders. */
  async status(viewer: Viewer, orderId: string, method: PaymentMethod): Promise<PaymentStatusEvent> {
    let order = await this.findOwn(viewer, orderId);
    if (!order || order.method !== method) throw new NotFoundError('Order');
    if (order.status === 'PENDING') {
      const outcome = await this.settlement.refresh(order);
      if (outcome !== 'UNCHANGED') order = await this.em.fork().findOneOrFail(PaymentOrder, order.id);
    }
    return eventOf(order, viewer.userId);
  }

  /** Newest first. */
  async list(viewer: Viewer, first: number, after?: string | null): Promise<{ nodes: PaymentOrder[]; hasNextPage: boolean; endCursor: string | null; totalCount: () => Promise<number> }> {
    checkPageSize(first);
    const where: Record<string, unknown> = { user: viewer.userId };
    if (after) {
      const c = decodeCursor<{ t: number; id: string }>(after, { t: 'number', id: 'string' });
      const at = new Date(c.t);
      where.$or = [{ createdAt: { $lt: at } }, { createdAt: at, id: { $lt: c.id } }];
    }
    const rows = await this.em.find(PaymentOrder, where, { orderBy: { createdAt: 'desc', id: 'desc' }, limit: first + 1 });
    const nodes = rows.slice(0, first);
    const last = nodes.at(-1);
    return {
      nodes,
      hasNextPage: rows.length > first,
      endCursor: last ? encodeCursor({ t: last.createdAt.getTime(), id: last.id }) : null,
      totalCount: () => this.em.count(PaymentOrder, { user: viewer.userId }),
    };
  }

  /**
   * One of the viewer's orders: its status now, then every change. The first event tells a
   * client that subscribed late (or reconnected) where the order stands, so it never waits for
   * a payment that already happened. NOT_FOUND for others' orders.
   */
  async follow(viewer: Viewer, orderId: string): Promise<AsyncIterable<PaymentStatusEvent>> {
    const order = await this.findOwn(viewer, orderId);
    if (!order) throw new NotFoundError('Order');
    const changes = this.pubsub.subscribe('payment', statusTopic(viewer.userId, orderId));
    return (async function* () {
      yield eventOf(order, viewer.userId);
      yield* changes;
    })();
  }

  private findOwn(viewer: Viewer, orderId: string): Promise<PaymentOrder | null> {
    if (!ORDER_ID.test(orderId)) return Promise.resolve(null);
    return findOwnOrder(this.em, viewer.userId, orderId);
  }
}

import { Entity, Index, ManyToOne, OptionalProps, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { newId } from '../../core/ids';
import { User } from './user.entity';

/** WECHAT_VIRTUAL: the mini-program's virtual payment (wx.requestVirtualPayment), required by WeChat for virtual goods. */
export type PaymentMethod = 'WECHAT' | 'ALIPAY' | 'WECHAT_VIRTUAL';
/** PARTIALLY_REFUNDED / REFUNDED: paid, then part or all of it refunded (see PaymentRefund). */
export type PaymentState = 'PENDING' | 'SUCCESS' | 'FAILED' | 'PARTIALLY_REFUNDED' | 'REFUNDED';
/** Where the payer pays: a desktop QR code / page, a phone browser (WeChat H5, Alipay wap), or inside the mini-program (WeChat JSAPI). */
export type PaymentScene = 'DESKTOP_WEB' | 'MOBILE_WEB' | 'MINI_PROGRAM';

/**
 * A top-up order. `clientOrderId` is the app's own id (unique per user, so a retried create
 * returns the same order); `outTradeNo` is what the provider sees, random and unguessable.
 * Amounts are fen. An order is settled (SUCCESS, balance credited) exactly once.
 */
@Entity({ tableName: 'payment_orders' })
@Unique({ properties: ['user', 'clientOrderId'] })
@Index({ properties: ['status', 'expiresAt'] })
@Index({ properties: ['user', 'createdAt'] })
export class PaymentOrder {
  [OptionalProps]?: 'status' | 'scene' | 'refundedAmount' | 'refundReserved' | 'createdAt' | 'updatedAt';

  @PrimaryKey({ type: 'string', length: 26 })
  id: string = newId();

  @ManyToOne(() => User)
  user!: User;

  /** An exact key (binary collation on MySQL): see exact-keys.ts. */
  @Property({ type: 'string', length: 64 })
  clientOrderId!: string;

  @Property({ type: 'string', length: 16 })
  method!: PaymentMethod;

  /** What the user pays, in fen. */
  @Property({ type: 'integer' })
  amount!: number;

  /** An exact key (binary collation on MySQL): see exact-keys.ts. */
  @Unique()
  @Property({ type: 'string', length: 32 })
  outTradeNo!: string;

  @Property({ type: 'string', length: 20 })
  status: PaymentState = 'PENDING';

  @Property({ type: 'string', length: 16, default: 'DESKTOP_WEB' })
  scene: PaymentScene = 'DESKTOP_WEB';

  /** WeChat Pay Native QR content (`weixin://wxpay/bizpayurl?pr=...`). */
  @Property({ type: 'string', length: 256, nullable: true })
  codeUrl?: string | null;

  /** Alipay page-pay URL (signed, a few hundred characters). */
  @Property({ type: 'text', nullable: true })
  payUrl?: string | null;

  /** WeChat H5: the cashier URL a phone browser opens (valid 5 minutes, so fetched again on each ask). */
  @Property({ type: 'text', nullable: true })
  h5Url?: string | null;

  /** WeChat JSAPI (mini-program): the prepay id `wx.requestPayment` parameters are signed over. */
  @Property({ type: 'string', length: 64, nullable: true })
  prepayId?: string | null;

  /** Fen refunded so far (successful refunds). */
  @Property({ type: 'integer', default: 0 })
  refundedAmount: number = 0;

  /**
   * Fen held by refunds that are pending or done. Raised by a conditional update before a
   * refund is sent, so concurrent refunds can never add up to more than was paid.
   */
  @Property({ type: 'integer', default: 0 })
  refundReserved: number = 0;

  /** The provider's transaction id once paid. */
  @Property({ type: 'string', length: 64, nullable: true })
  providerTradeNo?: string | null;

  @Property({ type: 'integer', nullable: true })
  paidAmount?: number | null;

  /** WECHAT_VIRTUAL: the product sold (WeChat's productId) and the fen it credits, which may differ from what it costs; null for top-ups, which credit `amount`. */
  @Property({ type: 'string', length: 64, nullable: true })
  productId?: string | null;

  @Property({ type: 'integer', nullable: true })
  credits?: number | null;

  @Property({ type: 'datetime', length: 3, nullable: true })
  paidAt?: Date | null;

  @Property({ type: 'datetime', length: 3 })
  expiresAt!: Date;

  @Property({ type: 'datetime', length: 3 })
  createdAt: Date = new Date();

  @Property({ type: 'datetime', length: 3 })
  updatedAt: Date = new Date();
}

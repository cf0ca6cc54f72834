import { Field, Float, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import type { PaymentOrder } from '../db/entities/payment-order.entity';
import { fenToYuanNumber } from './money';
import type { PaymentStatusEvent } from './settlement';
import type { WechatJsapiPayParams } from './wechat-jsapi';
import { PageInfo } from '../chats/chat.types';

export enum PaymentMethodValue {
  WECHAT = 'WECHAT',
  ALIPAY = 'ALIPAY',
  WECHAT_VIRTUAL = 'WECHAT_VIRTUAL',
}
registerEnumType(PaymentMethodValue, { name: 'PaymentMethod', description: 'WECHAT_VIRTUAL: WeChat virtual payment in the mini-program (createVirtualPayOrder).' });

export enum PaymentStateValue {
  PENDING = 'PENDING',
  SUCCESS = 'SUCCESS',
  FAILED = 'FAILED',
  PARTIALLY_REFUNDED = 'PARTIALLY_REFUNDED',
  REFUNDED = 'REFUNDED',
}
registerEnumType(PaymentStateValue, { name: 'PaymentState', description: 'FAILED: closed or expired unpaid. PARTIALLY_REFUNDED / REFUNDED: paid, then part or all refunded (refundedAmount).' });

export enum PaymentSceneValue {
  DESKTOP_WEB = 'DESKTOP_WEB',
  MOBILE_WEB = 'MOBILE_WEB',
  MINI_PROGRAM = 'MINI_PROGRAM',
}
registerEnumType(PaymentSceneValue, {
  name: 'PaymentScene',
  description: 'Where the payer pays. DESKTOP_WEB: WeChat Native codeUrl (a QR code) / Alipay page payUrl. MOBILE_WEB: WeChat H5 h5Url / Alipay wap payUrl, opened in a phone browser. MINI_PROGRAM: WeChat JSAPI jsapiParams for wx.requestPayment.',
});

@ObjectType({ description: 'Pass as they are to wx.requestPayment in the mini-program (WeChat Pay API v3, signType RSA).' })
export class WechatJsapiParams {
  @Field()
  appId!: string;

  @Field()
  timeStamp!: string;

  @Field()
  nonceStr!: string;

  @Field({ description: 'prepay_id=...' })
  package!: string;

  @Field()
  signType!: string;

  @Field()
  paySign!: string;
}

@InputType()
export class CreateOrderInput {
  @Field(() => Float, { description: 'Yuan, 0.01 to 50000, at most two decimals.' })
  amount!: number;

  @Field({ description: "The app's own id for the order (1-64 of A-Z a-z 0-9 _ -); sending it again returns the same order." })
  orderId!: string;

  @Field(() => PaymentSceneValue, { nullable: true, defaultValue: PaymentSceneValue.DESKTOP_WEB, description: 'Where the payer pays; SCENE_NOT_SUPPORTED when the method cannot pay there, OPENID_REQUIRED for MINI_PROGRAM without a mini-program login.' })
  scene?: PaymentSceneValue | null;
}

@ObjectType({ description: 'A balance top-up.' })
export class Order {
  @Field(() => ID, { description: "The server's id of the order (refundOrder takes it)." })
  id!: string;

  @Field()
  orderId!: string;

  @Field(() => Float, { description: 'Yuan.' })
  amount!: number;

  @Field(() => PaymentMethodValue)
  paymentMethod!: PaymentMethodValue;

  @Field(() => String, { nullable: true, description: 'WeChat Pay: show as a QR code.' })
  codeUrl!: string | null;

  @Field(() => String, { nullable: true, description: 'Alipay: open with GET in a browser (page pay on DESKTOP_WEB, wap pay on MOBILE_WEB).' })
  payUrl!: string | null;

  @Field(() => PaymentSceneValue)
  scene!: PaymentSceneValue;

  @Field(() => String, { nullable: true, description: "WeChat Pay MOBILE_WEB: open in the phone browser (valid 5 minutes; create again with the same orderId for a new one). WeChat checks it is opened from the payer's IP." })
  h5Url!: string | null;

  @Field(() => WechatJsapiParams, { nullable: true, description: 'WeChat Pay MINI_PROGRAM: the wx.requestPayment parameters (answered by the create mutations while the order is pending).' })
  jsapiParams!: WechatJsapiParams | null;

  @Field(() => Float, { description: 'Yuan refunded so far.' })
  refundedAmount!: number;

  @Field(() => PaymentStateValue)
  status!: PaymentStateValue;

  @Field()
  createdAt!: Date;

  @Field({ description: 'Unpaid orders are closed after this.' })
  expiresAt!: Date;
}

@ObjectType()
export class OrderConnection {
  @Field(() => [Order])
  nodes!: Order[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  @Field(() => Int)
  totalCount!: number;
}

@ObjectType()
export class PaymentStatus {
  @Field()
  orderId!: string;

  @Field(() => PaymentStateValue)
  status!: PaymentStateValue;

  @Field(() => Float, { description: 'Yuan; 0 until paid.' })
  paidAmount!: number;

  @Field(() => Date, { nullable: true })
  paidTime!: Date | null;
}

export const orderView = (o: PaymentOrder, jsapiParams: WechatJsapiPayParams | null = null): Order => ({
  id: o.id,
  orderId: o.clientOrderId,
  amount: fenToYuanNumber(o.amount),
  paymentMethod: o.method as PaymentMethodValue,
  codeUrl: o.codeUrl ?? null,
  payUrl: o.payUrl ?? null,
  scene: o.scene as PaymentSceneValue,
  h5Url: o.h5Url ?? null,
  jsapiParams,
  refundedAmount: fenToYuanNumber(o.refundedAmount),
  status: o.status as PaymentStateValue,
  createdAt: o.createdAt,
  expiresAt: o.expiresAt,
});

export const paymentStatusView = (e: PaymentStatusEvent): PaymentStatus => ({
  orderId: e.orderId,
  status: e.status as PaymentStateValue,
  paidAmount: fenToYuanNumber(e.paidAmount),
  // Over Redis pub/sub dates arrive as strings.
  paidTime: e.paidAt ? new Date(e.paidAt) : null,
});

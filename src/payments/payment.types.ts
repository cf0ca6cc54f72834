import { Field, Float, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import type { PaymentOrder } from '../db/entities/payment-order.entity';
import { fenToYuanNumber } from './money';
import type { PaymentStatusEvent } from './settlement';
import { PageInfo } from '../chats/chat.types';

export enum PaymentMethodValue {
  WECHAT = 'WECHAT',
  ALIPAY = 'ALIPAY',
}
registerEnumType(PaymentMethodValue, { name: 'PaymentMethod' });

export enum PaymentStateValue {
  PENDING = 'PENDING',
  SUCCESS = 'SUCCESS',
  FAILED = 'FAILED',
}
registerEnumType(PaymentStateValue, { name: 'PaymentState', description: 'FAILED: closed or expired unpaid.' });

@InputType()
export class CreateOrderInput {
  @Field(() => Float, { description: 'Yuan, 0.01 to 50000, at most two decimals.' })
  amount!: number;

  @Field({ description: "The app's own id for the order (1-64 of A-Z a-z 0-9 _ -); sending it again returns the same order." })
  orderId!: string;
}

@ObjectType({ description: 'A balance top-up.' })
export class Order {
  @Field()
  orderId!: string;

  @Field(() => Float, { description: 'Yuan.' })
  amount!: number;

  @Field(() => PaymentMethodValue)
  paymentMethod!: PaymentMethodValue;

  @Field(() => String, { nullable: true, description: 'WeChat Pay: show as a QR code.' })
  codeUrl!: string | null;

  @Field(() => String, { nullable: true, description: 'Alipay: open with GET in a browser.' })
  payUrl!: string | null;

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

export const orderView = (o: PaymentOrder): Order => ({
  orderId: o.clientOrderId,
  amount: fenToYuanNumber(o.amount),
  paymentMethod: o.method as PaymentMethodValue,
  codeUrl: o.codeUrl ?? null,
  payUrl: o.payUrl ?? null,
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

import { Field, Float, ID, InputType, Int, ObjectType } from 'type-graphql';
import { fenToYuanNumber } from './money';
import { Order, orderView } from './payment.types';
import type { VirtualPayOrder as MadeOrder } from './virtual-pay';
import type { VirtualProduct as Product } from './virtual-products';

@ObjectType({ description: 'What the mini-program sells through WeChat virtual payment (WECHAT_XPAY_PRODUCTS).' })
export class VirtualProduct {
  @Field(() => ID, { description: "WeChat's productId, as configured in the mini-program's virtual payment console." })
  id!: string;

  @Field()
  name!: string;

  @Field(() => Float, { description: 'Yuan.' })
  price!: number;

  @Field(() => Int, { description: 'Fen added to the balance when paid.' })
  credits!: number;
}

@ObjectType({ description: 'Pass mode, signData, paySig and signature as they are to wx.requestVirtualPayment.' })
export class VirtualPayOrder {
  @Field(() => Order)
  order!: Order;

  @Field({ description: 'short_series_goods' })
  mode!: string;

  @Field({ description: 'The JSON string WeChat expects; the signatures cover it byte for byte.' })
  signData!: string;

  @Field({ description: 'HMAC-SHA256 with the AppKey over requestVirtualPayment&signData.' })
  paySig!: string;

  @Field({ description: "HMAC-SHA256 with the user's session_key over signData." })
  signature!: string;
}

@InputType()
export class CreateVirtualPayOrderInput {
  @Field(() => ID, { description: 'One of virtualProducts; UNKNOWN_PRODUCT otherwise.' })
  productId!: string;

  @Field({ description: "The app's own id for the order (1-64 of A-Z a-z 0-9 _ -); sending it again returns the same order, signed afresh." })
  orderId!: string;
}

export const virtualProductView = (p: Product): VirtualProduct => ({ id: p.id, name: p.name, price: fenToYuanNumber(p.price), credits: p.credits });

export const virtualPayOrderView = (m: MadeOrder): VirtualPayOrder => ({ order: orderView(m.order), mode: m.mode, signData: m.signData, paySig: m.paySig, signature: m.signature });

import { Arg, Authorized, Ctx, Int, Mutation, Query, Resolver, Root, Subscription, type SubscribeResolverData } from 'type-graphql';
import type { AppContext } from '../context';
import { UnauthenticatedError } from '../core/errors';
import { CreateOrderInput, Order, OrderConnection, orderView, PaymentMethodValue, PaymentStatus, paymentStatusView } from './payment.types';
import type { PaymentStatusEvent } from './settlement';

@Resolver()
export class PaymentResolver {
  @Authorized()
  @Mutation(() => Order, { description: 'A WeChat Pay Native order: show codeUrl as a QR code. REST: POST /v1/pay/wechat' })
  async createWechatPayOrder(@Arg('input') input: CreateOrderInput, @Ctx() ctx: AppContext): Promise<Order> {
    return orderView(await ctx.services.payments.create(ctx.viewer!, 'WECHAT', input));
  }

  @Authorized()
  @Mutation(() => Order, { description: 'An Alipay page-pay order: open payUrl in a browser. REST: POST /v1/pay/alipay' })
  async createAlipayOrder(@Arg('input') input: CreateOrderInput, @Ctx() ctx: AppContext): Promise<Order> {
    return orderView(await ctx.services.payments.create(ctx.viewer!, 'ALIPAY', input));
  }

  @Authorized()
  @Query(() => PaymentStatus, { description: 'An order of yours; a pending one is also checked with its provider. REST: GET /v1/pay/status' })
  async paymentStatus(@Arg('orderId') orderId: string, @Arg('paymentMethod', () => PaymentMethodValue) method: PaymentMethodValue, @Ctx() ctx: AppContext): Promise<PaymentStatus> {
    return paymentStatusView(await ctx.services.payments.status(ctx.viewer!, orderId, method));
  }

  @Authorized()
  @Query(() => OrderConnection, { description: 'Your orders, newest first.' })
  async orders(@Ctx() ctx: AppContext, @Arg('first', () => Int, { nullable: true, defaultValue: 20 }) first: number | null, @Arg('after', () => String, { nullable: true }) after?: string | null): Promise<OrderConnection> {
    // An explicit null means the default, as `Int = 20` promises.
    const page = await ctx.services.payments.list(ctx.viewer!, first ?? 20, after);
    return { nodes: page.nodes.map(orderView), pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.endCursor }, totalCount: await page.totalCount() };
  }

  @Subscription(() => PaymentStatus, {
    description: 'Every status change of one of your orders.',
    subscribe: ({ args, context }: SubscribeResolverData<unknown, { orderId: string }, AppContext>) => {
      if (!context.viewer) throw context.authError ?? new UnauthenticatedError();
      return context.services.payments.follow(context.viewer, args.orderId);
    },
  })
  paymentStatusChanged(@Root() event: PaymentStatusEvent, @Arg('orderId') _orderId: string): PaymentStatus {
    return paymentStatusView(event);
  }
}

import { Arg, Authorized, Ctx, Float, ID, Int, Mutation, Query, Resolver, Root, Subscription, type SubscribeResolverData } from 'type-graphql';
import type { AppContext } from '../context';
import { UnauthenticatedError } from '../core/errors';
import { CreateOrderInput, Order, OrderConnection, orderView, PaymentMethodValue, PaymentStatus, paymentStatusView } from './payment.types';
import type { CreatedOrder } from './payment.service';

const createdView = (c: CreatedOrder) => orderView(c.order, c.jsapiParams);
import type { PaymentStatusEvent } from './settlement';

@Resolver()
export class PaymentResolver {
  @Authorized()
  @Mutation(() => Order, { description: 'A WeChat Pay order: DESKTOP_WEB shows codeUrl as a QR code, MOBILE_WEB opens h5Url, MINI_PROGRAM passes jsapiParams to wx.requestPayment. REST: POST /v1/pay/wechat' })
  async createWechatPayOrder(@Arg('input') input: CreateOrderInput, @Ctx() ctx: AppContext): Promise<Order> {
    return createdView(await ctx.services.payments.create(ctx.viewer!, 'WECHAT', input, { ip: ctx.ip }));
  }

  @Authorized()
  @Mutation(() => Order, { description: 'An Alipay order: open payUrl in a browser (page pay on DESKTOP_WEB, wap pay on MOBILE_WEB). REST: POST /v1/pay/alipay' })
  async createAlipayOrder(@Arg('input') input: CreateOrderInput, @Ctx() ctx: AppContext): Promise<Order> {
    return createdView(await ctx.services.payments.create(ctx.viewer!, 'ALIPAY', input, { ip: ctx.ip }));
  }

  @Authorized('ADMIN')
  @Mutation(() => Order, {
    description:
      'Admins: refunds a paid order, all that is left (amount omitted) or amount yuan, and takes it back from the balance. ' +
      'Refused (BALANCE_ALREADY_SPENT) when the balance no longer covers it, unless force (then the balance goes to zero, never below). ' +
      'The same request again within minutes answers the first refund instead of making another.',
  })
  async refundOrder(
    @Arg('id', () => ID) id: string,
    @Arg('reason') reason: string,
    @Ctx() ctx: AppContext,
    @Arg('amount', () => Float, { nullable: true }) amount?: number | null,
    @Arg('force', () => Boolean, { nullable: true, defaultValue: false }) force?: boolean | null,
  ): Promise<Order> {
    return orderView(await ctx.services.refunds.request(ctx.viewer!, { orderId: id, amount, reason, force: force ?? false }));
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
    return { nodes: page.nodes.map((o) => orderView(o)), pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.endCursor }, totalCount: await page.totalCount() };
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

import { Arg, Authorized, Ctx, Mutation, Query, Resolver } from 'type-graphql';
import type { AppContext } from '../context';
import { CreateVirtualPayOrderInput, VirtualPayOrder, VirtualProduct, virtualPayOrderView, virtualProductView } from './virtual-pay.types';

@Resolver()
export class VirtualPayResolver {
  @Query(() => [VirtualProduct], { description: 'What can be bought with WeChat virtual payment in the mini-program (empty when it is not configured). REST: GET /v1/pay/virtual-products' })
  virtualProducts(@Ctx() ctx: AppContext): VirtualProduct[] {
    return ctx.services.virtualPay.products().map(virtualProductView);
  }

  @Authorized()
  @Mutation(() => VirtualPayOrder, {
    description:
      'A WeChat virtual payment order for the mini-program: pass mode, signData, paySig and signature to wx.requestVirtualPayment. ' +
      'Needs a login through this mini-program (OPENID_REQUIRED) with its session (SESSION_KEY_REQUIRED: log in again with wx.login). REST: POST /v1/pay/wechat-virtual',
  })
  async createVirtualPayOrder(@Arg('input') input: CreateVirtualPayOrderInput, @Ctx() ctx: AppContext): Promise<VirtualPayOrder> {
    return virtualPayOrderView(await ctx.services.virtualPay.create(ctx.viewer!, input));
  }
}

import { Arg, Authorized, Ctx, Mutation, Resolver } from 'type-graphql';
import type { AppContext } from '../context';
import { limitKey } from '../limits/rate-limits';
import { AuthPayload, WechatLoginInput } from './auth.types';

@Resolver()
export class AuthResolver {
  @Mutation(() => AuthPayload, { description: 'Mini-program login with a wx.login() code. Public. REST: POST /v1/auth/wechat-login' })
  async wechatLogin(@Arg('input') input: WechatLoginInput, @Ctx() ctx: AppContext): Promise<AuthPayload> {
    await ctx.services.limits.consume('login', limitKey({ ip: ctx.ip }));
    return ctx.services.auth.login(input);
  }

  @Authorized()
  @Mutation(() => Boolean, { description: 'Revokes the login token this request was made with (an API key is refused). REST: POST /v1/auth/logout' })
  logout(@Ctx() ctx: AppContext): Promise<boolean> {
    return ctx.services.auth.logout(ctx.viewer!);
  }
}

import { Arg, Authorized, Ctx, Mutation, Resolver } from 'type-graphql';
import type { AppContext } from '../context';
import { User } from '../db/entities/user.entity';

@Resolver()
export class RedeemResolver {
  @Authorized()
  @Mutation(() => User, { description: 'Credits a redeem code to your balance, once. Unknown, used and expired codes alike: BAD_REQUEST / INVALID_CODE. At most REDEEM_RATE_LIMIT_PER_MINUTE attempts a minute. REST: POST /v1/user/redeem' })
  redeemCode(@Arg('code') code: string, @Ctx() ctx: AppContext): Promise<User> {
    return ctx.services.redeem.redeem(ctx.viewer!, code);
  }
}

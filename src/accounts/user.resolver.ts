import { Arg, Authorized, Ctx, Mutation, Query, Resolver } from 'type-graphql';
import type { AppContext } from '../context';
import { User, UserSettings } from '../db/entities/user.entity';
import { UpdateSettingsInput } from './auth.types';

@Resolver(() => User)
export class UserResolver {
  @Authorized()
  @Query(() => User, { description: 'The signed-in user. REST: GET /v1/user/info' })
  me(@Ctx() ctx: AppContext): Promise<User> {
    return ctx.services.users.me(ctx.viewer!);
  }

  @Authorized()
  @Mutation(() => Boolean, {
    description:
      'Deletes your account: chats, messages, API keys, ratings and stored speech are erased and every token and key stops working; payment orders and ledger rows stay with an anonymous id. confirm must be "DELETE MY ACCOUNT"; needs a login token. REST: DELETE /v1/user',
  })
  deleteAccount(@Arg('confirm') confirm: string, @Ctx() ctx: AppContext): Promise<boolean> {
    return ctx.services.accountDeletion.deleteAccount(ctx.viewer!, confirm);
  }

  @Authorized()
  @Mutation(() => UserSettings, { description: 'Changes only the fields given. REST: PUT /v1/user/settings' })
  updateSettings(@Arg('input') input: UpdateSettingsInput, @Ctx() ctx: AppContext): Promise<UserSettings> {
    return ctx.services.users.updateSettings(ctx.viewer!, input);
  }
}

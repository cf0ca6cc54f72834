import { Arg, Authorized, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import type { AppContext } from '../context';
import { ApiKey } from '../db/entities/api-key.entity';
import { CreatedApiKey } from './api-key.types';

@Authorized()
@Resolver(() => ApiKey)
export class ApiKeyResolver {
  @Query(() => [ApiKey], { description: "The viewer's live API keys, newest first. Needs a login token, not an API key." })
  apiKeys(@Ctx() ctx: AppContext): Promise<ApiKey[]> {
    return ctx.services.apiKeys.list(ctx.viewer!);
  }

  @Mutation(() => CreatedApiKey, { description: 'A new key for X-API-Key; the secret is shown only here. At most 20 live keys. Needs a login token, not an API key.' })
  createApiKey(@Arg('name') name: string, @Ctx() ctx: AppContext): Promise<CreatedApiKey> {
    return ctx.services.apiKeys.create(ctx.viewer!, name);
  }

  @Mutation(() => Boolean, { description: 'Revokes a key at once. Needs a login token, not an API key.' })
  revokeApiKey(@Arg('id', () => ID) id: string, @Ctx() ctx: AppContext): Promise<boolean> {
    return ctx.services.apiKeys.revoke(ctx.viewer!, id);
  }
}

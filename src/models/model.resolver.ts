import { Ctx, Query, Resolver } from 'type-graphql';
import type { AppContext } from '../context';
import { AiModel } from './model.types';

@Resolver(() => AiModel)
export class ModelResolver {
  @Query(() => [AiModel], { description: 'The model catalog. Public. REST: GET /v1/models' })
  models(@Ctx() ctx: AppContext): readonly AiModel[] {
    return ctx.services.models.list();
  }
}

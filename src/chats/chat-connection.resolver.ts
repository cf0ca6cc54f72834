import { FieldResolver, Int, Resolver, Root } from 'type-graphql';
import { ChatConnection } from './chat.types';

@Resolver(() => ChatConnection)
export class ChatConnectionResolver {
  @FieldResolver(() => Int, { description: 'How many match, in all pages.' })
  totalCount(@Root() page: ChatConnection): Promise<number> {
    return page.totalCount();
  }
}

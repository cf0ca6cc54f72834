import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { AppContext } from '../context';
import { Chat } from '../db/entities/chat.entity';
import { Message, Rating } from '../db/entities/message.entity';
import { ChatConnection, ChatFilter, SaveChatInput } from './chat.types';

/** A page size: `Int = 20`, and an explicit null means the default too (as the API promises). */
const PAGE = { nullable: true, defaultValue: 20 } as const;

@Authorized()
@Resolver(() => Chat)
export class ChatResolver {
  @Query(() => ChatConnection, { description: 'Your chats, newest activity first. REST: GET /v1/chats' })
  chats(
    @Ctx() ctx: AppContext,
    @Arg('first', () => Int, PAGE) first: number | null,
    @Arg('after', () => String, { nullable: true }) after?: string,
    @Arg('filter', () => ChatFilter, { nullable: true }) filter?: ChatFilter,
  ): Promise<ChatConnection> {
    return ctx.services.chats.list(ctx.viewer!, first ?? PAGE.defaultValue, after, filter);
  }

  @Query(() => Chat, { description: 'One of your chats; NOT_FOUND otherwise. REST: GET /v1/chats/:id' })
  chat(@Arg('id', () => ID) id: string, @Ctx() ctx: AppContext): Promise<Chat> {
    return ctx.services.chats.get(ctx.viewer!, id);
  }

  @Query(() => ChatConnection, { description: 'Chats whose title, tags or messages contain the text. REST: GET /v1/chats/search' })
  searchChats(
    @Arg('query') query: string,
    @Ctx() ctx: AppContext,
    @Arg('first', () => Int, PAGE) first: number | null,
    @Arg('after', () => String, { nullable: true }) after?: string,
  ): Promise<ChatConnection> {
    return ctx.services.chats.search(ctx.viewer!, query, first ?? PAGE.defaultValue, after);
  }

  @Mutation(() => Chat, { description: 'Create, or replace one of yours. REST: POST /v1/chats' })
  saveChat(@Arg('input') input: SaveChatInput, @Ctx() ctx: AppContext): Promise<Chat> {
    return ctx.services.chats.save(ctx.viewer!, input);
  }

  @Mutation(() => Int, { description: 'Deletes those of the ids (at most 100) that are your chats; returns how many. REST: DELETE /v1/chats' })
  deleteChats(@Arg('ids', () => [ID]) ids: string[], @Ctx() ctx: AppContext): Promise<number> {
    return ctx.services.chats.delete(ctx.viewer!, ids);
  }

  @Mutation(() => Int, { description: 'Deletes every chat of yours; confirm must be "DELETE ALL CHATS". Returns how many. REST: DELETE /v1/chats/all' })
  deleteAllChats(@Arg('confirm') confirm: string, @Ctx() ctx: AppContext): Promise<number> {
    return ctx.services.chats.deleteAll(ctx.viewer!, confirm);
  }

  @Mutation(() => Message, { description: 'Rates one of your finished AI replies (rating null clears it), with an optional comment. REST: PUT /v1/chat/messages/{id}/rating' })
  rateMessage(
    @Arg('messageId', () => ID) messageId: string,
    @Arg('rating', () => Rating, { nullable: true }) rating: Rating | null,
    @Arg('comment', () => String, { nullable: true }) comment: string | null,
    @Ctx() ctx: AppContext,
  ): Promise<Message> {
    return ctx.services.ratings.rate(ctx.viewer!, messageId, rating ?? null, comment);
  }

  @Mutation(() => Chat)
  starChat(@Arg('id', () => ID) id: string, @Arg('starred') starred: boolean, @Ctx() ctx: AppContext): Promise<Chat> {
    return ctx.services.chats.star(ctx.viewer!, id, starred);
  }

  @FieldResolver(() => [String])
  tags(@Root() chat: Chat, @Ctx() ctx: AppContext): Promise<string[]> {
    return ctx.loaders.chatTags.load(chat.id);
  }

  @FieldResolver(() => [Message], { description: 'The last `last` messages (before the message `before`), oldest first.' })
  messages(
    @Root() chat: Chat,
    @Ctx() ctx: AppContext,
    @Arg('last', () => Int, { nullable: true, defaultValue: 50 }) last: number | null,
    @Arg('before', () => ID, { nullable: true }) before?: string,
  ): Promise<Message[]> {
    return ctx.loaders.chatMessages.load({ chatId: chat.id, last: last ?? 50, before });
  }
}

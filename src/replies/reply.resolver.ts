import { Arg, Authorized, Ctx, ID, Int, Mutation, Resolver, Root, Subscription, type SubscribeResolverData } from 'type-graphql';
import type { AppContext } from '../context';
import { Chat } from '../db/entities/chat.entity';
import { Message } from '../db/entities/message.entity';
import { UnauthenticatedError } from '../core/errors';
import { EditMessageInput, RegenerateReplyInput, ReplyEvent, SendMessageInput, SendMessagePayload } from './reply.types';
import type { ReplyEvent as ReplyEventPayload } from './reply-event';

type SubscribeData<A> = SubscribeResolverData<unknown, A, AppContext>;

function viewerOf(ctx: AppContext) {
  if (!ctx.viewer) throw ctx.authError ?? new UnauthenticatedError();
  return ctx.viewer;
}

@Resolver()
export class ReplyResolver {
  @Authorized()
  @Mutation(() => SendMessagePayload, { description: 'Sends a message to an AI model. REST: POST /v1/chat/message, POST /v1/ai/message' })
  sendMessage(@Arg('input') input: SendMessageInput, @Ctx() ctx: AppContext): Promise<SendMessagePayload> {
    return ctx.services.replies.send(ctx.viewer!, input);
  }

  @Authorized()
  @Mutation(() => SendMessagePayload, { description: 'A new AI reply to the same user message, shown instead of the earlier ones (which stay as versions). REST: POST /v1/chat/messages/{id}/regenerate' })
  regenerateReply(@Arg('input') input: RegenerateReplyInput, @Ctx() ctx: AppContext): Promise<SendMessagePayload> {
    return ctx.services.replies.regenerateReply(ctx.viewer!, input);
  }

  @Authorized()
  @Mutation(() => SendMessagePayload, { description: 'A new version of one of your messages, with a new AI reply to it, shown instead of the old one. REST: POST /v1/chat/messages/{id}/edit' })
  editMessage(@Arg('input') input: EditMessageInput, @Ctx() ctx: AppContext): Promise<SendMessagePayload> {
    return ctx.services.replies.editMessage(ctx.viewer!, input);
  }

  @Authorized()
  @Mutation(() => Chat, { description: "Shows this message's version in its chat (and, below it, the newest versions or those chosen before)." })
  selectMessageVersion(@Arg('messageId', () => ID) messageId: string, @Ctx() ctx: AppContext): Promise<Chat> {
    return ctx.services.replies.selectVersion(ctx.viewer!, messageId);
  }

  @Authorized()
  @Mutation(() => Message, { description: 'Stops a streaming reply, keeping what was generated.' })
  stopGeneration(@Arg('messageId', () => ID) messageId: string, @Ctx() ctx: AppContext): Promise<Message> {
    return ctx.services.replies.stop(ctx.viewer!, messageId);
  }

  @Subscription(() => ReplyEvent, {
    description: 'One reply: what was generated after afterSeq, then live deltas, then done.',
    subscribe: ({ args, context }: SubscribeData<{ messageId: string; afterSeq?: number }>) => context.services.replies.replyEvents(viewerOf(context), args.messageId, args.afterSeq ?? 0),
  })
  replyStream(@Root() event: ReplyEventPayload, @Arg('messageId', () => ID) _messageId: string, @Arg('afterSeq', () => Int, { nullable: true }) _afterSeq?: number): ReplyEventPayload {
    return withReasoning(event);
  }

  @Subscription(() => ReplyEvent, {
    description: 'Every reply event in one chat, for other tabs and devices.',
    subscribe: ({ args, context }: SubscribeData<{ sessionId: string }>) => context.services.replies.chatEvents(viewerOf(context), args.sessionId),
  })
  chatEvents(@Root() event: ReplyEventPayload, @Arg('sessionId', () => ID) _sessionId: string): ReplyEventPayload {
    return withReasoning(event);
  }
}

/** Events from an instance of an older version (during a rolling upgrade) have no reasoningDelta. */
const withReasoning = (event: ReplyEventPayload): ReplyEventPayload => (event.reasoningDelta === undefined ? { ...event, reasoningDelta: '' } : event);

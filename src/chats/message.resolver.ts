import { FieldResolver, ID, Resolver, Root } from 'type-graphql';
import { Message, Role, TokenUsage } from '../db/entities/message.entity';

@Resolver(() => Message)
export class MessageResolver {
  @FieldResolver(() => ID, { nullable: true })
  chatId(@Root() message: Message): string | null {
    return message.chat?.id ?? null;
  }

  @FieldResolver(() => TokenUsage, { nullable: true, description: "The provider's token usage for an assistant reply." })
  usage(@Root() m: Message): TokenUsage | null {
    if (m.totalTokens == null) return null;
    return { promptTokens: m.promptTokens ?? 0, completionTokens: m.completionTokens ?? 0, totalTokens: m.totalTokens, reasoningTokens: m.reasoningTokens ?? null, estimated: m.usageEstimated === true };
  }

  @FieldResolver(() => Boolean, { description: 'True for messages the AI wrote: clients label them "AI生成".' })
  aiGenerated(@Root() m: Message): boolean {
    return m.role === Role.ASSISTANT;
  }
}

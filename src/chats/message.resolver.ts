import { Ctx, FieldResolver, ID, Int, Resolver, Root } from 'type-graphql';
import type { AppContext } from '../context';
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

  @FieldResolver(() => ID, { nullable: true, description: 'The message this one answers or follows; null for the first turn of a chat. Versions of a turn share it.' })
  async parentId(@Root() m: Message, @Ctx() ctx: AppContext): Promise<string | null> {
    // Rows read for a list carry it; replies built in memory (sendMessage's answer, reply events) do not.
    return m.parentId !== undefined ? m.parentId : (await ctx.loaders.versions.load(m.id)).parentId;
  }

  @FieldResolver(() => Int, { description: "1-based among the versions of this turn (regenerated replies, edited messages), oldest first." })
  async version(@Root() m: Message, @Ctx() ctx: AppContext): Promise<number> {
    return (await ctx.loaders.versions.load(m.id)).version;
  }

  @FieldResolver(() => Int, { description: 'How many versions this turn has; selectMessageVersion picks the one shown.' })
  async versionCount(@Root() m: Message, @Ctx() ctx: AppContext): Promise<number> {
    return (await ctx.loaders.versions.load(m.id)).versionCount;
  }

  @FieldResolver(() => Boolean, { description: 'True for messages the AI wrote: clients label them "AI生成".' })
  aiGenerated(@Root() m: Message): boolean {
    return m.role === Role.ASSISTANT;
  }
}

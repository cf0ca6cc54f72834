import { Arg, Authorized, Ctx, ID, Mutation, Resolver } from 'type-graphql';
import type { AppContext } from '../context';
import { Speech } from './speak.types';

@Resolver()
export class SpeakResolver {
  @Authorized()
  @Mutation(() => Speech, {
    description:
      "Reads one of the viewer's messages aloud (text to speech). Kept per message and voice: asking again costs nothing and counts against no limit. REST: POST /v1/ai/text-to-speech",
  })
  async speakMessage(
    @Arg('messageId', () => ID) messageId: string,
    @Ctx() ctx: AppContext,
    @Arg('voice', () => String, { nullable: true, description: "The provider's voice name (letters, digits, _ and -, at most 32); omitted: the server's default (TTS_VOICE)." }) voice?: string | null,
  ): Promise<Speech> {
    return ctx.services.speak.speak(ctx.viewer!, messageId, voice);
  }
}

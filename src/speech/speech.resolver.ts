import GraphQLUpload from 'graphql-upload/GraphQLUpload.mjs';
import type { FileUpload } from 'graphql-upload/processRequest.mjs';
import { Arg, Authorized, Ctx, Mutation, Resolver } from 'type-graphql';
import type { AppContext } from '../context';
import { limitKey } from '../limits/rate-limits';
import { Transcription } from './speech.types';

@Resolver()
export class SpeechResolver {
  @Authorized()
  @Mutation(() => Transcription, {
    description: 'Speech to text for mp3, wav, m4a/mp4, aac (ADTS, as the WeChat recorder writes it), webm and ogg uploads (multipart request). REST: POST /v1/ai/speech-to-text',
  })
  async speechToText(
    @Arg('audio', () => GraphQLUpload) audio: Promise<FileUpload>,
    @Ctx() ctx: AppContext,
    @Arg('language', () => String, { nullable: true, description: 'A language code such as zh, en or en-US. Omitted or auto: the provider detects the language.' }) language?: string,
  ): Promise<Transcription> {
    await ctx.services.limits.consume('ai', limitKey({ userId: ctx.viewer!.userId }));
    return ctx.services.speech.transcribe(audio, language, ctx.viewer!.userId);
  }
}

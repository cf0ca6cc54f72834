import { Field, Float, ObjectType } from 'type-graphql';

@ObjectType({ description: 'A message read aloud.' })
export class Speech {
  @Field({
    description:
      'Where to play it: the path of GET /v1/messages/{id}/speech (prefix it with the server address) with a signed token valid for an hour, so players that cannot send headers (InnerAudioContext, <audio>) can load it. Supports HTTP range requests.',
  })
  url!: string;

  @Field({ description: 'audio/mpeg; audio/wav for the placeholder tone of a server without a speech provider (outside production).' })
  mimeType!: string;

  @Field(() => Float, { nullable: true, description: 'From the MP3 frames; null when they could not be read.' })
  durationSeconds!: number | null;
}

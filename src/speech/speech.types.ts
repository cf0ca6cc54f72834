import { Field, Float, ObjectType } from 'type-graphql';

@ObjectType()
export class Transcription {
  @Field()
  text!: string;

  @Field(() => String, { nullable: true, description: 'The language code asked for; with none (or auto), the one the provider detected, or null when it did not say.' })
  language!: string | null;

  @Field(() => Float, { nullable: true, description: 'From the file itself, when it states it: the WAV header, or the frames of raw AAC.' })
  durationSeconds!: number | null;
}

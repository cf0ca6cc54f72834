import { Field, Float, ObjectType } from 'type-graphql';

@ObjectType()
export class Transcription {
  @Field()
  text!: string;

  @Field(() => String, { nullable: true, description: 'The language hint used.' })
  language!: string | null;

  @Field(() => Float, { nullable: true, description: "From the file's header, when the format states it (WAV)." })
  durationSeconds!: number | null;
}

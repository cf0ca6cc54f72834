import { Field, ID, Int, ObjectType } from 'type-graphql';

@ObjectType({ description: 'A model the user can choose for a reply.' })
export class AiModel {
  @Field(() => ID)
  id!: string;

  @Field()
  name!: string;

  @Field({ description: 'What the model does, e.g. "chat".' })
  type!: string;

  @Field()
  provider!: string;

  @Field(() => Int, { nullable: true, description: 'Tokens of context the model accepts.' })
  contextWindow!: number | null;

  @Field()
  isDefault!: boolean;
}

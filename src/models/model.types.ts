import { Field, ID, Int, ObjectType } from 'type-graphql';

@ObjectType({ description: 'What a model costs: fen per 1,000 tokens; 0 = free.' })
export class ModelPrices {
  @Field(() => Int)
  prompt!: number;

  @Field(() => Int)
  completion!: number;
}

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

  @Field(() => ModelPrices)
  prices!: ModelPrices;

  @Field(() => Int, { nullable: true, description: 'Most tokens a reply may have; a longer one ends with finishReason LENGTH.' })
  maxTokens!: number | null;
}

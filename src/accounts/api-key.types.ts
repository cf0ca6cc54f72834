import { Field, ObjectType } from 'type-graphql';
import { ApiKey } from '../db/entities/api-key.entity';

@ObjectType()
export class CreatedApiKey {
  @Field(() => ApiKey)
  apiKey!: ApiKey;

  @Field({ description: 'Send as "X-API-Key: <secret>". Shown only here, once.' })
  secret!: string;
}

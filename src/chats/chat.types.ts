import { Field, ID, InputType, ObjectType } from 'type-graphql';
import { Chat } from '../db/entities/chat.entity';
import { Role } from '../db/entities/message.entity';

@ObjectType()
export class PageInfo {
  @Field()
  hasNextPage!: boolean;

  @Field(() => String, { nullable: true, description: 'Pass as `after` for the next page.' })
  endCursor!: string | null;
}

@ObjectType()
export class ChatConnection {
  @Field(() => [Chat])
  nodes!: Chat[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  /** Counted only when the field is selected (see ChatConnectionResolver). */
  totalCount!: () => Promise<number>;
}

@InputType()
export class ChatFilter {
  @Field({ nullable: true })
  category?: string;

  @Field({ nullable: true })
  tag?: string;

  @Field({ nullable: true })
  starred?: boolean;
}

@InputType()
export class MessageInput {
  @Field(() => Role)
  role!: Role;

  @Field({ description: 'At most 32,000 characters.' })
  content!: string;

  @Field({ nullable: true })
  timestamp?: Date;
}

@InputType({ description: 'Creates a chat, or replaces one of yours when `id` is given. Omitted optional fields are kept.' })
export class SaveChatInput {
  @Field(() => ID, { nullable: true, description: 'One of your chats to replace, or a new id of the same shape as the server makes (26 characters of lowercase Crockford base32) to create the chat with it.' })
  id?: string;

  @Field({ nullable: true, description: 'At most 200 characters; a new chat without one is named after its first message.' })
  title?: string;

  @Field(() => [MessageInput], { description: 'All messages of the chat, oldest first; at most 500.' })
  messages!: MessageInput[];

  @Field({ nullable: true, description: 'At most 32 characters.' })
  category?: string;

  @Field(() => [String], { nullable: true, description: 'At most 20 tags of at most 32 characters.' })
  tags?: string[];

  @Field({ nullable: true })
  isStarred?: boolean;
}

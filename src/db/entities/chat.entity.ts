import { Collection, Entity, Index, ManyToOne, OneToMany, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { Field, ID, Int, ObjectType } from 'type-graphql';
import { newId } from '../../core/ids';
import { ChatTag } from './chat-tag.entity';
import { User } from './user.entity';

export const DEFAULT_CATEGORY = 'default';

/**
 * A conversation. `preview` and `messageCount` are kept in step with the messages in the
 * same transaction, so a list needs no per-chat queries. `updatedAt` is the time of the
 * last activity (a message, or a save) and orders the list; starring does not move a chat.
 */
@Entity({ tableName: 'chats' })
@Index({ properties: ['user', 'updatedAt', 'id'] })
@Index({ properties: ['user', 'category', 'updatedAt'] })
@Index({ properties: ['user', 'isStarred', 'updatedAt'] })
@ObjectType()
export class Chat {
  [OptionalProps]?: 'category' | 'isStarred' | 'preview' | 'messageCount' | 'createdAt' | 'updatedAt' | 'tagRows';

  @Field(() => ID)
  @PrimaryKey({ type: 'string', length: 26 })
  id: string = newId();

  @ManyToOne(() => User, { deleteRule: 'cascade' })
  user!: User;

  @Field()
  @Property({ type: 'string', length: 200 })
  title!: string;

  @Field({ description: 'The start of the latest message.' })
  @Property({ type: 'string', length: 200 })
  preview: string = '';

  @Field()
  @Property({ type: 'string', length: 32 })
  category: string = DEFAULT_CATEGORY;

  @Field()
  @Property({ type: 'boolean', default: false })
  isStarred: boolean = false;

  @Field(() => Int)
  @Property({ type: 'integer', default: 0 })
  messageCount: number = 0;

  @Field()
  @Property({ type: 'datetime', length: 3 })
  createdAt: Date = new Date();

  @Field({ description: 'The last activity: a message, or a save.' })
  @Property({ type: 'datetime', length: 3 })
  updatedAt: Date = new Date();

  /** For filtering by tag; the GraphQL `tags` field is batched by a DataLoader instead. */
  @OneToMany(() => ChatTag, (t) => t.chat)
  tagRows = new Collection<ChatTag>(this);
}

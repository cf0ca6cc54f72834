import { Entity, Index, ManyToOne, OptionalProps, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { newId } from '../../core/ids';
import { Chat } from './chat.entity';

export enum Role {
  USER = 'USER',
  ASSISTANT = 'ASSISTANT',
  SYSTEM = 'SYSTEM',
}
registerEnumType(Role, { name: 'Role' });

export enum MessageStatus {
  STREAMING = 'STREAMING',
  COMPLETE = 'COMPLETE',
  STOPPED = 'STOPPED',
  FAILED = 'FAILED',
}
registerEnumType(MessageStatus, { name: 'MessageStatus' });

export const MAX_MESSAGE_LENGTH = 32_000;

@ObjectType()
export class TokenUsage {
  @Field(() => Int)
  promptTokens!: number;

  @Field(() => Int)
  completionTokens!: number;

  @Field(() => Int)
  totalTokens!: number;
}

/**
 * One turn of a chat, written by saveChat or by an AI reply. `position` orders a chat's
 * messages; `clientMessageId` makes a retried send idempotent per user.
 */
@Entity({ tableName: 'messages' })
@Unique({ properties: ['chat', 'position'] })
@Unique({ properties: ['userId', 'clientMessageId'] })
@Index({ properties: ['userId'] })
@ObjectType()
export class Message {
  [OptionalProps]?: 'status' | 'createdAt';

  @Field(() => ID)
  @PrimaryKey({ type: 'string', length: 26 })
  id: string = newId();

  @ManyToOne(() => Chat, { deleteRule: 'cascade' })
  chat!: Chat;

  @Property({ type: 'string', length: 26 })
  userId!: string;

  @Property({ type: 'integer' })
  position!: number;

  /** Plain varchar, not a DB enum: adding a value later needs no table rebuild. */
  @Field(() => Role)
  @Property({ type: 'string', length: 16 })
  role!: Role;

  /** mediumtext on MySQL: 32,000 characters of Chinese is ~96 KB in UTF-8. */
  @Field()
  @Property({ type: 'text', columnType: 'mediumtext', lazy: false })
  content!: string;

  @Field(() => MessageStatus)
  @Property({ type: 'string', length: 16 })
  status: MessageStatus = MessageStatus.COMPLETE;

  @Field(() => String, { nullable: true, description: 'The model that wrote an assistant message.' })
  @Property({ type: 'string', length: 64, nullable: true })
  model?: string | null;

  @Property({ type: 'integer', nullable: true })
  promptTokens?: number | null;

  @Property({ type: 'integer', nullable: true })
  completionTokens?: number | null;

  @Property({ type: 'integer', nullable: true })
  totalTokens?: number | null;

  @Property({ type: 'string', length: 64, nullable: true })
  clientMessageId?: string | null;

  @Field({ name: 'timestamp' })
  @Property({ type: 'datetime', length: 3 })
  createdAt: Date = new Date();
}

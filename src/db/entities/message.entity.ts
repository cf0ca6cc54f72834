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
  /** Withheld: the provider's filter (or moderation) stopped it; nothing of it is shown or stored. */
  BLOCKED = 'BLOCKED',
}
registerEnumType(MessageStatus, { name: 'MessageStatus' });

/** A user's verdict on a reply. */
export enum Rating {
  UP = 'UP',
  DOWN = 'DOWN',
}
registerEnumType(Rating, { name: 'Rating' });

/** How a reply ended: null while STREAMING. */
export enum FinishReason {
  STOP = 'STOP',
  LENGTH = 'LENGTH',
  CONTENT_FILTER = 'CONTENT_FILTER',
  CANCELLED = 'CANCELLED',
  ERROR = 'ERROR',
}
registerEnumType(FinishReason, {
  name: 'FinishReason',
  valuesConfig: {
    STOP: { description: 'The model finished.' },
    LENGTH: { description: 'Cut at the token limit (maxTokens): the text is incomplete.' },
    CONTENT_FILTER: { description: "The provider's filter stopped it (status BLOCKED)." },
    CANCELLED: { description: 'stopGeneration, or the server shutting down (status STOPPED).' },
    ERROR: { description: 'The provider failed (status FAILED); what arrived before is kept.' },
  },
});

export const MAX_MESSAGE_LENGTH = 32_000;

@ObjectType()
export class TokenUsage {
  @Field(() => Int)
  promptTokens!: number;

  @Field(() => Int)
  completionTokens!: number;

  @Field(() => Int)
  totalTokens!: number;

  @Field(() => Int, { nullable: true, description: 'Part of completionTokens spent reasoning, when the provider reports it.' })
  reasoningTokens!: number | null;

  @Field({ description: 'True when the provider reported no usage and the server estimated it.' })
  estimated!: boolean;
}

/**
 * One turn of a chat, written by saveChat or by an AI reply. `position` is creation order
 * within the chat; `clientMessageId` makes a retried send idempotent per user. Messages form
 * a tree (`parentId`): versions of a turn (regenerated replies, edited user messages) are
 * siblings, and `onPath` marks the selected branch, which is what a chat shows.
 */
@Entity({ tableName: 'messages' })
@Unique({ properties: ['chat', 'position'] })
@Unique({ properties: ['userId', 'clientMessageId'] })
@Index({ properties: ['userId'] })
// Siblings (versions) of a turn are counted by parent within a chat.
@Index({ properties: ['chat', 'parentId'] })
// Chat.messages pages through the selected path by position.
@Index({ properties: ['chat', 'onPath', 'position'] })
// The sweep looks for STREAMING replies nobody is generating any more.
@Index({ properties: ['status', 'createdAt'] })
@ObjectType()
export class Message {
  [OptionalProps]?: 'status' | 'createdAt' | 'usageEstimated' | 'onPath';

  @Field(() => ID)
  @PrimaryKey({ type: 'string', length: 26 })
  id: string = newId();

  @ManyToOne(() => Chat, { deleteRule: 'cascade' })
  chat!: Chat;

  @Property({ type: 'string', length: 26 })
  userId!: string;

  @Property({ type: 'integer' })
  position!: number;

  /**
   * The message this one answers or follows; null for the chat's first turn (and its
   * versions). Not a foreign key: a chat's messages are deleted together, in one statement.
   * The GraphQL field is resolved in message.resolver.ts (replies built in memory lack it).
   */
  @Property({ type: 'string', length: 26, nullable: true })
  parentId?: string | null;

  /**
   * Among siblings the highest rank is the selected version. A new message takes its own
   * position (so the newest wins); selectMessageVersion gives the chosen one the chat's
   * highest rank + 1, which also remembers choices below a branch while another is shown.
   * Null (rows from before versions) counts as the position.
   */
  @Property({ type: 'integer', nullable: true })
  selectedRank?: number | null;

  /** On the selected path: denormalised from the ranks whenever they change, so listing and search filter on one column. */
  @Property({ type: 'boolean', default: true })
  onPath: boolean = true;

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

  /** The model's visible reasoning; never sent back to the provider as history. */
  @Field(() => String, { nullable: true, description: "The model's visible reasoning, when it sends one (kept apart from content)." })
  @Property({ type: 'text', columnType: 'mediumtext', nullable: true, lazy: false })
  reasoning?: string | null;

  @Field(() => FinishReason, { nullable: true, description: 'How the reply ended; null while STREAMING and for messages not written by the AI.' })
  @Property({ type: 'string', length: 16, nullable: true })
  finishReason?: FinishReason | null;

  @Field(() => String, { nullable: true, description: 'The model that wrote an assistant message.' })
  @Property({ type: 'string', length: 64, nullable: true })
  model?: string | null;

  @Property({ type: 'integer', nullable: true })
  promptTokens?: number | null;

  @Property({ type: 'integer', nullable: true })
  completionTokens?: number | null;

  @Property({ type: 'integer', nullable: true })
  totalTokens?: number | null;

  @Property({ type: 'integer', nullable: true })
  reasoningTokens?: number | null;

  /** The token counts are the server's estimate (the provider reported none). */
  @Property({ type: 'boolean', default: false })
  usageEstimated: boolean = false;

  /** An exact key (binary collation on MySQL): see exact-keys.ts. */
  @Property({ type: 'string', length: 64, nullable: true })
  clientMessageId?: string | null;

  @Field(() => Rating, { nullable: true, description: "The owner's rating of an AI reply (rateMessage); null when unrated." })
  @Property({ type: 'string', length: 8, nullable: true })
  rating?: Rating | null;

  @Field(() => String, { nullable: true, description: 'The comment given with the rating, if any.' })
  @Property({ type: 'string', length: 1000, nullable: true })
  ratingComment?: string | null;

  /** When the rating was last set: operators list ratings newest first. */
  @Index()
  @Property({ type: 'datetime', length: 3, nullable: true })
  ratedAt?: Date | null;

  @Field({ name: 'timestamp' })
  @Property({ type: 'datetime', length: 3 })
  createdAt: Date = new Date();
}

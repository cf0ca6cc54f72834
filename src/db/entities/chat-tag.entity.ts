import { Entity, Index, ManyToOne, PrimaryKey, Property } from '@mikro-orm/core';
import { Chat } from './chat.entity';

/** One tag of a chat; a row per tag so "chats with tag X" is an index lookup. */
@Entity({ tableName: 'chat_tags' })
@Index({ properties: ['userId', 'tag'] })
export class ChatTag {
  @ManyToOne(() => Chat, { primary: true, deleteRule: 'cascade' })
  chat!: Chat;

  /** An exact key (binary collation on MySQL): see exact-keys.ts. */
  @PrimaryKey({ type: 'string', length: 32 })
  tag!: string;

  @Property({ type: 'string', length: 26 })
  userId!: string;

  /** Keeps the client's order of tags. */
  @Property({ type: 'integer' })
  position!: number;
}

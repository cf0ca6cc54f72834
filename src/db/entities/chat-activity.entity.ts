import { Entity, Index, PrimaryKey, Property } from '@mikro-orm/core';

/**
 * When a chat's activity time moved, and from what. A list cursor remembers when its first
 * page was read; a chat that moved since then is placed where it stood at that moment, so
 * paging never skips or repeats a chat. Rows older than the longest-lived cursor are purged.
 */
@Entity({ tableName: 'chat_activity' })
@Index({ properties: ['chatId', 'changedAt'] })
@Index({ properties: ['userId', 'changedAt'] })
export class ChatActivity {
  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @Property({ type: 'string', length: 26 })
  chatId!: string;

  @Property({ type: 'string', length: 26 })
  userId!: string;

  @Property({ type: 'datetime', length: 3 })
  previousUpdatedAt!: Date;

  @Property({ type: 'datetime', length: 3 })
  changedAt!: Date;
}

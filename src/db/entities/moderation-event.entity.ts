import { Entity, Index, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { newId } from '../../core/ids';

export enum ModerationStage {
  /** Text a user sent: a message, its history, a chat's title or tags, a nickname, a transcript. */
  INPUT = 'INPUT',
  /** Text a model wrote. */
  OUTPUT = 'OUTPUT',
}

export enum ModerationAction {
  /** Refused (input) or withheld (output): counts as a strike. */
  BLOCK = 'BLOCK',
  /** The webhook replaced parts of an input; the masked text went on. Not a strike. */
  MASK = 'MASK',
}

/**
 * One content-security hit. The text itself is not kept: a short excerpt around the hit (for
 * a reviewer to see what kind of hit it was) and the SHA-256 of the whole text checked (to
 * tell repeats of one text from different texts).
 */
@Entity({ tableName: 'moderation_events' })
// Strikes are counted per user over a recent window.
@Index({ properties: ['userId', 'createdAt'] })
export class ModerationEvent {
  [OptionalProps]?: 'labels' | 'excerpt' | 'createdAt';

  @PrimaryKey({ type: 'string', length: 26 })
  id: string = newId();

  /** Null only for a first login's nickname, refused before the account exists. */
  @Property({ type: 'string', length: 26, nullable: true })
  userId?: string | null;

  @Property({ type: 'string', length: 8 })
  stage!: ModerationStage;

  /** keywords, webhook or wechat. */
  @Property({ type: 'string', length: 16 })
  engine!: string;

  @Property({ type: 'string', length: 8 })
  action!: ModerationAction;

  /** The engine's labels, comma-separated (WeChat's are numbers, e.g. 20001). */
  @Property({ type: 'string', length: 255 })
  labels: string = '';

  /** Input: the field (content, messageHistory.2.content, title, tags.0, nickName, transcript). */
  @Property({ type: 'string', length: 64, nullable: true })
  field?: string | null;

  /** Output: the reply. */
  @Property({ type: 'string', length: 26, nullable: true })
  messageId?: string | null;

  @Property({ type: 'string', length: 64 })
  excerpt: string = '';

  @Property({ type: 'string', length: 64 })
  textHash!: string;

  @Property({ type: 'datetime', length: 3 })
  createdAt: Date = new Date();
}

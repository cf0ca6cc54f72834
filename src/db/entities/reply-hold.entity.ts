import { Entity, Index, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { newId } from '../../core/ids';

/**
 * The most a priced reply may cost, reserved before its provider is called (users.held grows
 * by `amount`) and settled once when it ends: `settledAt` is set by a conditional update, so
 * whichever instance (the one running it, or the sweep after a crash) settles it first is the
 * only one that does. `charged` is what the settlement debited (an AI_USAGE ledger row).
 */
@Entity({ tableName: 'reply_holds' })
@Index({ properties: ['messageId'] })
@Index({ properties: ['settledAt', 'createdAt'] })
export class ReplyHold {
  [OptionalProps]?: 'createdAt' | 'settledAt' | 'charged';

  @PrimaryKey({ type: 'string', length: 26 })
  id: string = newId();

  @Property({ type: 'string', length: 26 })
  userId!: string;

  /** The reply's message id (stored or not). */
  @Property({ type: 'string', length: 64 })
  messageId!: string;

  /** Fen reserved. */
  @Property({ type: 'integer' })
  amount!: number;

  @Property({ type: 'datetime', length: 3, nullable: true })
  settledAt?: Date | null;

  @Property({ type: 'integer', nullable: true })
  charged?: number | null;

  @Property({ type: 'datetime', length: 3 })
  createdAt: Date = new Date();
}

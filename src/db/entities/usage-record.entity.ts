import { Entity, Index, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { newId } from '../../core/ids';

/** What a billable call was: an AI reply, speech to text, text to speech. */
export type UsageKind = 'REPLY' | 'TRANSCRIPTION' | 'SPEECH';

/**
 * One billable call, written where the call ends (src/usage/). The reports (myUsage,
 * adminUsage) aggregate these rows in SQL, so they are indexed for a user's period and for
 * everyone's period. `userId` is a plain column, not a foreign key: usage is an accounting
 * record that outlives a deleted account (as ledger rows do) and writing it must never wait
 * on the users table's row locks that holds and settlements take.
 */
@Entity({ tableName: 'usage_records' })
@Index({ properties: ['userId', 'createdAt'] })
@Index({ properties: ['createdAt'] })
export class UsageRecord {
  [OptionalProps]?: 'createdAt';

  @PrimaryKey({ type: 'string', length: 26 })
  id: string = newId();

  @Property({ type: 'string', length: 26 })
  userId!: string;

  @Property({ type: 'string', length: 16 })
  kind!: UsageKind;

  /** The catalog model's id (replies), or the speech provider's model. */
  @Property({ type: 'string', length: 128 })
  model!: string;

  /** The provider that answered, as `upstreamOf` names it (scheme, host, path: never a key or a query); null for built-in or offline ones. */
  @Property({ type: 'string', length: 255, nullable: true })
  upstream?: string | null;

  /** The reply's message id (replies); null for speech calls. Not unique: a failed reply generated again is another call. */
  @Property({ type: 'string', length: 64, nullable: true })
  reference?: string | null;

  @Property({ type: 'integer' })
  promptTokens: number = 0;

  @Property({ type: 'integer' })
  completionTokens: number = 0;

  @Property({ type: 'integer' })
  reasoningTokens: number = 0;

  /** Fen actually debited for the call (the ledger's AI_USAGE amount); 0 for free models and failures. */
  @Property({ type: 'integer' })
  cost: number = 0;

  @Property({ type: 'integer' })
  latencyMs: number = 0;

  /** A reply's final status (COMPLETE, STOPPED, BLOCKED, FAILED), or OK / FAILED for speech calls. */
  @Property({ type: 'string', length: 16 })
  outcome!: string;

  @Property({ type: 'datetime', length: 3 })
  createdAt: Date = new Date();
}

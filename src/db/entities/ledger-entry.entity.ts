import { Entity, Index, ManyToOne, OptionalProps, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { newId } from '../../core/ids';
import { User } from './user.entity';

/** ACCOUNT_DELETED: the balance left when the user deleted the account, written off. */
export type LedgerKind = 'TOPUP' | 'AI_USAGE' | 'ACCOUNT_DELETED';

/**
 * One change of a user's balance, written in the same transaction as the change. The
 * (kind, reference) pair is unique, so an order credits once and a reply debits once
 * however often it is reported.
 */
@Entity({ tableName: 'ledger_entries' })
@Unique({ properties: ['kind', 'reference'] })
@Index({ properties: ['user', 'createdAt'] })
export class LedgerEntry {
  [OptionalProps]?: 'createdAt';

  @PrimaryKey({ type: 'string', length: 26 })
  id: string = newId();

  @ManyToOne(() => User)
  user!: User;

  @Property({ type: 'string', length: 16 })
  kind!: LedgerKind;

  /** The order id (TOPUP), the reply's message id (AI_USAGE) or the user id (ACCOUNT_DELETED). */
  @Property({ type: 'string', length: 64 })
  reference!: string;

  /** Signed fen: positive credits, negative debits. */
  @Property({ type: 'integer' })
  amount!: number;

  @Property({ type: 'integer' })
  balanceAfter!: number;

  @Property({ type: 'datetime', length: 3 })
  createdAt: Date = new Date();
}

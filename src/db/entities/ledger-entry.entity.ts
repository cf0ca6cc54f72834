import { Entity, Index, ManyToOne, OptionalProps, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { newId } from '../../core/ids';
import { User } from './user.entity';

/**
 * ACCOUNT_DELETED: the balance left when the user deleted the account, written off.
 * ADMIN_ADJUST: an operator's grant or deduction (reference: its admin_audit row, which names the admin).
 * REDEEM: a redeem code used (reference: the redeem_codes row).
 * REFUND: a refunded top-up taken back from the balance (reference: the payment_refunds row).
 */
export type LedgerKind = 'TOPUP' | 'AI_USAGE' | 'ACCOUNT_DELETED' | 'ADMIN_ADJUST' | 'REDEEM' | 'REFUND';

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

  /** The order id (TOPUP), the reply's message id (AI_USAGE), the user id (ACCOUNT_DELETED), the admin_audit id (ADMIN_ADJUST) the redeem_codes id (REDEEM) or the payment_refunds id (REFUND). */
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

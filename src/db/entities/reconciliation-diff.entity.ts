import { Entity, Index, ManyToOne, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { newId } from '../../core/ids';
import type { PaymentMethod } from './payment-order.entity';
import { ReconciliationRun } from './reconciliation-run.entity';

/**
 * MISSING_LOCAL: in the bill, but not ours or not paid (or not credited) here;
 * MISSING_REMOTE: paid here that day, not in the bill; AMOUNT: both have it, amounts differ;
 * STATE: the states differ (e.g. refunded there, not here).
 */
export type ReconciliationDiffKind = 'MISSING_LOCAL' | 'MISSING_REMOTE' | 'AMOUNT' | 'STATE';

/** One difference between a provider's bill and our orders and ledger. Recorded for operators; nothing is changed automatically. */
@Entity({ tableName: 'reconciliation_diffs' })
@Index({ properties: ['createdAt'] })
export class ReconciliationDiff {
  [OptionalProps]?: 'createdAt';

  @PrimaryKey({ type: 'string', length: 26 })
  id: string = newId();

  @ManyToOne(() => ReconciliationRun)
  run!: ReconciliationRun;

  @Property({ type: 'string', length: 8 })
  provider!: PaymentMethod;

  @Property({ type: 'string', length: 64 })
  outTradeNo!: string;

  @Property({ type: 'string', length: 16 })
  kind!: ReconciliationDiffKind;

  /** Fen, as we have it (null when we have nothing). */
  @Property({ type: 'integer', nullable: true })
  ourAmount?: number | null;

  /** Fen, as the bill has it (null when the bill has nothing). */
  @Property({ type: 'integer', nullable: true })
  theirAmount?: number | null;

  @Property({ type: 'string', length: 255 })
  details!: string;

  @Property({ type: 'datetime', length: 3 })
  createdAt: Date = new Date();
}

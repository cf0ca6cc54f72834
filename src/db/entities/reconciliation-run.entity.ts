import { Entity, OptionalProps, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { newId } from '../../core/ids';
import type { PaymentMethod } from './payment-order.entity';

/** RUNNING: claimed by one instance; DONE: compared (diffs recorded); FAILED: no comparison (bill unavailable or its hash wrong), retried later. */
export type ReconciliationRunStatus = 'RUNNING' | 'DONE' | 'FAILED';

/**
 * One provider's bill for one day (Asia/Shanghai), compared once. The unique (provider,
 * bill_date) row is the claim: of several instances running the daily job, only the one whose
 * insert succeeds compares that day.
 */
@Entity({ tableName: 'reconciliation_runs' })
@Unique({ properties: ['provider', 'billDate'] })
export class ReconciliationRun {
  [OptionalProps]?: 'status' | 'attempts' | 'diffCount' | 'createdAt' | 'updatedAt';

  @PrimaryKey({ type: 'string', length: 26 })
  id: string = newId();

  @Property({ type: 'string', length: 8 })
  provider!: PaymentMethod;

  /** yyyy-MM-dd, the Beijing day the bill covers. */
  @Property({ type: 'string', length: 10 })
  billDate!: string;

  @Property({ type: 'string', length: 8 })
  status: ReconciliationRunStatus = 'RUNNING';

  @Property({ type: 'integer', default: 0 })
  attempts: number = 0;

  @Property({ type: 'integer', default: 0 })
  diffCount: number = 0;

  /** Why a FAILED run failed (e.g. the SHA1 mismatch). */
  @Property({ type: 'string', length: 255, nullable: true })
  error?: string | null;

  @Property({ type: 'datetime', length: 3 })
  createdAt: Date = new Date();

  @Property({ type: 'datetime', length: 3 })
  updatedAt: Date = new Date();
}

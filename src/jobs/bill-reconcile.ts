import type { Logger } from '../core/logger';
import type { BillReconciliation } from '../payments/reconciliation';
import { intervalJob, type Job } from './job';

/**
 * Looks every `everyMs` for a day whose bills are due (the previous Beijing day, from 10:00);
 * the day's claim row makes every later look, here or on another instance, a no-op, so an
 * interval is simpler and safer than aiming a timer at 10:00. Not at start: a restart storm
 * should not fetch bills, and the first look comes within `everyMs` anyway.
 */
export function billReconcileJob(reconciliation: BillReconciliation, everyMs: number, logger: Logger): Job {
  return intervalJob('bill reconciliation', everyMs, () => reconciliation.runDue(new Date()), logger);
}

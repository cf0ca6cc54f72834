import type { Logger } from '../core/logger';
import type { Settlement } from '../payments/settlement';
import { intervalJob, type Job } from './job';

/** Pending orders are checked with their provider (a notification may have been lost), and expired ones closed. */
export function reconcileJob(settlement: Settlement, everyMs: number, logger: Logger): Job {
  return intervalJob('payment reconciliation', everyMs, () => settlement.reconcile(), logger);
}

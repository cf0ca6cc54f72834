import type { Logger } from '../core/logger';
import type { Refunds } from '../payments/refunds';
import type { Settlement } from '../payments/settlement';
import { intervalJob, type Job } from './job';

/**
 * Pending orders are checked with their provider (a notification may have been lost), and
 * expired ones closed; pending refunds are checked too (and sent again, with the same refund
 * number, when the provider never got them).
 */
export function reconcileJob(payments: { settlement: Settlement; refunds: Refunds }, everyMs: number, logger: Logger): Job {
  return intervalJob(
    'payment reconciliation',
    everyMs,
    async () => {
      await payments.settlement.reconcile();
      await payments.refunds.reconcile();
    },
    logger,
  );
}

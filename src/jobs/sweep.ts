import type { MikroORM } from '@mikro-orm/core';
import type { Logger } from '../core/logger';
import type { ReplyRunner } from '../replies/reply-runner';
import { sweepInterruptedReplies } from '../replies/sweep';
import { intervalJob, type Job } from './job';

/** Releases reply holds nothing will settle any more (their reply's instance died); payments' Billing. */
export interface StaleHolds {
  settleStaleHolds(olderThanMs: number): Promise<number>;
}

/**
 * Replies cut off by a crash or a failed write are finished at start and then periodically
 * (which releases their holds); then holds older than any reply can run (unstored replies,
 * which have no row to sweep) are released.
 */
export function sweepJob(orm: MikroORM, runner: ReplyRunner, timings: { everyMs: number; minAgeMs: number; holdMaxAgeMs?: number }, logger: Logger, holds?: StaleHolds): Job {
  return intervalJob(
    'finishing interrupted replies',
    timings.everyMs,
    async () => {
      await sweepInterruptedReplies(orm, runner, timings.minAgeMs);
      if (holds && timings.holdMaxAgeMs) await holds.settleStaleHolds(timings.holdMaxAgeMs);
    },
    logger,
    { runAtStart: true },
  );
}

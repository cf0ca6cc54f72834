import type { MikroORM } from '@mikro-orm/core';
import type { Logger } from '../core/logger';
import type { ReplyRunner } from '../replies/reply-runner';
import { sweepInterruptedReplies } from '../replies/sweep';
import { intervalJob, type Job } from './job';

/** Replies cut off by a crash or a failed write are finished at start and then periodically. */
export function sweepJob(orm: MikroORM, runner: ReplyRunner, timings: { everyMs: number; minAgeMs: number }, logger: Logger): Job {
  return intervalJob('finishing interrupted replies', timings.everyMs, () => sweepInterruptedReplies(orm, runner, timings.minAgeMs), logger, { runAtStart: true });
}

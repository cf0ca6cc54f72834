import type { MikroORM } from '@mikro-orm/core';
import type { Logger } from '../core/logger';
import { ChatActivity } from '../db/entities/chat-activity.entity';
import { RevokedToken } from '../db/entities/revoked-token.entity';
import { intervalJob, type Job } from './job';

/**
 * Revoked tokens are kept until they would have expired, chat activity as long as a list
 * cursor lives; then both are deleted.
 */
export function purgeJob(orm: MikroORM, timings: { everyMs: number; listCursorTtlMs: number }, logger: Logger): Job {
  const { everyMs, listCursorTtlMs } = timings;
  return intervalJob('purging expired rows', everyMs, () => {
    const em = orm.em.fork();
    return Promise.all([
      em.nativeDelete(RevokedToken, { expiresAt: { $lt: new Date() } }),
      em.nativeDelete(ChatActivity, { changedAt: { $lt: new Date(Date.now() - listCursorTtlMs) } }),
    ]);
  }, logger);
}

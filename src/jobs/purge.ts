import type { MikroORM } from '@mikro-orm/core';
import { LIST_CURSOR_TTL_MS } from '../chats/chat.service';
import type { Logger } from '../core/logger';
import { ChatActivity } from '../db/entities/chat-activity.entity';
import { RevokedToken } from '../db/entities/revoked-token.entity';
import { intervalJob, type Job } from './job';

/**
 * Revoked tokens are kept until they would have expired, chat activity as long as a list
 * cursor lives; then both are deleted.
 */
export function purgeJob(orm: MikroORM, everyMs: number, logger: Logger): Job {
  return intervalJob('purging expired rows', everyMs, () => {
    const em = orm.em.fork();
    return Promise.all([
      em.nativeDelete(RevokedToken, { expiresAt: { $lt: new Date() } }),
      em.nativeDelete(ChatActivity, { changedAt: { $lt: new Date(Date.now() - LIST_CURSOR_TTL_MS) } }),
    ]);
  }, logger);
}

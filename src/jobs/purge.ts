import type { MikroORM } from '@mikro-orm/core';
import type { Logger } from '../core/logger';
import { removeChatsWhere } from '../chats/chat-removal';
import { ChatActivity } from '../db/entities/chat-activity.entity';
import { RevokedToken } from '../db/entities/revoked-token.entity';
import { intervalJob, type Job } from './job';

/** At most this many batches of expired chats per run, so one run never hogs the database; the next run goes on. */
const RETENTION_BATCHES_PER_RUN = 50;

/**
 * Deletes chats untouched (no message, rename, tag or star) for more than `days` days, in
 * short batches. Safe on several instances at once: a batch another instance removed first
 * is simply skipped. Returns how many went.
 */
export function purgeExpiredChats(orm: MikroORM, days: number, maxBatches = RETENTION_BATCHES_PER_RUN): Promise<number> {
  return removeChatsWhere(orm.em.fork(), { updatedAt: { $lt: new Date(Date.now() - days * 86_400_000) } }, maxBatches);
}

/**
 * Revoked tokens are kept until they would have expired, chat activity as long as a list
 * cursor lives; then both are deleted. With CHAT_RETENTION_DAYS, old chats go too.
 */
export function purgeJob(orm: MikroORM, timings: { everyMs: number; listCursorTtlMs: number; chatRetentionDays?: number }, logger: Logger): Job {
  const { everyMs, listCursorTtlMs, chatRetentionDays } = timings;
  return intervalJob('purging expired rows', everyMs, async () => {
    const em = orm.em.fork();
    await Promise.all([
      em.nativeDelete(RevokedToken, { expiresAt: { $lt: new Date() } }),
      em.nativeDelete(ChatActivity, { changedAt: { $lt: new Date(Date.now() - listCursorTtlMs) } }),
    ]);
    if (chatRetentionDays !== undefined) {
      const removed = await purgeExpiredChats(orm, chatRetentionDays);
      if (removed) logger.info({ removed, chatRetentionDays }, 'deleted chats past the retention period');
    }
  }, logger);
}

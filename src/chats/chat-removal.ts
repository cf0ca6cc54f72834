import type { EntityManager } from '@mikro-orm/core';
import { ChatActivity } from '../db/entities/chat-activity.entity';
import { ChatTag } from '../db/entities/chat-tag.entity';
import { Chat } from '../db/entities/chat.entity';
import { Message } from '../db/entities/message.entity';

/** How many chats one statement batch removes: bounded so a big account or purge never holds long locks. */
export const REMOVAL_BATCH = 200;

/**
 * Deletes chats and everything stored under them (messages, tags, list activity), given ids
 * already known to be the caller's to delete. Run inside a transaction; returns how many
 * chats went. The one place that knows what a chat owns: every way a chat is deleted uses it.
 */
export async function removeChats(em: EntityManager, chatIds: readonly string[]): Promise<number> {
  if (!chatIds.length) return 0;
  const ids = [...chatIds];
  await em.nativeDelete(Message, { chat: { $in: ids } });
  await em.nativeDelete(ChatTag, { chat: { $in: ids } });
  await em.nativeDelete(ChatActivity, { chatId: { $in: ids } });
  return em.nativeDelete(Chat, { id: { $in: ids } });
}

/**
 * Deletes every chat matching `where` (e.g. one user's, or untouched since a date), one
 * transaction per batch so each stays short; safe to run on several instances at once (a
 * chat another instance removed first is simply not counted). Returns how many went.
 */
export async function removeChatsWhere(em: EntityManager, where: { user?: string; updatedAt?: { $lt: Date } }, maxBatches = Infinity): Promise<number> {
  let removed = 0;
  for (let batch = 0; batch < maxBatches; batch++) {
    const ids = (await em.fork().find(Chat, where, { fields: ['id'], limit: REMOVAL_BATCH, orderBy: { id: 'asc' } })).map((c) => c.id);
    if (!ids.length) break;
    removed += await em.fork().transactional((tx) => removeChats(tx, ids));
    if (ids.length < REMOVAL_BATCH) break;
  }
  return removed;
}

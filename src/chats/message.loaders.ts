import type { EntityManager } from '@mikro-orm/core';
import DataLoader from 'dataloader';
import { ChatTag } from '../db/entities/chat-tag.entity';
import { Message } from '../db/entities/message.entity';
import { BadRequestError } from '../core/errors';

export interface MessagesKey {
  chatId: string;
  last: number;
  /** A message id: only messages before it. */
  before?: string | null;
}

export const MAX_MESSAGES_PER_PAGE = 500;

/** A message's place among the versions of its turn (siblings under one parent), 1-based in creation order. */
export interface MessageVersion {
  parentId: string | null;
  version: number;
  versionCount: number;
}

/** SQLite returns epoch ms, MySQL a Date (or, for some drivers, a UTC 'YYYY-MM-DD hh:mm:ss' string). */
function toDate(value: unknown): Date {
  if (value instanceof Date) return value;
  if (typeof value === 'string' && !/[zZ+]/.test(value.slice(19))) return new Date(`${value.replace(' ', 'T')}Z`);
  return new Date(value as number | string);
}

/**
 * A message row as a plain object with the entity's shape. Listing is read-only, and
 * hydrating managed entities (identity map, change-tracking snapshots) was the largest
 * single cost of a chat list (measured: ~15 % of CPU for 20 chats x 5 messages).
 */
function readOnlyMessage(row: Record<string, unknown>): Message {
  return {
    id: row.id as string,
    chat: { id: row.chat_id as string },
    userId: row.user_id as string,
    position: Number(row.position),
    parentId: (row.parent_id as string | null) ?? null,
    role: row.role as Message['role'],
    content: row.content as string,
    reasoning: (row.reasoning as string | null) ?? null,
    status: row.status as Message['status'],
    finishReason: (row.finish_reason as Message['finishReason']) ?? null,
    model: (row.model as string | null) ?? null,
    promptTokens: row.prompt_tokens == null ? null : Number(row.prompt_tokens),
    completionTokens: row.completion_tokens == null ? null : Number(row.completion_tokens),
    totalTokens: row.total_tokens == null ? null : Number(row.total_tokens),
    reasoningTokens: row.reasoning_tokens == null ? null : Number(row.reasoning_tokens),
    // MySQL answers tinyint 0/1, SQLite 0/1 or a boolean.
    usageEstimated: row.usage_estimated === true || Number(row.usage_estimated) === 1,
    clientMessageId: (row.client_message_id as string | null) ?? null,
    createdAt: toDate(row.created_at),
  } as Message;
}

/**
 * Per-request batching: a list of N chats costs the same few statements as one chat.
 * Ownership is checked before a chat reaches these (they take chat ids of visible chats).
 */
export function createLoaders(em: EntityManager) {
  const conn = () => em.getConnection();

  const chatTags = new DataLoader<string, string[]>(async (chatIds) => {
    const tags = await em.find(ChatTag, { chat: { $in: [...chatIds] } }, { orderBy: { position: 'asc' } });
    const byChat = new Map<string, string[]>();
    for (const t of tags) byChat.set(t.chat.id, [...(byChat.get(t.chat.id) ?? []), t.tag]);
    return chatIds.map((id) => byChat.get(id) ?? []);
  });

  /** The last `last` messages of each chat's selected path (before `before`), oldest first: one window query per batch. */
  const chatMessages = new DataLoader<MessagesKey, Message[], string>(
    async (keys) => {
      const groups = new Map<string, MessagesKey[]>();
      for (const k of keys) {
        const g = `${k.last}|${k.before ?? ''}`;
        groups.set(g, [...(groups.get(g) ?? []), k]);
      }
      const found = new Map<string, Message[]>();
      for (const group of groups.values()) {
        const { last, before } = group[0];
        const ids = [...new Set(group.map((k) => k.chatId))];
        const beforeClause = before ? 'and m.position < (select b.position from messages b where b.id = ? and b.chat_id = m.chat_id)' : '';
        const rows: Array<Record<string, unknown>> = await conn().execute(
          `select * from (
             select m.id, m.chat_id, m.user_id, m.position, m.parent_id, m.role, m.content, m.reasoning, m.status, m.finish_reason, m.model, m.prompt_tokens,
               m.completion_tokens, m.total_tokens, m.reasoning_tokens, m.usage_estimated, m.client_message_id, m.created_at, row_number() over (partition by m.chat_id order by m.position desc) as window_rank
             from messages m where m.chat_id in (${ids.map(() => '?').join(', ')}) and m.on_path = 1 ${beforeClause}
           ) ranked where window_rank <= ? order by chat_id, position`,
          [...ids, ...(before ? [before] : []), last],
        );
        for (const row of rows) {
          const message = readOnlyMessage(row);
          const key = `${message.chat.id}|${last}|${before ?? ''}`;
          found.set(key, [...(found.get(key) ?? []), message]);
        }
      }
      return keys.map((k) => found.get(`${k.chatId}|${k.last}|${k.before ?? ''}`) ?? []);
    },
    { cacheKeyFn: (k) => `${k.chatId}|${k.last}|${k.before ?? ''}` },
  );

  /** Where each message stands among its versions: one query per batch, on the (chat, parent) index. */
  const versions = new DataLoader<string, MessageVersion>(
    async (messageIds) => {
      const sameTurn = 's.chat_id = m.chat_id and (s.parent_id = m.parent_id or (s.parent_id is null and m.parent_id is null))';
      const rows: Array<Record<string, unknown>> = await conn().execute(
        `select m.id, m.parent_id, m.selected_rank,
           (select count(*) from messages s where ${sameTurn} and s.position <= m.position) as version,
           (select count(*) from messages s where ${sameTurn}) as version_count
         from messages m where m.id in (${messageIds.map(() => '?').join(', ')})`,
        [...messageIds],
      );
      const byId = new Map<string, MessageVersion>();
      for (const r of rows) {
        const parentId = (r.parent_id as string | null) ?? null;
        // An unranked row is in a chat that has had no versions since it was written (message-tree.ts `rankAll`).
        const alone = r.selected_rank == null;
        byId.set(r.id as string, { parentId, version: alone ? 1 : Number(r.version), versionCount: alone ? 1 : Number(r.version_count) });
      }
      // A reply that is not stored (saveHistory off) is the one version of its turn.
      return messageIds.map((id) => byId.get(id) ?? { parentId: null, version: 1, versionCount: 1 });
    },
    // Batched but not cached: a socket's context lives long, and a turn gains versions meanwhile.
    { cache: false },
  );

  return {
    chatTags,
    versions,
    chatMessages: {
      load(key: MessagesKey): Promise<Message[]> {
        if (!Number.isInteger(key.last) || key.last < 1 || key.last > MAX_MESSAGES_PER_PAGE) {
          throw new BadRequestError(`last must be between 1 and ${MAX_MESSAGES_PER_PAGE}`, { field: 'last', reason: 'OUT_OF_RANGE' });
        }
        return chatMessages.load(key);
      },
      clear: () => chatMessages.clearAll(),
    },
  };
}

export type Loaders = ReturnType<typeof createLoaders>;

import { type EntityManager, type FilterQuery, UniqueConstraintViolationException } from '@mikro-orm/core';
import type { Viewer } from '../core/viewer';
import { isId } from '../core/ids';
import { ChatActivity } from '../db/entities/chat-activity.entity';
import { ChatTag } from '../db/entities/chat-tag.entity';
import { Chat, DEFAULT_CATEGORY } from '../db/entities/chat.entity';
import { Message } from '../db/entities/message.entity';
import { User } from '../db/entities/user.entity';
import { BadRequestError, NotFoundError, UnauthenticatedError } from '../core/errors';
import { authorOf, type ModerationService } from '../moderation/moderation.service';
import { CHAT_LIMITS, checkSaveChatInput, type MessageInput, previewOf, type SaveChatInput, titleFrom } from './chat-input';
import { checkPageSize, decodeCursor, encodeCursor } from '../core/cursor';
import { checkConfirmation } from '../core/confirmation';
import { removeChats, removeChatsWhere } from './chat-removal';

/** What deleteAllChats must be sent, word for word. */
export const DELETE_ALL_CHATS_PHRASE = 'DELETE ALL CHATS';

export interface ChatFilter {
  category?: string | null;
  tag?: string | null;
  starred?: boolean | null;
}

export interface ChatPage {
  nodes: Chat[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  /**
   * Counted only when asked for: graphql-js calls a function-valued field lazily, and most
   * list requests do not select totalCount.
   */
  totalCount: () => Promise<number>;
}

type Where = Record<string, unknown>;
const q = (where: Where) => where as FilterQuery<Chat>;

type ListCursor = { s: number; t: number; i: string };
type SearchCursor = { r: number; t: number; i: string };

/** "a before b" in the list order: newest activity first, then id. */
const before = (a: { at: number; id: string }, b: { at: number; id: string }) => a.at > b.at || (a.at === b.at && a.id > b.id);

/** LIKE pattern for a literal substring; '!' is the escape character on MySQL and SQLite alike. */
export function likePattern(query: string): string {
  return `%${query.toLowerCase().replace(/[!%_]/g, (c) => `!${c}`)}%`;
}

async function findOwnChat(em: EntityManager, viewer: Viewer, id: string): Promise<Chat> {
  const chat = isId(id) ? await em.findOne(Chat, { id, user: viewer.userId }) : null;
  if (!chat) throw new NotFoundError('Chat');
  return chat;
}

/** The viewer's chats. Someone else's chat is NOT_FOUND, never FORBIDDEN. */
export class ChatService {
  constructor(
    private readonly em: EntityManager,
    /** How long a list cursor stays valid. */
    private readonly listCursorTtlMs: number,
    /** Content security for what a save stores; none in tests that build the service alone. */
    private readonly moderation?: ModerationService,
  ) {}

  /** One of the viewer's chats; NOT_FOUND when malformed, absent or someone else's. */
  get(viewer: Viewer, id: string): Promise<Chat> {
    return findOwnChat(this.em, viewer, id);
  }

  /**
   * Newest activity first. The cursor remembers when the first page was read (`s`); a chat
   * that moved since then is placed where it stood at `s`, so pages never repeat or skip a
   * chat that existed then. Chats created after `s` show up on the next first page.
   */
  async list(viewer: Viewer, first: number, after: string | null | undefined, filter: ChatFilter = {}): Promise<ChatPage> {
    checkPageSize(first);
    const cursor = after ? decodeCursor<ListCursor>(after, { s: 'number', t: 'number', i: 'string' }) : undefined;
    if (cursor && Date.now() - cursor.s > this.listCursorTtlMs) {
      throw new BadRequestError('This cursor has expired; start again from the first page', { field: 'after', reason: 'CURSOR_EXPIRED' });
    }
    const snapshot = new Date(cursor?.s ?? Date.now());
    const where = this.filterWhere(viewer, filter);

    const unmoved = await this.em.find(
      Chat,
      q({
        ...where,
        updatedAt: { $lte: snapshot },
        ...(cursor ? { $or: [{ updatedAt: { $lt: new Date(cursor.t) } }, { updatedAt: new Date(cursor.t), id: { $lt: cursor.i } }] } : {}),
      }),
      { orderBy: { updatedAt: 'desc', id: 'desc' }, limit: first + 1 },
    );
    let placed = unmoved.map((chat) => ({ chat, at: chat.updatedAt.getTime(), id: chat.id }));

    if (cursor) {
      // Chats that moved since the snapshot, at their position as of the snapshot.
      const moves = await this.em.find(ChatActivity, { userId: viewer.userId, changedAt: { $gt: snapshot } }, { orderBy: { changedAt: 'asc', id: 'asc' } });
      const positionAtSnapshot = new Map<string, number>();
      for (const m of moves) if (!positionAtSnapshot.has(m.chatId)) positionAtSnapshot.set(m.chatId, m.previousUpdatedAt.getTime());
      const candidates = [...positionAtSnapshot].filter(([id, at]) => before({ at: cursor.t, id: cursor.i }, { at, id })).map(([id]) => id);
      if (candidates.length) {
        const moved = await this.em.find(Chat, q({ ...where, id: { $in: candidates }, createdAt: { $lte: snapshot } }));
        placed = placed.concat(moved.map((chat) => ({ chat, at: positionAtSnapshot.get(chat.id)!, id: chat.id })));
        placed.sort((a, b) => (before(a, b) ? -1 : 1));
      }
    }

    const page = placed.slice(0, first);
    const last = page.at(-1);
    return {
      nodes: page.map((p) => p.chat),
      pageInfo: {
        hasNextPage: placed.length > first,
        endCursor: last ? encodeCursor({ s: snapshot.getTime(), t: last.at, i: last.id }) : null,
      },
      totalCount: () => this.em.count(Chat, q(where)),
    };
  }

  /**
   * Chats whose title, tags or any message shown (the selected versions) contain `query` (a literal substring, any case,
   * Chinese or English). Title matches first, then tag matches, then content; newest first.
   */
  async search(viewer: Viewer, rawQuery: string, first: number, after?: string | null): Promise<ChatPage> {
    checkPageSize(first);
    const query = rawQuery.trim();
    if (!query) throw new BadRequestError('query must not be empty', { field: 'query', reason: 'EMPTY' });
    if (query.length > CHAT_LIMITS.searchQuery) throw new BadRequestError(`query is at most ${CHAT_LIMITS.searchQuery} characters`, { field: 'query', reason: 'TOO_LONG' });
    const cursor = after ? decodeCursor<SearchCursor>(after, { r: 'number', t: 'number', i: 'string' }) : undefined;

    const pattern = likePattern(query);
    const like = (column: string) => `lower(${column}) like ? escape '!'`;
    const matches = `
      select c.id, c.updated_at, case when ${like('c.title')} then 0
        when exists (select 1 from chat_tags t where t.chat_id = c.id and ${like('t.tag')}) then 1 else 2 end as match_rank
      from chats c
      where c.user_id = ? and (${like('c.title')}
        or exists (select 1 from chat_tags t where t.chat_id = c.id and ${like('t.tag')})
        or exists (select 1 from messages m where m.chat_id = c.id and m.on_path = 1 and ${like('m.content')}))`;
    const params = [pattern, pattern, viewer.userId, pattern, pattern, pattern];
    const conn = this.em.getConnection();
    const keyset = cursor ? 'where match_rank > ? or (match_rank = ? and (updated_at < ? or (updated_at = ? and id < ?)))' : '';
    const at = cursor && this.em.getPlatform().processDateProperty(new Date(cursor.t));
    const keysetParams = cursor ? [cursor.r, cursor.r, at, at, cursor.i] : [];
    const rows: Array<{ id: string; updated_at: string | Date | number; match_rank: number | string }> = await conn.execute(
      `select id, updated_at, match_rank from (${matches}) found ${keyset} order by match_rank asc, updated_at desc, id desc limit ?`,
      [...params, ...keysetParams, first + 1],
    );

    const page = rows.slice(0, first);
    const chats = page.length ? await this.em.find(Chat, { id: { $in: page.map((r) => r.id) } }) : [];
    const byId = new Map(chats.map((c) => [c.id, c]));
    const last = page.at(-1);
    const lastChat = last && byId.get(last.id);
    return {
      nodes: page.map((r) => byId.get(r.id)!).filter(Boolean),
      pageInfo: {
        hasNextPage: rows.length > first,
        endCursor: last && lastChat ? encodeCursor({ r: Number(last.match_rank), t: lastChat.updatedAt.getTime(), i: last.id }) : null,
      },
      totalCount: async () => Number((await conn.execute(`select count(*) as total from (${matches}) found`, params))[0].total),
    };
  }

  /**
   * Creates a chat (with the client's id when it gives an unused one), or replaces the title,
   * messages, category, tags and star of one of the viewer's. Every limit is checked before anything is written (BAD_REQUEST with the field),
   * then content security (FORBIDDEN: CONTENT_BLOCKED with the field, ACCOUNT_SUSPENDED).
   */
  async save(viewer: Viewer, raw: SaveChatInput): Promise<Chat> {
    const { input, checked } = await this.screen(viewer, raw, checkSaveChatInput(raw));
    const write = () => this.em.transactional(async (em) => {
      const existing = input.id ? await em.findOne(Chat, { id: input.id }) : null;
      let chat: Chat;
      if (existing) {
        if (existing.user.id !== viewer.userId) throw new NotFoundError('Chat');
        chat = existing;
        await em.nativeDelete(Message, { chat: chat.id });
        if (checked.tags) await em.nativeDelete(ChatTag, { chat: chat.id });
        touchChat(em, chat);
      } else {
        // An unused id given by the client (checked well-formed above) names the new chat.
        chat = em.create(Chat, { ...(input.id ? { id: input.id } : {}), user: em.getReference(User, viewer.userId), title: checked.title ?? titleFrom(input.messages) });
      }
      if (checked.title !== undefined) chat.title = checked.title;
      if (input.category !== undefined && input.category !== null) chat.category = checked.category ?? DEFAULT_CATEGORY;
      if (input.isStarred !== undefined && input.isStarred !== null) chat.isStarred = input.isStarred;
      const now = Date.now();
      // A saved chat is one branch: each message follows the one before it.
      let parentId: string | null = null;
      input.messages.forEach((m, position) => {
        const row: Message = em.create(Message, {
          chat,
          userId: viewer.userId,
          position,
          parentId,
          role: m.role,
          content: m.content,
          createdAt: m.timestamp ?? new Date(now),
        });
        parentId = row.id;
      });
      chat.messageCount = input.messages.length;
      chat.preview = previewOf(input.messages.at(-1)?.content);
      checked.tags?.forEach((tag, position) => em.create(ChatTag, { chat, tag, userId: viewer.userId, position }));
      await em.flush();
      return chat;
    });
    try {
      return await write();
    } catch (error) {
      // Another save created a chat with the same client id in the meantime: run again, which
      // now finds it (replaced when it is the viewer's, NOT_FOUND when it is someone else's).
      if (input.id && error instanceof UniqueConstraintViolationException) return write();
      throw error;
    }
  }

  /** A save's texts through content security: the input with masked texts where the checker masked them. */
  private async screen(viewer: Viewer, input: SaveChatInput, checked: ReturnType<typeof checkSaveChatInput>) {
    if (!this.moderation) return { input, checked };
    const user = await this.em.findOne(User, viewer.userId);
    if (!user) throw new UnauthenticatedError('Account not found');
    this.moderation.assertNotSuspended(user);
    const tags = checked.tags ?? [];
    const items = [
      ...(checked.title ? [{ field: 'title', text: checked.title }] : []),
      ...(checked.category ? [{ field: 'category', text: checked.category }] : []),
      ...tags.map((text, i) => ({ field: `tags.${i}`, text })),
      ...input.messages.map((m, i) => ({ field: `messages.${i}.content`, text: m.content })),
    ];
    const texts = await this.moderation.checkInput(authorOf(user), items);
    const next = () => texts.shift()!;
    const title = checked.title && next();
    const category = checked.category && next();
    const screenedTags = checked.tags && tags.map(next);
    const messages: MessageInput[] = input.messages.map((m) => ({ ...m, content: next() }));
    return { input: { ...input, messages }, checked: { title, category, tags: screenedTags } };
  }

  /** Deletes those of the ids that are the viewer's chats; others are ignored. Returns how many. */
  async delete(viewer: Viewer, ids: string[]): Promise<number> {
    if (ids.length > CHAT_LIMITS.deletePerCall) {
      throw new BadRequestError(`at most ${CHAT_LIMITS.deletePerCall} ids at once`, { field: 'ids', reason: 'TOO_MANY' });
    }
    const wanted = [...new Set(ids.filter(isId))];
    if (!wanted.length) return 0;
    return this.em.transactional(async (em) => {
      const mine = (await em.find(Chat, { id: { $in: wanted }, user: viewer.userId }, { fields: ['id'] })).map((c) => c.id);
      return removeChats(em, mine);
    });
  }

  /**
   * Deletes every chat of the viewer (the "clear all history" a front end confirms first):
   * `confirm` must be the phrase DELETE ALL CHATS, so a stray call does nothing. Returns how
   * many chats went.
   */
  async deleteAll(viewer: Viewer, confirm: string): Promise<number> {
    checkConfirmation(confirm, DELETE_ALL_CHATS_PHRASE);
    return removeChatsWhere(this.em, { user: viewer.userId });
  }

  /** Stars or unstars one of the viewer's chats; does not change its place in the list. */
  async star(viewer: Viewer, id: string, starred: boolean): Promise<Chat> {
    const chat = await this.get(viewer, id);
    chat.isStarred = starred;
    await this.em.flush();
    return chat;
  }

  /** Moves a chat to "now" in the list, remembering where it was for open cursors. */

  private filterWhere(viewer: Viewer, filter: ChatFilter): Where {
    const where: Where = { user: viewer.userId };
    if (filter.category != null) where.category = filter.category;
    if (filter.starred != null) where.isStarred = filter.starred;
    if (filter.tag != null) where.tagRows = { tag: filter.tag };
    return where;
  }
}

/**
 * Marks a chat as changed now: moves its updatedAt and records where it was, so list
 * cursors taken before the change still page correctly.
 */
export function touchChat(em: EntityManager, chat: Chat, at = new Date()): void {
  em.create(ChatActivity, { chatId: chat.id, userId: chat.user.id, previousUpdatedAt: chat.updatedAt, changedAt: at });
  chat.updatedAt = at;
}

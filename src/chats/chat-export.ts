import { once } from 'node:events';
import { PassThrough, Readable, type Writable } from 'node:stream';
import type { EntityManager } from '@mikro-orm/core';
import { ZipFile } from 'yazl';
import type { Viewer } from '../core/viewer';
import { ChatTag } from '../db/entities/chat-tag.entity';
import { Chat } from '../db/entities/chat.entity';
import { Message, Role } from '../db/entities/message.entity';
import { UNTITLED } from './chat-input';

/** The `format` field of this server's export: an import checks it. */
export const EXPORT_FORMAT = 'chat-assistant-export';
export const EXPORT_VERSION = 1;

/** Chats read per query, and messages per query within a chat: memory stays bounded whatever the account holds. */
const CHAT_BATCH = 50;
const MESSAGE_BATCH = 200;

export interface ExportedMessage {
  id: string;
  /** Order within the chat (creation order; versions of a turn each have their own). */
  position: number;
  role: Role;
  content: string;
  reasoning: string | null;
  status: string;
  finishReason: string | null;
  model: string | null;
  createdAt: string;
  rating: string | null;
  ratingComment: string | null;
  /** Present when messages have versions (edits and regenerations): the message this one follows... */
  parentId?: string | null;
  version?: number | null;
  /** ...which of a turn's versions is selected... */
  selectedRank?: number | null;
  /** ...and whether the message is on the branch the chat shows. */
  onPath?: boolean;
}

export interface ExportedChat {
  id: string;
  title: string;
  category: string;
  tags: string[];
  isStarred: boolean;
  createdAt: string;
  updatedAt: string;
  /** Read page by page as the writer asks for them. */
  messages: AsyncIterable<ExportedMessage>;
}

/**
 * The columns of message versions: exported when the entity has them, so the export carries
 * the whole tree of a chat, and reads the same whether or not a server has versions.
 */
export const VERSION_PROPS = ['parentId', 'version', 'selectedRank', 'onPath'] as const;

/** Which of VERSION_PROPS the Message entity has. */
export function versionPropsOf(em: EntityManager): string[] {
  const props = (em.getMetadata().find(Message.name)?.properties ?? {}) as Record<string, unknown>;
  return VERSION_PROPS.filter((p) => props[p] !== undefined);
}

function exportedMessage(m: Message, optional: readonly string[]): ExportedMessage {
  const out: ExportedMessage = {
    id: m.id,
    position: m.position,
    role: m.role,
    content: m.content,
    reasoning: m.reasoning ?? null,
    status: m.status,
    finishReason: m.finishReason ?? null,
    model: m.model ?? null,
    createdAt: m.createdAt.toISOString(),
    rating: m.rating ?? null,
    ratingComment: m.ratingComment ?? null,
  };
  const row = m as unknown as Record<string, unknown>;
  for (const prop of optional) {
    const value = row[prop];
    // A relation (parent) is exported as its id.
    const plain = value && typeof value === 'object' && 'id' in value ? (value as { id: unknown }).id : value;
    (out as unknown as Record<string, unknown>)[prop] = plain ?? null;
  }
  return out;
}

/**
 * The viewer's chats, oldest id first, a batch at a time, each batch in its own forked
 * EntityManager so the identity map does not grow with the account. Messages are read in
 * pages when the writer reaches them.
 */
export async function* exportChats(em: EntityManager, viewer: Viewer): AsyncGenerator<ExportedChat> {
  const optional = versionPropsOf(em);
  let after = '';
  for (;;) {
    const batchEm = em.fork();
    const chats = await batchEm.find(Chat, { user: viewer.userId, id: { $gt: after } }, { orderBy: { id: 'asc' }, limit: CHAT_BATCH });
    if (!chats.length) return;
    const tagRows = await batchEm.find(ChatTag, { chat: { $in: chats.map((c) => c.id) } }, { orderBy: { position: 'asc' } });
    const tags = new Map<string, string[]>();
    for (const t of tagRows) tags.set(t.chat.id, [...(tags.get(t.chat.id) ?? []), t.tag]);
    for (const chat of chats) {
      yield {
        id: chat.id,
        title: chat.title,
        category: chat.category,
        tags: tags.get(chat.id) ?? [],
        isStarred: chat.isStarred,
        createdAt: chat.createdAt.toISOString(),
        updatedAt: chat.updatedAt.toISOString(),
        messages: messagesOf(em, chat.id, optional),
      };
    }
    after = chats.at(-1)!.id;
  }
}

/** A chat's messages in order (position, then id: versions of a turn share a position). */
async function* messagesOf(em: EntityManager, chatId: string, optional: readonly string[]): AsyncGenerator<ExportedMessage> {
  let last: { position: number; id: string } | undefined;
  for (;;) {
    const pageEm = em.fork();
    const where = last ? { chat: chatId, $or: [{ position: { $gt: last.position } }, { position: last.position, id: { $gt: last.id } }] } : { chat: chatId };
    const page = await pageEm.find(Message, where, { orderBy: { position: 'asc', id: 'asc' }, limit: MESSAGE_BATCH });
    for (const m of page) yield exportedMessage(m, optional);
    if (page.length < MESSAGE_BATCH) return;
    const end = page.at(-1)!;
    last = { position: end.position, id: end.id };
  }
}

/** Writes with back-pressure; throws when the reader went away (the response closed). */
async function write(out: Writable, chunk: string): Promise<void> {
  if (out.destroyed || out.writableEnded) throw new Error('the export stream was closed');
  if (out.write(chunk)) return;
  const closed = once(out, 'close').then(() => {
    throw new Error('the export stream was closed');
  });
  await Promise.race([once(out, 'drain'), closed]);
  closed.catch(() => undefined);
}

/**
 * This server's JSON export, written as it is read: `{"format", "version", "exportedAt",
 * "chats": [...]}` with every message of every chat. Ends `out` when done.
 */
export async function writeJsonExport(chats: AsyncIterable<ExportedChat>, out: Writable, exportedAt = new Date()): Promise<void> {
  await write(out, `{"format":${JSON.stringify(EXPORT_FORMAT)},"version":${EXPORT_VERSION},"exportedAt":${JSON.stringify(exportedAt.toISOString())},"chats":[`);
  let firstChat = true;
  for await (const chat of chats) {
    const { messages, ...fields } = chat;
    const head = JSON.stringify({ ...fields, messages: [] }).slice(0, -2);
    await write(out, `${firstChat ? '' : ','}${head}`);
    firstChat = false;
    let firstMessage = true;
    for await (const m of messages) {
      await write(out, `${firstMessage ? '' : ','}${JSON.stringify(m)}`);
      firstMessage = false;
    }
    await write(out, ']}');
  }
  await write(out, ']}');
  out.end();
}

const SPEAKER: Record<Role, string> = { [Role.USER]: '用户', [Role.ASSISTANT]: 'AI', [Role.SYSTEM]: '系统' };
/** Characters no common file system accepts in a name, and controls. */
// eslint-disable-next-line no-control-regex
const UNSAFE_NAME = /[\\/:*?"<>|\u0000-\u001f\u007f]/g;
const NAME_LENGTH = 60;

/** A file name from a title: no path separators or reserved characters, no leading dots, not too long. */
export function safeFileName(title: string): string {
  const cleaned = title.replace(UNSAFE_NAME, '_').replace(/\s+/g, ' ').trim().replace(/^\.+/, '').trim();
  const short = Array.from(cleaned).slice(0, NAME_LENGTH).join('').trim();
  return short || UNTITLED;
}

/** Names made unique within one zip (case-insensitively, as Windows and macOS compare): "a.md", "a (2).md". */
function uniqueName(base: string, used: Set<string>): string {
  for (let n = 1; ; n++) {
    const name = n === 1 ? `${base}.md` : `${base} (${n}).md`;
    if (!used.has(name.toLowerCase())) {
      used.add(name.toLowerCase());
      return name;
    }
  }
}

const timeOf = (iso: string) => iso.replace('T', ' ').replace(/\.\d+Z$/, ' UTC');

/** One chat as Markdown, a message at a time. */
async function* markdownOf(chat: ExportedChat): AsyncGenerator<string> {
  const facts = [`- 创建于 ${timeOf(chat.createdAt)}`, `- 分类：${chat.category}`];
  if (chat.tags.length) facts.push(`- 标签：${chat.tags.join('、')}`);
  if (chat.isStarred) facts.push('- 已收藏');
  yield `# ${chat.title}\n\n${facts.join('\n')}\n`;
  for await (const m of chat.messages) {
    yield `\n---\n\n**${SPEAKER[m.role] ?? m.role}** · ${timeOf(m.createdAt)}\n\n${m.content}\n`;
  }
}

/**
 * A zip with one Markdown file per chat, written as it is read: yazl takes one entry's stream
 * at a time, and the next chat is only read once the previous one is in the zip. Ends `out`.
 */
export async function writeMarkdownZip(chats: AsyncIterable<ExportedChat>, out: Writable): Promise<void> {
  const zip = new ZipFile();
  const output = zip.outputStream as Readable;
  output.pipe(out);
  const outClosed = new Promise<void>((resolve) => out.once('close', resolve));
  const used = new Set<string>();
  try {
    for await (const chat of chats) {
      if (out.destroyed) throw new Error('the export stream was closed');
      const entry = new PassThrough();
      const source = Readable.from(markdownOf(chat));
      source.once('error', (err) => entry.destroy(err));
      source.pipe(entry);
      zip.addReadStream(entry, uniqueName(safeFileName(chat.title), used), { mtime: new Date(chat.updatedAt) });
      // Wait until this chat is in the zip (or the reader went away) before reading the next.
      await Promise.race([once(entry, 'end'), outClosed.then(() => Promise.reject(new Error('the export stream was closed')))]);
    }
    zip.end();
  } catch (err) {
    output.unpipe(out);
    throw err;
  }
}

import { MAX_MESSAGE_LENGTH, Role } from '../db/entities/message.entity';
import { BadRequestError, type ReasonOf } from '../core/errors';
import { isId } from '../core/ids';

export const CHAT_LIMITS = {
  title: 200,
  tags: 20,
  tagLength: 32,
  category: 32,
  messagesPerSave: 500,
  deletePerCall: 100,
  searchQuery: 100,
} as const;

export interface MessageInput {
  role: Role;
  content: string;
  timestamp?: Date | null;
}

export interface SaveChatInput {
  id?: string | null;
  title?: string | null;
  messages: MessageInput[];
  category?: string | null;
  tags?: string[] | null;
  isStarred?: boolean | null;
}

const bad = (field: string, reason: ReasonOf<'BAD_REQUEST'>, message: string) => new BadRequestError(message, { field, reason });

/** Checks every limit before anything is written; returns trimmed, de-duplicated values. */
export function checkSaveChatInput(input: SaveChatInput): { title?: string; category?: string; tags?: string[] } {
  // A well-formed id that nobody uses creates the chat with it (offline-first clients make
  // their own ids), so a malformed one must be refused here rather than treated as unknown.
  if (input.id && !isId(input.id)) throw bad('id', 'INVALID', 'id is 26 characters of lowercase Crockford base32, as the server makes them');
  const title = input.title?.trim();
  if (title !== undefined && title.length > CHAT_LIMITS.title) throw bad('title', 'TOO_LONG', `title is at most ${CHAT_LIMITS.title} characters`);
  const category = input.category?.trim();
  if (category !== undefined && category.length > CHAT_LIMITS.category) throw bad('category', 'TOO_LONG', `category is at most ${CHAT_LIMITS.category} characters`);
  let tags: string[] | undefined;
  if (input.tags) {
    tags = [...new Set(input.tags.map((t) => t.trim()))];
    if (tags.length > CHAT_LIMITS.tags) throw bad('tags', 'TOO_MANY', `at most ${CHAT_LIMITS.tags} tags`);
    const i = tags.findIndex((t) => t.length === 0 || t.length > CHAT_LIMITS.tagLength);
    if (i >= 0) throw bad(`tags.${i}`, tags[i].length ? 'TOO_LONG' : 'EMPTY', `each tag is 1 to ${CHAT_LIMITS.tagLength} characters`);
  }
  if (input.messages.length > CHAT_LIMITS.messagesPerSave) {
    throw bad('messages', 'TOO_MANY', `at most ${CHAT_LIMITS.messagesPerSave} messages in one save`);
  }
  input.messages.forEach((m, i) => {
    if (m.content.length > MAX_MESSAGE_LENGTH) throw bad(`messages.${i}.content`, 'TOO_LONG', `a message is at most ${MAX_MESSAGE_LENGTH} characters`);
  });
  return { title: title || undefined, category: category || undefined, tags };
}

const PREVIEW_LENGTH = 100;
const TITLE_FROM_MESSAGE_LENGTH = 30;
export const UNTITLED = '新对话';

/** The first characters (whole code points, so no emoji is cut in half), whitespace folded. */
function start(text: string, length: number): string {
  return Array.from(text.replace(/\s+/g, ' ').trim()).slice(0, length).join('');
}

export function previewOf(content: string | undefined): string {
  return start(content ?? '', PREVIEW_LENGTH);
}

/** A new chat without a title is named after its first user message. */
export function titleFrom(messages: readonly MessageInput[]): string {
  const first = messages.find((m) => m.role === Role.USER && m.content.trim());
  return first ? start(first.content, TITLE_FROM_MESSAGE_LENGTH) : UNTITLED;
}

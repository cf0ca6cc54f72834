import type { Readable } from 'node:stream';
import type { EntityManager, RequiredEntityData } from '@mikro-orm/core';
import { AppError, BadRequestError, PayloadTooLargeError, UnauthenticatedError } from '../core/errors';
import { newId } from '../core/ids';
import { checkText } from '../core/text';
import type { Viewer } from '../core/viewer';
import { ChatTag } from '../db/entities/chat-tag.entity';
import { Chat, DEFAULT_CATEGORY } from '../db/entities/chat.entity';
import { MAX_MESSAGE_LENGTH, Message, MessageStatus } from '../db/entities/message.entity';
import { User } from '../db/entities/user.entity';
import { authorOf, type ModerationService } from '../moderation/moderation.service';
import type { InputItem } from '../moderation/types';
import { checkSaveChatInput, previewOf, titleFrom } from './chat-input';
import { versionPropsOf } from './chat-export';
import { ImportFormat, malformed, type ParsedChat, parseImport } from './chat-import-formats';

export { ImportFormat } from './chat-import-formats';

export const IMPORT_LIMITS = {
  /** An export of a heavy account is a few MB; a file this big is not a chat history. */
  fileBytes: 20 * 1024 * 1024,
  chats: 1000,
  /** The model column's length. */
  model: 64,
} as const;

/** An uploaded file as graphql-upload (or the REST layer) hands it over. */
export interface ImportUpload {
  createReadStream(): Readable;
}

export interface ImportFailure {
  /** The chat's place in the file, from 0. */
  index: number;
  title: string | null;
  /** A `details.reason` (CONTENT_BLOCKED, TOO_LONG, TOO_MANY, INVALID, ...). */
  reason: string;
}

export interface ImportResult {
  imported: number;
  failed: ImportFailure[];
}

const tooLarge = (max: number) => new PayloadTooLargeError(`The import file is over the ${Math.floor(max / 1024 / 1024)} MB limit`, { field: 'file', reason: 'FILE_TOO_LARGE' });

/** Upload errors from graphql-upload and busboy carry an HTTP status. */
function uploadError(err: unknown, max: number): AppError {
  if (err instanceof AppError) return err;
  const status = (err as { status?: number } | null)?.status;
  if (status === 413) return tooLarge(max);
  return new BadRequestError('The upload could not be read', { field: 'file', reason: 'UPLOAD_FAILED' });
}

/**
 * Imports chats from a file as new chats of the viewer (new ids; nothing existing is touched).
 * The file is refused whole when it is not the chosen format (MALFORMED_IMPORT), over the
 * size limit or holds too many chats; otherwise each chat is checked (the saveChat limits,
 * valid text, content security) and written in a transaction of its own, so a chat is either
 * all there or absent, and the ones that fail are reported with their index and reason.
 */
export class ChatImportService {
  constructor(
    private readonly em: EntityManager,
    private readonly moderation?: ModerationService,
    private readonly limits: { fileBytes: number; chats: number } = IMPORT_LIMITS,
  ) {}

  async import(viewer: Viewer, upload: Promise<ImportUpload> | ImportUpload, format: ImportFormat = ImportFormat.NATIVE): Promise<ImportResult> {
    const user = await this.em.findOne(User, viewer.userId);
    if (!user) throw new UnauthenticatedError('Account not found');
    this.moderation?.assertNotSuspended(user);
    const doc = parseJson(await this.read(upload));
    const entries = parseImport(format, doc);
    if (entries.length > this.limits.chats) throw new BadRequestError(`at most ${this.limits.chats} chats in one import`, { field: 'file', reason: 'TOO_MANY' });

    const result: ImportResult = { imported: 0, failed: [] };
    for (const [index, entry] of entries.entries()) {
      if ('invalid' in entry) {
        result.failed.push({ index, title: entry.title ?? null, reason: 'INVALID' });
        continue;
      }
      try {
        const chat = await this.screen(user, check(entry.chat));
        await this.write(viewer, chat);
        result.imported++;
      } catch (err) {
        // Only the refusals of this one chat; anything else (the database down) ends the import.
        if (!(err instanceof AppError) || err.code === 'INTERNAL_SERVER_ERROR') throw err;
        result.failed.push({ index, title: entry.chat.title || null, reason: err.details?.reason ?? err.code });
      }
    }
    return result;
  }

  /** The whole file, up to the limit, counted as it arrives. */
  private async read(upload: Promise<ImportUpload> | ImportUpload): Promise<Buffer> {
    const max = this.limits.fileBytes;
    const chunks: Buffer[] = [];
    let bytes = 0;
    try {
      const file = await upload;
      for await (const chunk of file.createReadStream()) {
        const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
        bytes += buffer.length;
        if (bytes > max) throw tooLarge(max);
        chunks.push(buffer);
      }
    } catch (err) {
      throw uploadError(err, max);
    }
    return Buffer.concat(chunks);
  }

  /** Content security on every text the chat stores; returns the chat with the texts to store (the webhook may mask). */
  private async screen(user: User, chat: ParsedChat): Promise<ParsedChat> {
    if (!this.moderation) return chat;
    const items: InputItem[] = [
      { field: 'title', text: chat.title },
      ...(chat.category ? [{ field: 'category', text: chat.category }] : []),
      ...(chat.tags ?? []).map((text, i) => ({ field: `tags.${i}`, text })),
      ...chat.messages.flatMap((m, i) => [{ field: `messages.${i}.content`, text: m.content }, ...(m.reasoning ? [{ field: `messages.${i}.reasoning`, text: m.reasoning }] : [])]),
    ];
    const texts = await this.moderation.checkInput(authorOf(user), items);
    const next = () => texts.shift()!;
    const title = next();
    const category = chat.category ? next() : undefined;
    const tags = chat.tags?.map(next);
    const messages = chat.messages.map((m) => ({ ...m, content: next(), reasoning: m.reasoning ? next() : m.reasoning }));
    return { ...chat, title, category, tags, messages };
  }

  private async write(viewer: Viewer, parsed: ParsedChat): Promise<void> {
    const versionProps = new Set(versionPropsOf(this.em));
    const rows = messageRows(parsed, versionProps);
    const shown = parsed.messages.filter((_, i) => rows[i].onPath !== false);
    await this.em.fork().transactional(async (em) => {
      const now = new Date();
      const createdAt = parsed.createdAt ?? parsed.messages[0]?.createdAt ?? now;
      const chat = em.create(Chat, {
        user: em.getReference(User, viewer.userId),
        title: parsed.title,
        category: parsed.category ?? DEFAULT_CATEGORY,
        isStarred: parsed.isStarred ?? false,
        messageCount: shown.length,
        preview: previewOf(shown.at(-1)?.content),
        createdAt,
        updatedAt: parsed.updatedAt ?? parsed.messages.at(-1)?.createdAt ?? createdAt,
      });
      parsed.messages.forEach((m, i) => {
        const row = {
          ...rows[i],
          chat,
          userId: viewer.userId,
          role: m.role,
          content: m.content,
          reasoning: m.reasoning ?? null,
          model: m.model ?? null,
          status: MessageStatus.COMPLETE,
          createdAt: m.createdAt ?? createdAt,
        };
        // The version columns are only named when the entity has them (see VERSION_PROPS).
        em.create(Message, row as unknown as RequiredEntityData<Message>);
      });
      parsed.tags?.forEach((tag, position) => em.create(ChatTag, { chat, tag, userId: viewer.userId, position }));
      await em.flush();
    });
  }
}

/**
 * New ids, positions and version columns of a chat's messages. A native export with versions
 * keeps its tree (parents mapped to the new ids; positions and ranks as exported, which the
 * selection compares); any other chat is one branch, each message following the one before,
 * as saveChat stores it.
 */
function messageRows(chat: ParsedChat, versionProps: ReadonlySet<string>): Array<Record<string, unknown>> {
  const ids = chat.messages.map(() => newId());
  const trees = chat.messages.map((m) => m.tree);
  const isTree = trees.every((t) => t !== undefined) && new Set(trees.map((t) => t!.id)).size === trees.length;
  const indexOf = new Map(trees.map((t, i) => [t?.id, i]));
  // Only a parent earlier in the chat counts: a file cannot make a cycle (the export lists parents first).
  const parentOf = (i: number) => {
    const p = trees[i]?.parentId ? indexOf.get(trees[i]!.parentId!) : undefined;
    return p !== undefined && p < i ? ids[p] : null;
  };
  const positions = trees.map((t) => t?.position);
  const keepPositions = isTree && positions.every((p) => p !== undefined) && new Set(positions).size === positions.length;
  return chat.messages.map((_, i) => {
    const tree = isTree ? trees[i]! : undefined;
    const row: Record<string, unknown> = { id: ids[i], position: keepPositions ? positions[i] : i };
    if (versionProps.has('parentId')) row.parentId = tree ? parentOf(i) : i ? ids[i - 1] : null;
    if (versionProps.has('selectedRank') && tree?.selectedRank !== undefined) row.selectedRank = tree.selectedRank;
    if (versionProps.has('onPath') && tree?.onPath !== undefined) row.onPath = tree.onPath;
    return row;
  });
}

function parseJson(bytes: Buffer): unknown {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw malformed('not UTF-8 text');
  }
  try {
    // TextDecoder drops a byte order mark already; an empty file is not JSON either.
    return JSON.parse(text);
  } catch {
    throw malformed('not JSON');
  }
}

/**
 * The saveChat limits (chat-input.ts) and the text rule, plus the import's own fields; returns
 * the chat with trimmed, de-duplicated title, category and tags. Throws BAD_REQUEST with the reason.
 */
function check(chat: ParsedChat): ParsedChat {
  checkText(chat);
  const checked = checkSaveChatInput({
    title: chat.title,
    category: chat.category,
    tags: chat.tags,
    messages: chat.messages.map((m) => ({ role: m.role, content: m.content })),
  });
  chat.messages.forEach((m, i) => {
    if ((m.reasoning?.length ?? 0) > MAX_MESSAGE_LENGTH) throw new BadRequestError(`a message's reasoning is at most ${MAX_MESSAGE_LENGTH} characters`, { field: `messages.${i}.reasoning`, reason: 'TOO_LONG' });
    if ((m.model?.length ?? 0) > IMPORT_LIMITS.model) throw new BadRequestError(`a model name is at most ${IMPORT_LIMITS.model} characters`, { field: `messages.${i}.model`, reason: 'TOO_LONG' });
  });
  return { ...chat, title: checked.title ?? titleFrom(chat.messages), category: checked.category, tags: checked.tags };
}

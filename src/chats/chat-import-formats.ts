import { BadRequestError } from '../core/errors';
import { Role } from '../db/entities/message.entity';
import { EXPORT_FORMAT } from './chat-export';

/*
 * The import formats, each parsed into one shape (`ParsedChat`). A file whose outer shape is
 * wrong is refused whole (MALFORMED_IMPORT, nothing written); a chat entry whose own shape is
 * wrong becomes that chat's failure (`invalid`), so one odd conversation does not sink the rest.
 */

export enum ImportFormat {
  NATIVE = 'NATIVE',
  CHATGPT = 'CHATGPT',
}

export interface ParsedMessage {
  role: Role;
  content: string;
  reasoning?: string | null;
  model?: string | null;
  createdAt?: Date;
  /** A native export of a chat with versions: its tree, by the exporting server's ids (replaced on import). */
  tree?: { id: string; parentId: string | null; position?: number; selectedRank?: number | null; onPath?: boolean };
}

export interface ParsedChat {
  title: string;
  category?: string;
  tags?: string[];
  isStarred?: boolean;
  createdAt?: Date;
  updatedAt?: Date;
  messages: ParsedMessage[];
}

/** One entry of the file: a chat to import, or why it cannot be (with the title when one could be read). */
export type ParsedEntry = { chat: ParsedChat } | { invalid: string; title?: string };

export const malformed = (message: string) => new BadRequestError(`Malformed import file: ${message}`, { field: 'file', reason: 'MALFORMED_IMPORT' });

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Thrown inside an entry's parser: that entry fails, the others go on. */
class InvalidEntry extends Error {}
const invalid = (message: string): never => {
  throw new InvalidEntry(message);
};

const str = (v: unknown, what: string): string => (typeof v === 'string' ? v : invalid(`${what} is not a string`));
/** The integer columns' range (MySQL INT). */
const MAX_INT = 2_147_483_647;
const optInt = (v: unknown, what: string): number | null | undefined =>
  v === undefined || v === null ? (v as null | undefined) : Number.isInteger(v) && (v as number) >= 0 && (v as number) <= MAX_INT ? (v as number) : invalid(`${what} is not a whole number from 0 to ${MAX_INT}`);

/** A message's place in the tree, when the export has versions (a `parentId` key). */
function treeOf(m: Json, i: number): ParsedMessage['tree'] {
  if (!('parentId' in m)) return undefined;
  if (m.onPath !== undefined && typeof m.onPath !== 'boolean') invalid(`message ${i}'s onPath is not a boolean`);
  return {
    id: str(m.id, `message ${i}'s id`),
    parentId: optStr(m.parentId, `message ${i}'s parentId`),
    position: optInt(m.position, `message ${i}'s position`) ?? undefined,
    selectedRank: optInt(m.selectedRank, `message ${i}'s selectedRank`),
    onPath: m.onPath as boolean | undefined,
  };
}
const optStr = (v: unknown, what: string): string | null => (v === undefined || v === null ? null : str(v, what));

function isoDate(v: unknown, what: string): Date | undefined {
  if (v === undefined || v === null) return undefined;
  const d = typeof v === 'string' ? new Date(v) : undefined;
  return d && !Number.isNaN(d.getTime()) ? d : invalid(`${what} is not an ISO time`);
}

/** ChatGPT's times: seconds since the epoch, with a fraction; sometimes null. */
function epochSeconds(v: unknown): Date | undefined {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) return undefined;
  const d = new Date(Math.round(v * 1000));
  return Number.isNaN(d.getTime()) ? undefined : d;
}

function entry(raw: unknown, parse: (chat: Json) => ParsedChat): ParsedEntry {
  const title = isObject(raw) && typeof raw.title === 'string' ? raw.title : undefined;
  try {
    if (!isObject(raw)) return invalid('a chat is not an object');
    return { chat: parse(raw) };
  } catch (err) {
    if (err instanceof InvalidEntry) return { invalid: err.message, title };
    throw err;
  }
}

const ROLES = new Set<string>(Object.values(Role));

/** This server's export (chat-export.ts), version 1. */
export function parseNative(doc: unknown): ParsedEntry[] {
  if (!isObject(doc) || doc.format !== EXPORT_FORMAT) throw malformed(`not an export of this server ("format" is not "${EXPORT_FORMAT}")`);
  if (doc.version !== 1) throw malformed('unsupported export version');
  if (!Array.isArray(doc.chats)) throw malformed('"chats" is not a list');
  return doc.chats.map((raw) =>
    entry(raw, (c) => {
      if (!Array.isArray(c.messages)) invalid('messages is not a list');
      const tags = c.tags === undefined || c.tags === null ? undefined : Array.isArray(c.tags) ? c.tags.map((t) => str(t, 'a tag')) : invalid('tags is not a list');
      if (c.isStarred !== undefined && c.isStarred !== null && typeof c.isStarred !== 'boolean') invalid('isStarred is not a boolean');
      return {
        title: optStr(c.title, 'title') ?? '',
        category: optStr(c.category, 'category') ?? undefined,
        tags,
        isStarred: (c.isStarred as boolean | null | undefined) ?? undefined,
        createdAt: isoDate(c.createdAt, 'createdAt'),
        updatedAt: isoDate(c.updatedAt, 'updatedAt'),
        messages: (c.messages as unknown[]).map((m, i) => {
          if (!isObject(m)) return invalid(`message ${i} is not an object`);
          if (typeof m.role !== 'string' || !ROLES.has(m.role)) return invalid(`message ${i} has no known role`);
          return {
            role: m.role as Role,
            content: str(m.content, `message ${i}'s content`),
            reasoning: optStr(m.reasoning, `message ${i}'s reasoning`),
            model: optStr(m.model, `message ${i}'s model`),
            createdAt: isoDate(m.createdAt, `message ${i}'s createdAt`),
            tree: treeOf(m, i),
          };
        }),
      };
    }),
  );
}

const CHATGPT_ROLES: Record<string, Role | undefined> = { user: Role.USER, assistant: Role.ASSISTANT, system: Role.SYSTEM };
/** Content types whose string parts are the text (multimodal_text mixes them with image pointers). */
const TEXT_CONTENT = new Set(['text', 'multimodal_text']);

/** The text of one ChatGPT node, or undefined when it is not a visible text message. */
function chatgptMessage(node: Json): ParsedMessage | undefined {
  const message = node.message;
  if (!isObject(message)) return undefined;
  const role = isObject(message.author) && typeof message.author.role === 'string' ? CHATGPT_ROLES[message.author.role] : undefined;
  const content = message.content;
  if (!role || !isObject(content) || !TEXT_CONTENT.has(content.content_type as string) || !Array.isArray(content.parts)) return undefined;
  // Tool calls are addressed to a tool, not to the user.
  if (typeof message.recipient === 'string' && message.recipient !== 'all') return undefined;
  const metadata = isObject(message.metadata) ? message.metadata : {};
  if (metadata.is_visually_hidden_from_conversation === true) return undefined;
  const text = content.parts.filter((p): p is string => typeof p === 'string').join('\n');
  if (!text.trim()) return undefined;
  return { role, content: text, createdAt: epochSeconds(message.create_time), model: role === Role.ASSISTANT && typeof metadata.model_slug === 'string' ? metadata.model_slug : null };
}

/**
 * ChatGPT's conversations.json: an array of conversations whose messages form a tree
 * (`mapping`: edits and regenerations branch). The visible conversation is the path from the
 * root to `current_node`, read by following `parent` up from it.
 */
export function parseChatgpt(doc: unknown): ParsedEntry[] {
  if (!Array.isArray(doc)) throw malformed('a ChatGPT export (conversations.json) is a list of conversations');
  return doc.map((raw) =>
    entry(raw, (c) => {
      const mapping = isObject(c.mapping) ? c.mapping : invalid('mapping is not an object');
      const path: ParsedMessage[] = [];
      const seen = new Set<string>();
      let id: unknown = c.current_node;
      while (typeof id === 'string') {
        // A cycle would loop forever; a missing node is a damaged file.
        if (seen.has(id)) invalid('mapping has a cycle');
        seen.add(id);
        const node = mapping[id];
        if (!isObject(node)) invalid(`current_node's path names a missing node ${id}`);
        const message = chatgptMessage(node as Json);
        if (message) path.push(message);
        id = (node as Json).parent;
      }
      if (c.current_node !== undefined && typeof c.current_node !== 'string') invalid('current_node is not a string');
      return {
        title: optStr(c.title, 'title') ?? '',
        createdAt: epochSeconds(c.create_time),
        updatedAt: epochSeconds(c.update_time),
        messages: path.reverse(),
      };
    }),
  );
}

export function parseImport(format: ImportFormat, doc: unknown): ParsedEntry[] {
  return format === ImportFormat.CHATGPT ? parseChatgpt(doc) : parseNative(doc);
}

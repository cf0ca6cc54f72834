import type { EntityManager } from '@mikro-orm/core';
import type { Chat } from '../db/entities/chat.entity';
import { Message } from '../db/entities/message.entity';
import { previewOf } from './chat-input';

/*
 * A chat's messages as a tree of versions. Every message has a parent (the message it
 * answers or follows; null for the first turn), versions of a turn are siblings, and at each
 * level the sibling with the highest rank is selected. The selected path runs from the
 * selected root down through selected children to a leaf; it is what the chat shows, and the
 * `onPath` column keeps it so listing, counting and search need no tree walk.
 */

/** One message as far as the tree goes. */
export interface TreeNode {
  id: string;
  parentId: string | null;
  position: number;
  /** `selectedRank`, or the position when unset. */
  rank: number;
  onPath: boolean;
  /**
   * Written before versions existed, or by code that does not know them (imports): no
   * selectedRank. Such a row without a parent follows the row before it, as chats were linear.
   */
  unranked: boolean;
}

/** How many ids one `in (...)` update takes: keeps statements bounded on long chats. */
const UPDATE_BATCH = 500;

/** Raw rows inside the caller's transaction, if any (a raw query does not join it by itself). */
function select(em: EntityManager, sql: string, params: unknown[]): Promise<Array<Record<string, unknown>>> {
  return em.getConnection().execute(sql, params, 'all', em.getTransactionContext());
}

/** Every message of a chat as tree nodes: a few small columns per row, so even long chats read quickly. */
export async function loadTree(em: EntityManager, chatId: string): Promise<TreeNode[]> {
  const rows = await select(em, 'select id, parent_id, position, selected_rank, on_path from messages where chat_id = ? order by position', [chatId]);
  let previous: string | null = null;
  return rows.map((r) => {
    const unranked = r.selected_rank == null;
    const node = {
      id: r.id as string,
      parentId: (r.parent_id as string | null) ?? (unranked ? previous : null),
      position: Number(r.position),
      rank: unranked ? Number(r.position) : Number(r.selected_rank),
      // MySQL answers tinyint 0/1, SQLite 0/1 or a boolean.
      onPath: r.on_path === true || Number(r.on_path) === 1,
      unranked,
    };
    previous = node.id;
    return node;
  });
}

/**
 * Writes out the parents and ranks `loadTree` inferred for unranked rows, before a chat gets
 * its first versions: from then on siblings are counted by `parent_id` alone (message.loaders.ts).
 * Once per chat (and per save or import that rewrites it); in the chat's lock.
 */
export async function rankAll(em: EntityManager, nodes: TreeNode[]): Promise<void> {
  for (const n of nodes.filter((m) => m.unranked)) {
    await em.nativeUpdate(Message, { id: n.id }, { parentId: n.parentId, selectedRank: n.rank });
    n.unranked = false;
  }
}

/** The selected child of each parent (null: the selected root): the one with the highest rank. */
function chosenChildren(nodes: readonly TreeNode[]): Map<string | null, TreeNode> {
  const chosen = new Map<string | null, TreeNode>();
  for (const n of nodes) {
    const best = chosen.get(n.parentId);
    if (!best || n.rank > best.rank) chosen.set(n.parentId, n);
  }
  return chosen;
}

/** The selected path, root first: at each level the child with the highest rank. */
export function selectedPath(nodes: readonly TreeNode[]): TreeNode[] {
  const chosen = chosenChildren(nodes);
  const path: TreeNode[] = [];
  const seen = new Set<string>();
  // `seen` guards against a cycle, which only hand-edited rows could make.
  for (let at = chosen.get(null); at && !seen.has(at.id); at = chosen.get(at.id)) {
    seen.add(at.id);
    path.push(at);
  }
  return path;
}

/** A message and its ancestors, root first (empty when the id is not in the tree). */
export function lineage(nodes: readonly TreeNode[], id: string): TreeNode[] {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const line: TreeNode[] = [];
  const seen = new Set<string>();
  for (let at = byId.get(id); at && !seen.has(at.id); at = at.parentId ? byId.get(at.parentId) : undefined) {
    seen.add(at.id);
    line.unshift(at);
  }
  return line;
}

/** The position a new message of the chat takes (positions are creation order and never reused). */
export const nextPosition = (nodes: readonly TreeNode[]): number => nodes.reduce((max, n) => Math.max(max, n.position + 1), 0);

/** A rank above every other in the chat: a new message, or a chosen one, outranks its siblings. */
export const nextRank = (nodes: readonly TreeNode[]): number => nodes.reduce((max, n) => Math.max(max, n.rank + 1), 0);

/**
 * Makes `id` and each of its ancestors the selected sibling at its level, by raising the rank
 * of those that are not (in `nodes`, in place). Below `id` the ranks stay: the newest, or the
 * one chosen before. Returns the ranks to store.
 */
export function promote(nodes: TreeNode[], id: string): Array<{ id: string; rank: number }> {
  const chosen = chosenChildren(nodes);
  let top = nextRank(nodes) - 1;
  const changes: Array<{ id: string; rank: number }> = [];
  for (const n of lineage(nodes, id)) {
    if (chosen.get(n.parentId)?.id === n.id) continue;
    n.rank = ++top;
    changes.push({ id: n.id, rank: n.rank });
  }
  return changes;
}

/** Stores ranks `promote` raised. */
export async function storeRanks(em: EntityManager, changes: ReadonlyArray<{ id: string; rank: number }>): Promise<void> {
  for (const c of changes) await em.nativeUpdate(Message, { id: c.id }, { selectedRank: c.rank });
}

/**
 * Writes the selected path of `nodes` (the chat's whole tree, as just changed) to `onPath`,
 * and the chat's messageCount and preview to match it. Call inside the transaction that holds
 * the chat's row lock, and flush the chat after. Returns the path.
 */
export async function settlePath(em: EntityManager, chat: Chat, nodes: readonly TreeNode[]): Promise<TreeNode[]> {
  const path = selectedPath(nodes);
  const on = new Set(path.map((n) => n.id));
  const changed = (onPath: boolean) => nodes.filter((n) => on.has(n.id) === onPath && n.onPath !== onPath).map((n) => n.id);
  for (const onPath of [false, true]) {
    const ids = changed(onPath);
    for (let i = 0; i < ids.length; i += UPDATE_BATCH) await em.nativeUpdate(Message, { id: { $in: ids.slice(i, i + UPDATE_BATCH) } }, { onPath });
  }
  chat.messageCount = path.length;
  chat.preview = previewOf(await lastContent(em, path));
  return path;
}

/** The latest text on the path (a reply still streaming, or withheld, has none yet): what the chat's preview shows. */
async function lastContent(em: EntityManager, path: readonly TreeNode[]): Promise<string | undefined> {
  const tail = path.slice(-20).map((n) => n.id);
  if (!tail.length) return undefined;
  const rows = await select(em, `select content from messages where id in (${tail.map(() => '?').join(', ')}) and content <> '' order by position desc limit 1`, tail);
  return rows[0]?.content as string | undefined;
}

/**
 * The messages before `messageId` on its own branch (its ancestors), oldest first, at most
 * `limit`: the history a reply to it is generated from, whichever version is shown now.
 */
export async function ancestorsOf(em: EntityManager, chatId: string, messageId: string, limit: number): Promise<Message[]> {
  const ids = lineage(await loadTree(em, chatId), messageId)
    .slice(0, -1)
    .slice(-limit)
    .map((n) => n.id);
  if (!ids.length) return [];
  return em.find(Message, { id: { $in: ids } }, { orderBy: { position: 'asc' } });
}

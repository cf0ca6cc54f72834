import { type EntityManager, ForeignKeyConstraintViolationException } from '@mikro-orm/core';
import { BadRequestError, NotFoundError } from '../core/errors';
import { isId } from '../core/ids';
import { Chat } from '../db/entities/chat.entity';
import { Message, MessageStatus, Role } from '../db/entities/message.entity';
import { touchChat } from '../chats/chat.service';
import { lineage, loadTree, nextPosition, nextRank, promote, rankAll, settlePath, storeRanks, type TreeNode } from '../chats/message-tree';
import type { CatalogModel } from '../models/model-catalog';
import { HISTORY_TURNS, type OpenedExchange, toTurn } from './recording';

/*
 * The rows of reply versions: regenerateReply adds a reply beside the earlier ones to the
 * same user message, editMessage a user message beside the one it edits (same parent) with
 * a reply to it, and selectMessageVersion picks which branch a chat shows. The reply itself
 * then runs as any other (ReplyService, ReplyRunner, ReplyRecorder).
 */

export interface RegenerateReplyInput {
  /** The reply to generate again, or the user message it answers. */
  messageId: string;
  modelId?: string | null;
  clientMessageId?: string | null;
  stream?: boolean | null;
}

export interface EditMessageInput extends RegenerateReplyInput {
  /** A user message: the edit becomes its sibling. */
  messageId: string;
  content: string;
}

/** BAD_REQUEST for an id that cannot name a message (checked before anything is read). */
export function checkMessageId(messageId: string): void {
  if (!isId(messageId)) throw new BadRequestError('messageId is not a message id', { field: 'messageId', reason: 'INVALID' });
}

/** One of the owner's messages; NOT_FOUND otherwise. */
async function ownMessage(em: EntityManager, ownerId: string, id: string): Promise<Message> {
  const found = await em.findOne(Message, { id, userId: ownerId });
  if (!found) throw new NotFoundError('Message');
  return found;
}

/**
 * What a regenerate answers again: the user message named, or the one the named reply
 * answers. BAD_REQUEST NOT_A_REPLY for anything else (a system message, a reply to no user
 * message).
 */
export async function questionOf(em: EntityManager, ownerId: string, messageId: string): Promise<{ target: Message; question: Message }> {
  const target = await ownMessage(em, ownerId, messageId);
  const question = target.role === Role.USER ? target : target.role === Role.ASSISTANT && target.parentId ? await em.findOne(Message, { id: target.parentId, userId: ownerId }) : null;
  if (!question || question.role !== Role.USER) throw new BadRequestError('Only an AI reply to a user message, or the user message, can be regenerated', { field: 'messageId', reason: 'NOT_A_REPLY' });
  return { target, question };
}

/** The user message an edit replaces; BAD_REQUEST NOT_A_USER_MESSAGE for an AI reply or a system message. */
export async function editedMessage(em: EntityManager, ownerId: string, messageId: string): Promise<Message> {
  const target = await ownMessage(em, ownerId, messageId);
  if (target.role !== Role.USER) throw new BadRequestError('Only your own messages can be edited', { field: 'messageId', reason: 'NOT_A_USER_MESSAGE' });
  return target;
}

/** The model of the newest reply to a user message: a new version keeps it unless the request names another. */
export async function lastModelOf(em: EntityManager, question: Message): Promise<string | null> {
  const reply = await em.findOne(Message, { chat: question.chat.id, parentId: question.id, role: Role.ASSISTANT }, { orderBy: { position: 'desc' } });
  return reply?.model ?? null;
}

/** Takes the chat's row lock (MySQL) and reads its tree: every change of versions queues here, as sends do in `ReplyRecorder.open`. */
async function lockedTree(tx: EntityManager, ownerId: string, chatId: string, messageId: string): Promise<{ chat: Chat; nodes: TreeNode[] }> {
  const chat = await tx.findOne(Chat, { id: chatId, user: ownerId }, { refresh: true });
  if (!chat) throw new NotFoundError('Message');
  await tx.nativeUpdate(Chat, { id: chat.id }, { updatedAt: chat.updatedAt });
  await tx.refresh(chat);
  const nodes = await loadTree(tx, chat.id);
  // Gone since it was read: a saveChat replaced the chat's messages.
  if (!nodes.some((n) => n.id === messageId)) throw new NotFoundError('Message');
  await rankAll(tx, nodes);
  return { chat, nodes };
}

export interface OpenVersion {
  ownerId: string;
  /** regenerate: the user message answered again; edit: the user message edited. */
  anchor: Message;
  /** An edit's new content (screened); absent for a regenerate. */
  edited?: string;
  clientMessageId: string | null;
  model: CatalogModel;
  replyId: string;
}

/**
 * One transaction: the new user message (an edit) and the STREAMING reply, selected, with the
 * chat's path, count and preview settled. The idempotency key goes on the row the request
 * made first: the edited message, or the regenerated reply. The turns are the new reply's own
 * branch up to its user message.
 */
export function openVersion(em: EntityManager, input: OpenVersion): Promise<OpenedExchange> {
  const { ownerId, anchor, edited } = input;
  return em.transactional(async (tx) => {
    const { chat, nodes } = await lockedTree(tx, ownerId, anchor.chat.id, anchor.id);
    touchChat(tx, chat);
    let position = nextPosition(nodes);
    let rank = nextRank(nodes);
    const now = new Date();
    let question: Message = anchor;
    if (edited !== undefined) {
      // The tree's parent: an unranked row's was inferred (and written) by lockedTree.
      const parentId = nodes.find((n) => n.id === anchor.id)?.parentId ?? null;
      question = tx.create(Message, { chat, userId: ownerId, position, parentId, selectedRank: rank, role: Role.USER, content: edited, clientMessageId: input.clientMessageId, createdAt: now });
      nodes.push({ id: question.id, parentId: question.parentId ?? null, position: position++, rank: rank++, onPath: true, unranked: false });
    }
    const reply = tx.create(Message, {
      id: input.replyId,
      chat,
      userId: ownerId,
      position,
      parentId: question.id,
      selectedRank: rank,
      role: Role.ASSISTANT,
      content: '',
      status: MessageStatus.STREAMING,
      model: input.model.id,
      clientMessageId: edited === undefined ? input.clientMessageId : null,
      createdAt: now,
    });
    nodes.push({ id: reply.id, parentId: question.id, position, rank, onPath: true, unranked: false });
    await tx.flush();
    // The user message may be on a branch not shown: showing the new reply shows its branch.
    await storeRanks(tx, promote(nodes, reply.id));
    await settlePath(tx, chat, nodes);
    const ids = lineage(nodes, question.id)
      .slice(-HISTORY_TURNS)
      .map((n) => n.id);
    const history = await tx.find(Message, { id: { $in: ids } }, { orderBy: { position: 'asc' } });
    const turns = history.filter((m) => m.content && m.status !== MessageStatus.STREAMING).map(toTurn);
    return { chat, reply, turns };
  }).catch((err: unknown) => {
    // The chat was deleted between the lock's read and the inserts (MySQL's read takes no lock).
    if (err instanceof ForeignKeyConstraintViolationException) throw new NotFoundError('Message');
    throw err;
  });
}

/** Shows `messageId`'s branch (and below it the newest versions, or those chosen before) in its chat; NOT_FOUND for others'. */
export async function selectBranch(em: EntityManager, ownerId: string, messageId: string): Promise<Chat> {
  checkMessageId(messageId);
  const target = await ownMessage(em, ownerId, messageId);
  return em.transactional(async (tx) => {
    const { chat, nodes } = await lockedTree(tx, ownerId, target.chat.id, target.id);
    await storeRanks(tx, promote(nodes, target.id));
    await settlePath(tx, chat, nodes);
    return chat;
  });
}

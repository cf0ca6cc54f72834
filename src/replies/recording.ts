import { type EntityManager, ForeignKeyConstraintViolationException, type MikroORM } from '@mikro-orm/core';
import type { Logger } from '../core/logger';
import { isId } from '../core/ids';
import { NotFoundError, UnauthenticatedError } from '../core/errors';
import { Chat } from '../db/entities/chat.entity';
import { FinishReason, Message, MessageStatus, Role } from '../db/entities/message.entity';
import { User } from '../db/entities/user.entity';
import { previewOf, titleFrom } from '../chats/chat-input';
import { touchChat } from '../chats/chat.service';
import { ancestorsOf } from '../chats/message-tree';
import { estimateTokens } from '../models/context-window';
import type { CatalogModel } from '../models/model-catalog';
import type { Generated } from './generation';
import type { ReplyAudience } from './output-filter';
import type { ChatTurn, Usage } from './providers/provider';
import type { UsageSink } from '../usage/usage-log';
import { replyMessage } from './reply-event';

/** Earlier turns of a stored chat sent as context (before trimming to the model's window). */
export const HISTORY_TURNS = 100;

const ROLE_TO_PROVIDER = { [Role.USER]: 'user', [Role.ASSISTANT]: 'assistant', [Role.SYSTEM]: 'system' } as const;

export const toTurn = (m: { role: Role; content: string }): ChatTurn => ({ role: ROLE_TO_PROVIDER[m.role], content: m.content });

/**
 * The money side of a reply (the payments module's `Billing`): a priced reply's maximum cost
 * is held before its provider is called, and settled once when it ends.
 */
export interface ReplyCharges {
  /** The hold's id, or null when the balance does not cover the reply's maximum cost. */
  holdReply(reply: { userId: string; messageId: string; model: CatalogModel; promptTokens: number }): Promise<string | null>;
  /** Releases with nothing charged: one hold (the reply never started), or a reply's open holds (it failed). */
  releaseReply(ref: { holdId: string } | { messageId: string }): Promise<void>;
  /** Settles a finished reply to its real cost (once per reply); the fen debited. */
  chargeReply(reply: { userId: string; messageId: string; model: CatalogModel; usage: Usage }): Promise<number>;
}

/** A reply from start to finish, as far as storing it goes. */
export interface RecordedReply {
  messageId: string;
  sessionId: string;
  ownerId: string;
  model: CatalogModel;
  turns: ChatTurn[];
  /** Stored replies are written at the start and once at the end; unstored ones (saveHistory off) never. */
  persist: boolean;
  createdAt: Date;
  /** The user's WeChat identity, for output checks that need it (WeChat's msgSecCheck). */
  author?: ReplyAudience['author'];
}

export interface OpenedExchange {
  chat: Chat;
  reply: Message;
  /** The stored conversation ending with the new message, oldest first. */
  turns: ChatTurn[];
}

/**
 * The one owner of a reply's rows: the user's message and the STREAMING reply at the start,
 * the final content, status and usage at the end, the chat's preview, and the charge.
 */
export class ReplyRecorder {
  constructor(
    private readonly orm: MikroORM,
    private readonly charges: ReplyCharges,
    private readonly logger: Logger,
    /** Where each finished reply is reported as a billable call (stored or not). */
    private readonly usage?: UsageSink,
  ) {}

  /** Reserves a priced reply's maximum cost before its provider is called: the hold's id, null when the balance does not cover it. */
  hold(reply: { userId: string; messageId: string; model: CatalogModel; promptTokens: number }): Promise<string | null> {
    return this.charges.holdReply(reply);
  }

  /** Releases a hold whose reply never started. */
  release(holdId: string): Promise<void> {
    return this.charges.releaseReply({ holdId });
  }

  /**
   * One transaction: the chat (new, or the owner's: NOT_FOUND otherwise), the user message
   * and the STREAMING reply. Concurrent sends to one chat queue on the chat's row lock.
   */
  open(em: EntityManager, input: { ownerId: string; content: string; clientMessageId: string | null; sessionId: string | null; model: CatalogModel; replyId: string }): Promise<OpenedExchange> {
    const { ownerId, content, sessionId } = input;
    return em.transactional(async (tx) => {
      let chat: Chat;
      if (sessionId) {
        const found = isId(sessionId) ? await tx.findOne(Chat, { id: sessionId, user: ownerId }, { refresh: true }) : null;
        if (!found) throw new NotFoundError('Chat');
        chat = found;
        // Takes the row lock (MySQL) before reading the count.
        await tx.nativeUpdate(Chat, { id: chat.id }, { updatedAt: chat.updatedAt });
        await tx.refresh(chat);
        touchChat(tx, chat);
      } else {
        chat = tx.create(Chat, { user: tx.getReference(User, ownerId), title: titleFrom([{ role: Role.USER, content }]) });
      }
      // The selected path (versions aside): the new message follows its last message.
      const earlier = sessionId ? await tx.find(Message, { chat: chat.id, onPath: true }, { orderBy: { position: 'desc' }, limit: HISTORY_TURNS }) : [];
      const position = sessionId ? ((await tx.findOne(Message, { chat: chat.id }, { orderBy: { position: 'desc' }, fields: ['position'] }))?.position ?? -1) + 1 : 0;
      const now = new Date();
      const asked = tx.create(Message, { chat, userId: ownerId, position, parentId: earlier[0]?.id ?? null, role: Role.USER, content, clientMessageId: input.clientMessageId, createdAt: now });
      const reply = tx.create(Message, { id: input.replyId, chat, userId: ownerId, position: position + 1, parentId: asked.id, role: Role.ASSISTANT, content: '', status: MessageStatus.STREAMING, model: input.model.id, createdAt: now });
      chat.messageCount += 2;
      chat.preview = previewOf(content);
      await tx.flush();
      const turns: ChatTurn[] = [
        ...earlier
          .reverse()
          .filter((m) => m.content && m.status !== MessageStatus.STREAMING)
          .map(toTurn),
        { role: 'user', content },
      ];
      return { chat, reply, turns };
    }).catch((err: unknown) => {
      // The chat (or the user) was deleted between being read and the insert of the messages,
      // e.g. by a deleteChats racing this send on MySQL, where that read takes no lock.
      if (err instanceof ForeignKeyConstraintViolationException) throw sessionId ? new NotFoundError('Chat') : new UnauthenticatedError('Account not found');
      throw err;
    });
  }

  /**
   * The one write of a finished reply, then the charge (not for failures). Storing may fail
   * (logged): the caller still delivers the reply, and `stored: false` tells it to try the
   * write again later (`store`). Returns the final message.
   */
  async close(reply: RecordedReply, outcome: Generated): Promise<{ message: Message; stored: boolean }> {
    const final = finalOf(reply, outcome);
    let stored = true;
    if (reply.persist) {
      try {
        await this.store(reply, outcome);
      } catch (err) {
        stored = false;
        this.logger.error({ err, messageId: reply.messageId }, 'storing a finished reply failed; it is tried again');
      }
    }
    // Settles the hold: the real cost (COMPLETE, STOPPED, BLOCKED: what was generated), nothing for a failure.
    let cost = 0;
    if (outcome.status !== MessageStatus.FAILED) cost = await this.charges.chargeReply({ userId: reply.ownerId, messageId: reply.messageId, model: reply.model, usage: final.usage });
    else await this.charges.releaseReply({ messageId: reply.messageId }).catch((err: unknown) => this.logger.error({ err, messageId: reply.messageId }, 'releasing a failed reply’s hold failed'));
    await this.usage?.record({
      userId: reply.ownerId,
      kind: 'REPLY',
      model: reply.model.id,
      upstream: outcome.upstream ?? null,
      reference: reply.messageId,
      promptTokens: final.usage.promptTokens,
      completionTokens: final.usage.completionTokens,
      reasoningTokens: final.usage.reasoningTokens ?? 0,
      cost,
      latencyMs: Date.now() - reply.createdAt.getTime(),
      outcome: outcome.status,
    });
    return { message: replyMessage({ id: reply.messageId, sessionId: reply.persist ? reply.sessionId : null, ...final, model: reply.model.id, createdAt: reply.createdAt }), stored };
  }

  /** Writes a finished reply's row and the chat's preview (only over its STREAMING row). Throws when the database does. */
  async store(reply: RecordedReply, outcome: Generated): Promise<void> {
    const { content, reasoning, status, finishReason, usage } = finalOf(reply, outcome);
    const em = this.orm.em.fork();
    await em.nativeUpdate(
      Message,
      { id: reply.messageId, status: MessageStatus.STREAMING },
      {
        content,
        reasoning: reasoning || null,
        status,
        finishReason,
        model: reply.model.id,
        promptTokens: usage.promptTokens,
        completionTokens: usage.completionTokens,
        totalTokens: usage.totalTokens,
        reasoningTokens: usage.reasoningTokens ?? null,
        usageEstimated: usage.estimated === true,
      },
    );
    if (content) await em.nativeUpdate(Chat, { id: reply.sessionId }, { preview: previewOf(content) });
  }

  /**
   * Makes a stored reply that failed or was interrupted STREAMING again, for a retry of its
   * request to generate it anew in the same row; returns the conversation up to its user
   * message. Null when another request got there first (the row changed since it was read).
   */
  async reopen(reply: Message): Promise<{ turns: ChatTurn[]; createdAt: Date } | null> {
    const em = this.orm.em.fork();
    const createdAt = new Date();
    const restarted = await em.nativeUpdate(
      Message,
      { id: reply.id, status: reply.status, createdAt: reply.createdAt },
      { status: MessageStatus.STREAMING, finishReason: null, content: '', reasoning: null, promptTokens: null, completionTokens: null, totalTokens: null, reasoningTokens: null, usageEstimated: false, createdAt },
    );
    if (!restarted) return null;
    // Its own branch, whichever version is shown now.
    const earlier = await ancestorsOf(em, reply.chat.id, reply.id, HISTORY_TURNS);
    const turns = earlier
      .filter((m) => m.content && m.status !== MessageStatus.STREAMING)
      .map(toTurn);
    return { turns, createdAt };
  }

  /**
   * Finishes a stored reply that nothing generates any more (its instance died, or it was
   * stopped while orphaned) with what was recorded of it. Only a STREAMING row changes: null
   * when it was not one (finished meanwhile, deleted, or finished by another instance).
   * Not charged: the user never got a whole reply; its hold is released (on whichever
   * instance finishes it: the database holds the hold).
   */
  async finishInterrupted(messageId: string, sofar: { content: string; reasoning: string }, status: MessageStatus.FAILED | MessageStatus.STOPPED): Promise<Message | null> {
    const em = this.orm.em.fork();
    const row = await em.findOne(Message, { id: messageId, role: Role.ASSISTANT, status: MessageStatus.STREAMING });
    if (!row) return null;
    const completionTokens = estimateTokens(sofar.content + sofar.reasoning);
    const finish = {
      content: sofar.content,
      reasoning: sofar.reasoning || null,
      status,
      finishReason: status === MessageStatus.FAILED ? FinishReason.ERROR : FinishReason.CANCELLED,
      promptTokens: 0,
      completionTokens,
      totalTokens: completionTokens,
      reasoningTokens: null,
      usageEstimated: true,
    };
    if (!(await em.nativeUpdate(Message, { id: messageId, status: MessageStatus.STREAMING }, finish))) return null;
    await this.charges.releaseReply({ messageId }).catch((err: unknown) => this.logger.error({ err, messageId }, 'releasing an interrupted reply’s hold failed'));
    await this.usage?.record({ userId: row.userId, kind: 'REPLY', model: row.model ?? '', upstream: null, reference: messageId, completionTokens, latencyMs: Date.now() - row.createdAt.getTime(), outcome: status });
    return Object.assign(row, finish);
  }
}

/** What a finished reply is stored and shown as: a blocked one is charged for what was generated but neither shown nor kept. */
function finalOf(reply: RecordedReply, outcome: Generated) {
  // Usage is the provider's when it reported one; estimated otherwise (stops, failures, echo).
  const usage: Usage = outcome.usage ? { ...outcome.usage, estimated: false } : estimateUsage(reply.turns, outcome.content + outcome.reasoning);
  const blocked = outcome.status === MessageStatus.BLOCKED;
  return { content: blocked ? '' : outcome.content, reasoning: blocked ? '' : outcome.reasoning, status: outcome.status, finishReason: outcome.finishReason, usage };
}

function estimateUsage(turns: ChatTurn[], content: string): Usage {
  const promptTokens = turns.reduce((n, t) => n + estimateTokens(t.content), 0);
  const completionTokens = content ? estimateTokens(content) : 0;
  return { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens, reasoningTokens: null, estimated: true };
}


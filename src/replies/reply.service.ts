import { type EntityManager, UniqueConstraintViolationException } from '@mikro-orm/core';
import type { Viewer } from '../context';
import { isId, newId } from '../core/ids';
import { Chat } from '../db/entities/chat.entity';
import { MAX_MESSAGE_LENGTH, Message, MessageStatus, Role } from '../db/entities/message.entity';
import { User } from '../db/entities/user.entity';
import { BadRequestError, ForbiddenError, NotFoundError, RateLimitedError, UnauthenticatedError, UpstreamError } from '../core/errors';
import { CHAT_LIMITS, type MessageInput, previewOf, titleFrom } from '../chats/chat-input';
import { limitKey, type RateLimits } from '../limits/rate-limits';
import { isPriced, minimumCharge } from '../payments/billing';
import type { ChatService } from '../chats/chat.service';
import type { ChatTurn } from './providers/chat-provider';
import { fitToContext } from '../models/context-window';
import type { CatalogModel, ModelCatalog } from '../models/model-catalog';
import { type LiveReply, messageView, type ReplyEventPayload, type ReplyHub } from './reply-hub';

export interface SendMessageInput {
  content: string;
  sessionId?: string | null;
  modelId?: string | null;
  messageHistory?: MessageInput[] | null;
  clientMessageId?: string | null;
  stream?: boolean | null;
}

export interface SendResult {
  sessionId: string;
  messageId: string;
  reply: Message;
  metadata: { modelType: string; responseLength: number; tokensUsed: number };
}

/** Earlier turns of a stored chat sent as context (before trimming to the model's window). */
const HISTORY_TURNS = 100;

const ROLE_TO_PROVIDER = { [Role.USER]: 'user', [Role.ASSISTANT]: 'assistant', [Role.SYSTEM]: 'system' } as const;

/** Sending messages to an AI model and following its replies. */
export class ReplyService {
  constructor(
    private readonly em: EntityManager,
    private readonly hub: ReplyHub,
    private readonly catalog: ModelCatalog,
    private readonly chats: ChatService,
    private readonly rateLimits: RateLimits,
    private readonly maxConcurrentStreams: number,
  ) {}

  /**
   * Stores the user's message and a STREAMING reply, and starts the reply. `stream: false`
   * waits for it (UPSTREAM_ERROR when it fails); `stream: true` returns at once. A repeated
   * `clientMessageId` returns the first request's messages without calling the provider.
   * Errors: BAD_REQUEST (content, model, history), NOT_FOUND (sessionId), RATE_LIMITED.
   */
  async send(viewer: Viewer, input: SendMessageInput): Promise<SendResult> {
    const content = input.content;
    if (!content.trim()) throw new BadRequestError('content must not be empty', { field: 'content', reason: 'EMPTY' });
    if (content.length > MAX_MESSAGE_LENGTH) throw new BadRequestError(`content is at most ${MAX_MESSAGE_LENGTH} characters`, { field: 'content', reason: 'TOO_LONG' });
    const model = input.modelId ? this.catalog.find(input.modelId) : this.catalog.default;
    if (!model) throw new BadRequestError(`Unknown model ${input.modelId}`, { field: 'modelId', reason: 'UNKNOWN_MODEL' });
    const history = input.messageHistory ?? null;
    if (history && history.length > CHAT_LIMITS.messagesPerSave) throw new BadRequestError(`messageHistory holds at most ${CHAT_LIMITS.messagesPerSave} messages`, { field: 'messageHistory', reason: 'TOO_MANY' });
    history?.forEach((m, i) => {
      if (m.content.length > MAX_MESSAGE_LENGTH) throw new BadRequestError(`a message is at most ${MAX_MESSAGE_LENGTH} characters`, { field: `messageHistory.${i}.content`, reason: 'TOO_LONG' });
    });
    const key = input.clientMessageId ?? null;
    if (key !== null && (key.length < 1 || key.length > 64)) throw new BadRequestError('clientMessageId is 1 to 64 characters', { field: 'clientMessageId', reason: 'LENGTH' });
    const wait = !input.stream;

    const user = await this.em.findOne(User, viewer.userId);
    if (!user) throw new UnauthenticatedError('Account not found');
    if (!user.settings.saveHistory) return this.sendEphemeral(viewer, user, model, content, history, key, input.sessionId ?? null, wait);

    if (key) {
      const earlier = await this.em.findOne(Message, { userId: viewer.userId, clientMessageId: key });
      if (earlier) return this.resultFor(earlier, wait);
    }
    const replyId = newId();
    await this.admit(viewer, user, model, content, replyId);

    let stored: { chat: Chat; reply: Message; turns: ChatTurn[] };
    try {
      stored = await this.storeExchange(viewer, content, key, input.sessionId ?? null, model, replyId);
    } catch (err) {
      await this.hub.release(viewer.userId, replyId);
      // The same clientMessageId racing on another request: answer with what that one made.
      if (key && err instanceof UniqueConstraintViolationException) {
        const earlier = await this.em.fork().findOne(Message, { userId: viewer.userId, clientMessageId: key });
        if (earlier) return this.resultFor(earlier, wait);
      }
      throw err;
    }
    const turns = fitToContext(history ? [...history.map(toTurn), { role: 'user', content }] : stored.turns, model.contextWindow);
    const live = this.hub.start({ messageId: stored.reply.id, sessionId: stored.chat.id, ownerId: viewer.userId, model, turns, persist: true, createdAt: stored.reply.createdAt });
    return this.resultFromLive(live, model, stored.reply, wait);
  }

  /** Stops a reply of the viewer's (on whichever instance runs it), keeping what was generated (STOPPED). NOT_FOUND otherwise. */
  async stop(viewer: Viewer, messageId: string): Promise<Message> {
    const running = await this.hub.ownerOf(messageId);
    if (running) {
      if (running.ownerId !== viewer.userId) throw new NotFoundError('Message');
      this.hub.requestStop(messageId);
      const final = await this.hub.final(messageId);
      if (final) return final;
    }
    const stored = isId(messageId) ? await this.em.findOne(Message, { id: messageId, userId: viewer.userId }) : null;
    if (!stored) throw new NotFoundError('Message');
    return stored;
  }

  /**
   * A reply's events after `afterSeq`: replayed, then live, then done, from whichever
   * instance runs it. A reply that already finished yields one done event (seq 0) with the
   * stored message. NOT_FOUND for others'.
   */
  async replyEvents(viewer: Viewer, messageId: string, afterSeq = 0): Promise<AsyncIterable<ReplyEventPayload>> {
    const running = await this.hub.ownerOf(messageId);
    if (running) {
      if (running.ownerId !== viewer.userId) throw new NotFoundError('Message');
      return this.hub.follow(messageId, afterSeq);
    }
    const stored = isId(messageId) ? await this.em.findOne(Message, { id: messageId, userId: viewer.userId }) : null;
    if (!stored) throw new NotFoundError('Message');
    const done: ReplyEventPayload = { messageId, sessionId: stored.chat.id, seq: 0, delta: '', done: true, message: stored };
    return (async function* () {
      yield done;
    })();
  }

  /** Every reply event in one of the viewer's chats. */
  async chatEvents(viewer: Viewer, sessionId: string): Promise<AsyncIterable<ReplyEventPayload>> {
    const stored = isId(sessionId) ? await this.em.count(Chat, { id: sessionId, user: viewer.userId }) : 0;
    if (!stored && !this.hub.ownsSession(viewer.userId, sessionId)) throw new NotFoundError('Chat');
    return this.hub.pubsub.subscribe('chat', sessionId);
  }

  /**
   * Whether a new reply may start: the balance covers a priced model's minimum, then the
   * concurrent-reply cap, then the AI call limit. A retry of an earlier request (same
   * clientMessageId) is answered before this and costs nothing.
   */
  private async admit(viewer: Viewer, user: User, model: CatalogModel, content: string, replyId: string): Promise<void> {
    if (isPriced(model) && user.balance < minimumCharge(model, content)) {
      throw new ForbiddenError(`Your balance does not cover ${model.name}; top up or pick a free model`, { field: 'modelId', reason: 'INSUFFICIENT_BALANCE' });
    }
    if (!(await this.hub.reserve(viewer.userId, replyId, this.maxConcurrentStreams))) {
      throw new RateLimitedError(1, `At most ${this.maxConcurrentStreams} replies at once; wait for one to finish`);
    }
    try {
      await this.rateLimits.consume('ai', limitKey({ userId: viewer.userId }));
    } catch (err) {
      await this.hub.release(viewer.userId, replyId);
      throw err;
    }
  }

  /** One transaction: the chat (new or the viewer's), the user message and the STREAMING reply. */
  private async storeExchange(viewer: Viewer, content: string, key: string | null, sessionId: string | null, model: CatalogModel, replyId: string) {
    return this.em.transactional(async (em) => {
      let chat: Chat;
      if (sessionId) {
        const found = isId(sessionId) ? await em.findOne(Chat, { id: sessionId, user: viewer.userId }, { refresh: true }) : null;
        if (!found) throw new NotFoundError('Chat');
        chat = found;
        // Takes the row lock (MySQL) before reading the count, so concurrent sends to one chat queue.
        await em.nativeUpdate(Chat, { id: chat.id }, { updatedAt: chat.updatedAt });
        await em.refresh(chat);
        this.chats.touch(em, chat);
      } else {
        chat = em.create(Chat, { user: em.getReference(User, viewer.userId), title: titleFrom([{ role: Role.USER, content }]) });
      }
      const earlier = sessionId ? await em.find(Message, { chat: chat.id }, { orderBy: { position: 'desc' }, limit: HISTORY_TURNS }) : [];
      const position = chat.messageCount;
      const now = new Date();
      em.create(Message, { chat, userId: viewer.userId, position, role: Role.USER, content, clientMessageId: key, createdAt: now });
      const reply = em.create(Message, { id: replyId, chat, userId: viewer.userId, position: position + 1, role: Role.ASSISTANT, content: '', status: MessageStatus.STREAMING, model: model.id, createdAt: now });
      chat.messageCount = position + 2;
      chat.preview = previewOf(content);
      await em.flush();
      const turns: ChatTurn[] = [
        ...earlier
          .reverse()
          .filter((m) => m.content && m.status !== MessageStatus.STREAMING)
          .map((m) => ({ role: ROLE_TO_PROVIDER[m.role], content: m.content })),
        { role: 'user', content },
      ];
      return { chat, reply, turns };
    });
  }

  private async sendEphemeral(viewer: Viewer, user: User, model: CatalogModel, content: string, history: MessageInput[] | null, key: string | null, sessionId: string | null, wait: boolean): Promise<SendResult> {
    if (sessionId && !(isId(sessionId) && (await this.em.count(Chat, { id: sessionId, user: viewer.userId })))) throw new NotFoundError('Chat');
    const earlier = key ? await this.hub.idempotentReply(viewer.userId, key) : null;
    if (earlier) return this.resultForRunning(earlier, model, undefined, wait);
    const messageId = newId();
    await this.admit(viewer, user, model, content, messageId);
    const raced = key ? await this.hub.claimIdempotent(viewer.userId, key, messageId) : null;
    if (raced) {
      await this.hub.release(viewer.userId, messageId);
      return this.resultForRunning(raced, model, undefined, wait);
    }
    const turns = fitToContext([...(history ?? []).map(toTurn), { role: 'user', content }], model.contextWindow);
    const live = this.hub.start({ messageId, sessionId: sessionId ?? newId(), ownerId: viewer.userId, model, turns, persist: false, createdAt: new Date() });
    return this.resultFromLive(live, model, undefined, wait);
  }

  /** The answer for an earlier request with the same clientMessageId. */
  private async resultFor(userMessage: Message, wait: boolean): Promise<SendResult> {
    const reply = await this.em.findOneOrFail(Message, { chat: userMessage.chat.id, position: userMessage.position + 1 });
    const model = (reply.model && this.catalog.find(reply.model)) || this.catalog.default;
    if (reply.status === MessageStatus.STREAMING && (await this.hub.ownerOf(reply.id))) return this.resultForRunning(reply.id, model, reply, wait);
    return payload(reply.chat.id, reply, model);
  }

  /** A reply started by an earlier request, on this instance or another. */
  private async resultForRunning(messageId: string, model: CatalogModel, stored: Message | undefined, wait: boolean): Promise<SendResult> {
    const live = this.hub.get(messageId);
    if (live) return this.resultFromLive(live, model, stored, wait);
    const meta = await this.hub.ownerOf(messageId);
    const sessionId = meta?.sessionId ?? stored?.chat.id ?? '';
    if (wait) {
      const final = await this.hub.final(messageId);
      if (!final || final.status === MessageStatus.FAILED) throw new UpstreamError('The AI reply failed', { reason: 'REPLY_FAILED' });
      return payload(sessionId, final, model);
    }
    const current = messageView({
      id: messageId,
      sessionId: stored ? sessionId : null,
      role: Role.ASSISTANT,
      content: await this.hub.contentSoFar(messageId),
      status: MessageStatus.STREAMING,
      model: model.id,
      usage: null,
      createdAt: stored?.createdAt ?? new Date(),
    });
    return payload(sessionId, current, model);
  }

  private async resultFromLive(live: LiveReply, model: CatalogModel, stored: Message | undefined, wait: boolean): Promise<SendResult> {
    if (!wait) {
      const current =
        live.done?.message ??
        messageView({
          id: live.messageId,
          sessionId: stored ? live.sessionId : null,
          role: Role.ASSISTANT,
          content: live.events.map((e) => e.delta).join(''),
          status: MessageStatus.STREAMING,
          model: model.id,
          usage: null,
          createdAt: stored?.createdAt ?? new Date(),
        });
      return payload(live.sessionId, current, model);
    }
    const final = await live.finished;
    if (final.status === MessageStatus.FAILED) {
      throw new UpstreamError(live.done?.error?.message ?? 'The AI reply failed', { reason: 'REPLY_FAILED' });
    }
    return payload(live.sessionId, final, model);
  }
}

function toTurn(m: MessageInput): ChatTurn {
  return { role: ROLE_TO_PROVIDER[m.role], content: m.content };
}

function payload(sessionId: string, reply: Message, model: CatalogModel): SendResult {
  return {
    sessionId,
    messageId: reply.id,
    reply,
    metadata: { modelType: model.type, responseLength: reply.content.length, tokensUsed: reply.totalTokens ?? 0 },
  };
}

/*
 * Over 300 lines on purpose: sending, regenerating and editing share one pipeline (checks,
 * screen, admit, open, start, answer) whose steps are private here, so that every way a reply
 * starts is admitted, billed and made idempotent the same way. The rows of versions live in
 * versions.ts, the reply's run in reply-runner.ts.
 */
import { type EntityManager, UniqueConstraintViolationException } from '@mikro-orm/core';
import { BadRequestError, ForbiddenError, isUpstreamReason, NotFoundError, RateLimitedError, UnauthenticatedError, UpstreamError } from '../core/errors';
import { isId, newId } from '../core/ids';
import type { Viewer } from '../core/viewer';
import { Chat } from '../db/entities/chat.entity';
import { Message, MessageStatus, Role } from '../db/entities/message.entity';
import { User } from '../db/entities/user.entity';
import { limitKey, type RateLimits } from '../limits/rate-limits';
import { estimateTokens, fitToContext } from '../models/context-window';
import type { CatalogModel, ModelCatalog } from '../models/model-catalog';
import { isPriced } from '../models/pricing';
import { authorOf, type ModerationService } from '../moderation/moderation.service';
import type { ChatTurn } from './providers/provider';
import { type OpenedExchange, type ReplyRecorder, toTurn } from './recording';
import { type ReplyEvent, streamingMessage } from './reply-event';
import type { ReplyRunner } from './reply-runner';
import { checkKey, checkModel, checkSendInput, type CheckedSend, type SendMessageInput } from './send-input';
import { checkMessageId, editedMessage, type EditMessageInput, lastModelOf, openVersion, questionOf, type RegenerateReplyInput, selectBranch } from './versions';

export type { SendMessageInput };

export interface SendResult {
  sessionId: string;
  messageId: string;
  reply: Message;
  metadata: { modelType: string; responseLength: number; tokensUsed: number };
}

export interface ReplyServiceDeps {
  runner: ReplyRunner;
  recorder: ReplyRecorder;
  catalog: ModelCatalog;
  rateLimits: RateLimits;
  /** Content security: the user's texts are checked before anything is stored or sent. */
  moderation: ModerationService;
  maxConcurrentStreams: number;
}

/** Sending messages to an AI model, and following, stopping and awaiting its replies. */
export class ReplyService {
  constructor(
    private readonly em: EntityManager,
    private readonly deps: ReplyServiceDeps,
  ) {}

  private get state() {
    return this.deps.runner.state;
  }

  /**
   * Stores the user's message and a STREAMING reply, and starts the reply. `stream: false`
   * waits for it (UPSTREAM_ERROR when it fails); `stream: true` returns at once. A repeated
   * `clientMessageId` returns the first request's reply without calling the provider.
   * `unstored` (the OpenAI-compatible API) takes the saveHistory-off path: nothing stored, still charged.
   * Errors: BAD_REQUEST (content, model, history), NOT_FOUND (sessionId), FORBIDDEN
   * (balance; CONTENT_BLOCKED, ACCOUNT_SUSPENDED), RATE_LIMITED (concurrent replies, AI calls),
   * UPSTREAM_ERROR (MODERATION_UNAVAILABLE).
   */
  async send(viewer: Viewer, input: SendMessageInput): Promise<SendResult> {
    const checked = checkSendInput(input, this.deps.catalog);
    const user = await this.em.findOne(User, viewer.userId);
    if (!user) throw new UnauthenticatedError('Account not found');
    this.deps.moderation.assertNotSuspended(user);
    if (!user.settings.saveHistory || checked.unstored) return this.sendUnstored(user, checked);

    // A retry of a stored send was checked the first time.
    if (checked.key) {
      const earlier = await this.em.findOne(Message, { userId: user.id, clientMessageId: checked.key });
      if (earlier) return this.answerRetry(user, earlier, checked);
    }
    const send = await this.screen(user, checked);
    return this.startStored(user, send, async (replyId) => {
      const opened = await this.deps.recorder.open(this.em, { ownerId: user.id, content: send.content, clientMessageId: send.key, sessionId: send.sessionId, model: send.model, replyId });
      // History the client sent replaces the stored one.
      return send.history ? { ...opened, turns: this.clientTurns(send) } : opened;
    });
  }

  /**
   * A new reply to the same user message (`messageId`: a reply, or the user message it
   * answers), beside the earlier ones and shown instead of them; generated from that branch's
   * history with the model asked for (else the last reply's). Admission, billing, streaming
   * and `clientMessageId` as `send`. Errors as `send`, and BAD_REQUEST: INVALID (messageId),
   * HISTORY_OFF, NOT_A_REPLY, REPLY_IN_PROGRESS; NOT_FOUND for others' messages.
   */
  async regenerateReply(viewer: Viewer, input: RegenerateReplyInput): Promise<SendResult> {
    checkMessageId(input.messageId);
    const asked = checkModel(input.modelId, this.deps.catalog);
    const key = checkKey(input.clientMessageId);
    const user = await this.historyUser(viewer);
    const wait = !input.stream;
    const earlier = key ? await this.em.findOne(Message, { userId: user.id, clientMessageId: key }) : null;
    if (earlier) return this.answerRetry(user, earlier, { content: earlier.role === Role.USER ? earlier.content : '', model: asked ?? this.deps.catalog.default, sessionId: null, history: null, key, wait, unstored: false });
    const { target, question } = await questionOf(this.em, user.id, input.messageId);
    // A reply cut off by a crash (nothing runs it) is finished first; one still running is not replaced.
    if (target.status === MessageStatus.STREAMING && !(await this.finishIfInterrupted(target, MessageStatus.FAILED))) {
      throw new BadRequestError('This reply is still being generated; stop it or wait for it first', { field: 'messageId', reason: 'REPLY_IN_PROGRESS' });
    }
    const model = asked ?? (await this.lastModel(question));
    const send: CheckedSend = { content: question.content, model, sessionId: question.chat.id, history: null, key, wait, unstored: false };
    return this.startStored(user, send, (replyId) => openVersion(this.em, { ownerId: user.id, anchor: question, clientMessageId: key, model, replyId }));
  }

  /**
   * A new version of one of the viewer's messages (same parent, the new content, screened as a
   * send's) with a new reply to it, shown instead of the old one. As `send` otherwise. Errors
   * as `send`, and BAD_REQUEST: INVALID (messageId), HISTORY_OFF, NOT_A_USER_MESSAGE.
   */
  async editMessage(viewer: Viewer, input: EditMessageInput): Promise<SendResult> {
    checkMessageId(input.messageId);
    const checked = checkSendInput({ content: input.content, modelId: input.modelId, clientMessageId: input.clientMessageId, stream: input.stream }, this.deps.catalog);
    const user = await this.historyUser(viewer);
    if (checked.key) {
      const earlier = await this.em.findOne(Message, { userId: user.id, clientMessageId: checked.key });
      if (earlier) return this.answerRetry(user, earlier, checked);
    }
    const original = await editedMessage(this.em, user.id, input.messageId);
    const model = input.modelId ? checked.model : await this.lastModel(original);
    const send = await this.screen(user, { ...checked, model, sessionId: original.chat.id });
    return this.startStored(user, send, (replyId) => openVersion(this.em, { ownerId: user.id, anchor: original, edited: send.content, clientMessageId: send.key, model, replyId }));
  }

  /** Shows the branch of one of the viewer's messages in its chat (see versions.ts); NOT_FOUND otherwise. */
  selectVersion(viewer: Viewer, messageId: string): Promise<Chat> {
    return selectBranch(this.em, viewer.userId, messageId);
  }

  /** The user, for versions: they exist only in stored history (BAD_REQUEST HISTORY_OFF when saveHistory is off). */
  private async historyUser(viewer: Viewer): Promise<User> {
    const user = await this.em.findOne(User, viewer.userId);
    if (!user) throw new UnauthenticatedError('Account not found');
    this.deps.moderation.assertNotSuspended(user);
    if (!user.settings.saveHistory) throw new BadRequestError('saveHistory is off, so no messages are kept to regenerate or edit', { reason: 'HISTORY_OFF' });
    return user;
  }

  /** The model of the last reply to `question`, while the catalog still has it; else the default. */
  private async lastModel(question: Message): Promise<CatalogModel> {
    const id = await lastModelOf(this.em, question);
    return (id && this.deps.catalog.find(id)) || this.deps.catalog.default;
  }

  /** Admits, opens (`open` writes the rows) and starts a stored reply: a send's or a version's. */
  private async startStored(user: User, send: CheckedSend, open: (replyId: string) => Promise<OpenedExchange>): Promise<SendResult> {
    const replyId = newId();
    const holdId = await this.admit(user, send, replyId);
    let opened: OpenedExchange;
    try {
      opened = await open(replyId);
    } catch (err) {
      await this.unadmit(user.id, replyId, holdId);
      // The same clientMessageId racing on another request: answer with what that one made.
      if (send.key && err instanceof UniqueConstraintViolationException) {
        const earlier = await this.em.fork().findOne(Message, { userId: user.id, clientMessageId: send.key });
        if (earlier) return this.answerRetry(user, earlier, send);
      }
      throw err;
    }
    this.deps.runner.start({ messageId: replyId, sessionId: opened.chat.id, ownerId: user.id, model: send.model, turns: fitToContext(opened.turns, send.model.contextWindow), persist: true, createdAt: opened.reply.createdAt, author: authorOf(user) });
    return this.answer({ messageId: replyId, sessionId: opened.chat.id, stored: opened.reply }, send.model, send.wait);
  }

  /** Stops a reply of the viewer's (on whichever instance runs it), keeping what was generated (STOPPED). NOT_FOUND otherwise. */
  async stop(viewer: Viewer, messageId: string): Promise<Message> {
    const running = await this.state.meta(messageId);
    if (running) {
      if (running.ownerId !== viewer.userId) throw new NotFoundError('Message');
      if (await this.deps.runner.isRunning(messageId)) {
        this.deps.runner.stop(messageId);
        const done = await this.deps.runner.done(messageId, MessageStatus.STOPPED);
        if (done?.message) return done.message;
      }
    }
    const stored = await this.storedReply(viewer, messageId);
    return (await this.finishIfInterrupted(stored, MessageStatus.STOPPED)) ?? stored;
  }

  /** A stored reply left STREAMING with nothing generating it, finished now; null for any other. */
  private async finishIfInterrupted(stored: Message, status: MessageStatus.FAILED | MessageStatus.STOPPED): Promise<Message | null> {
    if (stored.status !== MessageStatus.STREAMING || (await this.deps.runner.isRunning(stored.id))) return null;
    return (await this.deps.runner.finishInterrupted(stored.id, status)) ?? (await this.em.fork().findOne(Message, stored.id));
  }

  /**
   * A reply's events after `afterSeq`: replayed, then live, then done, from whichever
   * instance runs it. A reply that already finished yields one done event (seq 0) with the
   * stored message. NOT_FOUND for others'.
   */
  async replyEvents(viewer: Viewer, messageId: string, afterSeq = 0): Promise<AsyncIterable<ReplyEvent>> {
    const running = await this.state.meta(messageId);
    if (running) {
      if (running.ownerId !== viewer.userId) throw new NotFoundError('Message');
      // A finished reply is one done event with the whole message, whatever was missed.
      const { done } = await this.deps.runner.progress(messageId);
      return done ? once(done) : this.deps.runner.follow(messageId, afterSeq);
    }
    const found = await this.storedReply(viewer, messageId);
    const stored = (await this.finishIfInterrupted(found, MessageStatus.FAILED)) ?? found;
    return once({ messageId, sessionId: stored.chat.id, seq: 0, delta: '', reasoningDelta: '', done: true, message: stored });
  }

  /** Every reply event in one of the viewer's chats (stored, or with an unstored reply here). */
  async chatEvents(viewer: Viewer, sessionId: string): Promise<AsyncIterable<ReplyEvent>> {
    const stored = isId(sessionId) ? await this.em.count(Chat, { id: sessionId, user: viewer.userId }) : 0;
    if (!stored && !this.state.knowsSession(viewer.userId, sessionId)) throw new NotFoundError('Chat');
    return this.state.topics.subscribe('chat', sessionId);
  }

  /**
   * Whether a new reply may start: a priced model's maximum cost is held on the balance (in
   * the database, so concurrent replies on any instance cannot overdraw it), then the
   * concurrent-reply cap (takes a slot), then the AI call limit. Returns the hold's id (priced
   * models). A retry of an earlier request (same clientMessageId) is answered before this.
   */
  private async admit(user: User, send: CheckedSend, replyId: string): Promise<string | undefined> {
    const holdId = isPriced(send.model) ? await this.deps.recorder.hold({ userId: user.id, messageId: replyId, model: send.model, promptTokens: promptEstimate(send) }) : undefined;
    if (holdId === null) throw new ForbiddenError(`Your balance does not cover ${send.model.name}; top up or pick a free model`, { field: 'modelId', reason: 'INSUFFICIENT_BALANCE' });
    const max = this.deps.maxConcurrentStreams;
    try {
      if (!(await this.state.reserve(user.id, replyId, max))) throw new RateLimitedError(1, `At most ${max} replies at once; wait for one to finish`);
      try {
        await this.deps.rateLimits.consume('ai', limitKey({ userId: user.id }));
      } catch (err) {
        await this.state.release(user.id, replyId);
        throw err;
      }
    } catch (err) {
      if (holdId) await this.deps.recorder.release(holdId);
      throw err;
    }
    return holdId;
  }

  /** Undoes `admit` for a reply that will not start: its slot and its hold. */
  private async unadmit(userId: string, replyId: string, holdId: string | undefined): Promise<void> {
    await this.state.release(userId, replyId);
    if (holdId) await this.deps.recorder.release(holdId);
  }

  /**
   * The content and the history through content security: FORBIDDEN / CONTENT_BLOCKED (with
   * the field) before anything is stored or any provider called; masked texts replace the
   * originals.
   */
  private async screen(user: User, send: CheckedSend): Promise<CheckedSend> {
    const history = send.history ?? [];
    const items = [{ field: 'content', text: send.content }, ...history.map((m, i) => ({ field: `messageHistory.${i}.content`, text: m.content }))];
    const [content, ...past] = await this.deps.moderation.checkInput(authorOf(user), items);
    return { ...send, content, history: send.history && history.map((m, i) => ({ ...m, content: past[i] })) };
  }

  /** saveHistory off: nothing is stored; the client key is held in the reply state instead. */
  private async sendUnstored(user: User, checked: CheckedSend): Promise<SendResult> {
    if (checked.sessionId && !(isId(checked.sessionId) && (await this.em.count(Chat, { id: checked.sessionId, user: user.id })))) throw new NotFoundError('Chat');
    const earlier = checked.key ? await this.state.idempotentReply(user.id, checked.key) : null;
    if (earlier) return this.answerRunning(earlier, checked.model, checked.wait);
    const send = await this.screen(user, checked);
    const messageId = newId();
    const holdId = await this.admit(user, send, messageId);
    const raced = send.key ? await this.state.claimIdempotent(user.id, send.key, messageId) : null;
    if (raced) {
      await this.unadmit(user.id, messageId, holdId);
      return this.answerRunning(raced, send.model, send.wait);
    }
    const sessionId = send.sessionId ?? newId();
    this.deps.runner.start({ messageId, sessionId, ownerId: user.id, model: send.model, turns: fitToContext(this.clientTurns(send), send.model.contextWindow), persist: false, createdAt: new Date(), author: authorOf(user) });
    return this.answer({ messageId, sessionId }, send.model, send.wait);
  }

  private clientTurns(send: CheckedSend): ChatTurn[] {
    return [...(send.history ?? []).map(toTurn), { role: 'user', content: send.content }];
  }

  /** The answer to a retry of a stored send (or of a regenerate, whose key is on its reply): its reply, running or finished. */
  private async answerRetry(user: User, userMessage: Message, send: CheckedSend): Promise<SendResult> {
    const reply = userMessage.role === Role.ASSISTANT ? userMessage : await this.em.findOneOrFail(Message, { chat: userMessage.chat.id, position: userMessage.position + 1 });
    const model = (reply.model && this.deps.catalog.find(reply.model)) || this.deps.catalog.default;
    const running = { messageId: reply.id, sessionId: reply.chat.id, stored: reply };
    if (reply.status === MessageStatus.STREAMING && (await this.deps.runner.isRunning(reply.id))) return this.answer(running, model, send.wait);
    // A reply that failed, or was cut off by a crash, is generated again in its own row.
    if (reply.status === MessageStatus.STREAMING || reply.status === MessageStatus.FAILED) return this.regenerate(user, reply, { ...send, model });
    return payload(reply.chat.id, reply, model);
  }

  /** Generates a failed or interrupted reply again, as a new send would (admission included). */
  private async regenerate(user: User, reply: Message, send: CheckedSend): Promise<SendResult> {
    const holdId = await this.admit(user, send, reply.id);
    const reopened = await this.deps.recorder.reopen(reply);
    const current = { messageId: reply.id, sessionId: reply.chat.id };
    if (!reopened) {
      // Another retry of the same request got there first: follow that one.
      await this.unadmit(user.id, reply.id, holdId);
      return this.answer(current, send.model, send.wait);
    }
    this.deps.runner.start({ ...current, ownerId: user.id, model: send.model, turns: fitToContext(reopened.turns, send.model.contextWindow), persist: true, createdAt: reopened.createdAt, author: authorOf(user) });
    return this.answer(current, send.model, send.wait);
  }

  /** The answer to a retry of an unstored send, whose reply may run on another instance. */
  private async answerRunning(messageId: string, model: CatalogModel, wait: boolean): Promise<SendResult> {
    const meta = await this.state.meta(messageId);
    return this.answer({ messageId, sessionId: meta?.sessionId ?? '' }, model, wait);
  }

  /**
   * A started reply as sendMessage answers it: the whole reply when waiting (UPSTREAM_ERROR
   * if it failed), else what was generated so far, STREAMING.
   */
  private async answer(reply: { messageId: string; sessionId: string; stored?: Message }, model: CatalogModel, wait: boolean): Promise<SendResult> {
    if (wait) {
      const done = await this.deps.runner.done(reply.messageId);
      if (!done?.message || done.message.status === MessageStatus.FAILED) {
        const reason = done?.error?.reason;
        throw new UpstreamError(done?.error?.message ?? 'The AI reply failed', { reason: reason && isUpstreamReason(reason) ? reason : 'REPLY_FAILED' });
      }
      return payload(reply.sessionId, done.message, model);
    }
    const progress = await this.deps.runner.progress(reply.messageId);
    const current =
      progress.done?.message ??
      streamingMessage({ id: reply.messageId, sessionId: reply.stored ? reply.sessionId : null, model: model.id, createdAt: reply.stored?.createdAt ?? new Date() }, progress);
    return payload(reply.sessionId, current, model);
  }

  private async storedReply(viewer: Viewer, messageId: string): Promise<Message> {
    const stored = isId(messageId) ? await this.em.findOne(Message, { id: messageId, userId: viewer.userId }) : null;
    if (!stored) throw new NotFoundError('Message');
    return stored;
  }
}

function payload(sessionId: string, reply: Message, model: CatalogModel): SendResult {
  return {
    sessionId,
    messageId: reply.id,
    reply,
    metadata: { modelType: model.type, responseLength: reply.content.length, tokensUsed: reply.totalTokens ?? 0 },
  };
}

/** The prompt a hold assumes: the new message and the history the client sent (a stored chat's earlier turns are not read yet). */
const promptEstimate = (send: CheckedSend): number => [send.content, ...(send.history ?? []).map((m) => m.content)].reduce((n, text) => n + estimateTokens(text), 0);

async function* once(event: ReplyEvent): AsyncGenerator<ReplyEvent> {
  yield event;
}

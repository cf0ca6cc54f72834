import type { Chat } from '../db/entities/chat.entity';
import { type Message, MessageStatus, Role } from '../db/entities/message.entity';
import type { Usage } from './providers/provider';

/** What followers receive: ids, a sequence number and a delta; the final message once. */
export interface ReplyEvent {
  messageId: string;
  sessionId: string;
  /** 1, 2, ... for deltas; the done event follows the last one (0 when served from storage). */
  seq: number;
  delta: string;
  done: boolean;
  message?: Message;
  error?: { code: string; message: string };
}

/** Who a reply belongs to, for instances and requests that did not start it. */
export interface ReplyMeta {
  messageId: string;
  sessionId: string;
  ownerId: string;
}

/**
 * A reply as the API serves it, also for replies that are not stored (saveHistory off) or
 * not finished: the Message shape without a managed entity.
 */
export function replyMessage(m: { id: string; sessionId: string | null; content: string; status: MessageStatus; model: string | null; usage: Usage | null; createdAt: Date }): Message {
  return {
    id: m.id,
    chat: m.sessionId ? ({ id: m.sessionId } as Chat) : undefined,
    role: Role.ASSISTANT,
    content: m.content,
    status: m.status,
    model: m.model,
    promptTokens: m.usage?.promptTokens ?? null,
    completionTokens: m.usage?.completionTokens ?? null,
    totalTokens: m.usage?.totalTokens ?? null,
    createdAt: m.createdAt,
  } as Message;
}

/** A running reply's message as generated so far. */
export const streamingMessage = (meta: { id: string; sessionId: string | null; model: string; createdAt: Date }, content: string): Message =>
  replyMessage({ ...meta, content, status: MessageStatus.STREAMING, usage: null });

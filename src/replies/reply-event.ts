import type { Chat } from '../db/entities/chat.entity';
import { type FinishReason, type Message, MessageStatus, Role } from '../db/entities/message.entity';
import type { Usage } from './providers/provider';

/** What followers receive: ids, a sequence number and a delta; the final message once. */
export interface ReplyEvent {
  messageId: string;
  sessionId: string;
  /** 1, 2, ... for deltas; the done event follows the last one (0 when served from storage). */
  seq: number;
  delta: string;
  /** Reasoning text of this step; '' when it carries none. */
  reasoningDelta: string;
  done: boolean;
  message?: Message;
  error?: { code: string; message: string; reason?: string };
}

/** Who a reply belongs to, for instances and requests that did not start it. */
export interface ReplyMeta {
  messageId: string;
  sessionId: string;
  ownerId: string;
  /** The instance running it (set by the reply state), to tell a live reply from an orphan. */
  instanceId?: string;
}

/**
 * A reply as the API serves it, also for replies that are not stored (saveHistory off) or
 * not finished: the Message shape without a managed entity.
 */
export function replyMessage(m: {
  id: string;
  sessionId: string | null;
  content: string;
  reasoning: string;
  status: MessageStatus;
  finishReason: FinishReason | null;
  model: string | null;
  usage: Usage | null;
  createdAt: Date;
}): Message {
  return {
    id: m.id,
    chat: m.sessionId ? ({ id: m.sessionId } as Chat) : undefined,
    role: Role.ASSISTANT,
    content: m.content,
    reasoning: m.reasoning || null,
    status: m.status,
    finishReason: m.finishReason,
    model: m.model,
    promptTokens: m.usage?.promptTokens ?? null,
    completionTokens: m.usage?.completionTokens ?? null,
    totalTokens: m.usage?.totalTokens ?? null,
    reasoningTokens: m.usage?.reasoningTokens ?? null,
    usageEstimated: m.usage?.estimated ?? false,
    createdAt: m.createdAt,
  } as Message;
}

/** A running reply's message as generated so far. */
export const streamingMessage = (meta: { id: string; sessionId: string | null; model: string; createdAt: Date }, sofar: { content: string; reasoning: string }): Message =>
  replyMessage({ ...meta, ...sofar, status: MessageStatus.STREAMING, finishReason: null, usage: null });

import type { ReplyEventPayload } from '../reply-hub';

/** Who a reply belongs to, for instances that did not start it. */
export interface ReplyMeta {
  messageId: string;
  sessionId: string;
  ownerId: string;
}

/**
 * What other instances need to know about the replies this one generates (REDIS_URL): their
 * events kept for replay, who owns them, how many each user has running, and ephemeral
 * idempotency keys. Without Redis there is no relay and everything stays in the process.
 */
export interface ReplyRelay {
  started(meta: ReplyMeta, startedAt: number): Promise<void>;
  /** Records an event (in order); the done event also ends the reply's running count. */
  append(meta: ReplyMeta, event: ReplyEventPayload): void;
  meta(messageId: string): Promise<ReplyMeta | null>;
  /** Every recorded event of a reply, in seq order. */
  events(messageId: string): Promise<ReplyEventPayload[]>;
  /**
   * Atomically takes one of the user's `max` reply slots for `messageId` (entries older than
   * `sinceMs` belong to a dead instance and are dropped first); false when all are taken.
   */
  reserve(ownerId: string, messageId: string, max: number, sinceMs: number): Promise<boolean>;
  release(ownerId: string, messageId: string): Promise<void>;
  idempotentReply(ownerId: string, key: string): Promise<string | null>;
  /** Claims a client key for a reply; returns the message id that already holds it, or null. */
  claimIdempotent(ownerId: string, key: string, messageId: string, ttlMs: number): Promise<string | null>;
}

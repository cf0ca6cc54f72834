import type { PubSub } from '../../core/pubsub';
import type { ReplyEvent, ReplyMeta } from '../reply-event';

/** The topics replies travel on: each reply's events, each chat's, and stop requests. */
export type ReplyTopics = {
  reply: [messageId: string, event: ReplyEvent];
  chat: [sessionId: string, event: ReplyEvent];
  /** Asks whichever instance runs the reply to stop it. */
  'reply-stop': [messageId: string];
};
export type ReplyPubSub = PubSub<ReplyTopics>;

/**
 * What is known about replies beyond the one request that started them: the record of each
 * reply's events (for late and reconnecting followers), who owns it, each user's concurrent
 * reply slots, idempotency keys of replies that are not stored, and the live topics.
 *
 * Two implementations: `MemoryReplyState` (one instance) and `RedisReplyState` (every
 * instance sharing one Redis). Nothing else in the reply code knows which one it has.
 */
export interface ReplyState {
  /**
   * Takes one of the user's `max` concurrent-reply slots for a reply about to start; false
   * when all are in use. The check and the take are one step on every instance.
   */
  reserve(ownerId: string, messageId: string, max: number): Promise<boolean>;
  /** Gives a slot back (a reply that did not start after all). A finished reply frees its own. */
  release(ownerId: string, messageId: string): Promise<void>;

  /** A reply starts generating on this instance (its slot is already reserved). */
  started(meta: ReplyMeta): void;
  /**
   * Records an event, in seq order, then publishes it to the reply's and the chat's topics;
   * the done event also frees the reply's slot. Recorded before published, so a follower
   * that subscribes and then reads the record misses nothing.
   */
  append(meta: ReplyMeta, event: ReplyEvent): void;
  /** Who owns a reply that is running or recently finished; null when unknown. */
  meta(messageId: string): Promise<ReplyMeta | null>;
  /** Every recorded event of a reply, in seq order, the done event last once there is one. */
  events(messageId: string): Promise<ReplyEvent[]>;
  /** Whether the reply's record is in this process (cheap to re-read). */
  isLocal(messageId: string): boolean;
  /** Whether a user has a reply (running or retained) in a session that may not be stored. */
  knowsSession(ownerId: string, sessionId: string): boolean;
  /**
   * Whether a reply is generating on a live instance: true; finished, unknown, or its
   * instance is gone (killed, crashed): false. Orphans are finished by the sweep.
   */
  isRunning(messageId: string): Promise<boolean>;

  /** The message id an unstored reply's client key is held by, if any. */
  idempotentReply(ownerId: string, key: string): Promise<string | null>;
  /** Claims a client key for a reply; returns the message id that already holds it, or null. */
  claimIdempotent(ownerId: string, key: string, messageId: string): Promise<string | null>;

  readonly topics: ReplyPubSub;
  /** Stops holding resources (timers); the connection itself belongs to whoever made it. */
  close(): void;
}

interface Record {
  meta: ReplyMeta;
  events: ReplyEvent[];
  done?: ReplyEvent;
}

/**
 * The records of replies kept in this process: every event of a reply this instance runs,
 * and for `retainMs` after it finishes. Both state implementations keep one: alone it is the
 * whole state; with Redis it answers for this instance's replies without a round trip.
 */
export class LocalRecords {
  private readonly records = new Map<string, Record>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly retainMs: number) {}

  start(meta: ReplyMeta): void {
    this.records.set(meta.messageId, { meta, events: [] });
  }

  append(event: ReplyEvent): void {
    const record = this.records.get(event.messageId);
    if (!record) return;
    if (!event.done) {
      record.events.push(event);
      return;
    }
    record.done = event;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.records.delete(event.messageId);
    }, this.retainMs);
    timer.unref();
    this.timers.add(timer);
  }

  get(messageId: string): ReplyMeta | undefined {
    return this.records.get(messageId)?.meta;
  }

  /** Started here and not done yet. */
  isRunning(messageId: string): boolean {
    const record = this.records.get(messageId);
    return record !== undefined && !record.done;
  }

  /** Events in seq order with the done event last; undefined when the reply is not here. */
  events(messageId: string): ReplyEvent[] | undefined {
    const record = this.records.get(messageId);
    if (!record) return undefined;
    return record.done ? [...record.events, record.done] : [...record.events];
  }

  /** Replies still running, per owner. */
  running(ownerId: string): number {
    let n = 0;
    for (const r of this.records.values()) if (r.meta.ownerId === ownerId && !r.done) n++;
    return n;
  }

  knowsSession(ownerId: string, sessionId: string): boolean {
    for (const r of this.records.values()) if (r.meta.ownerId === ownerId && r.meta.sessionId === sessionId) return true;
    return false;
  }

  close(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}

import type { ReplyEvent, ReplyMeta } from '../reply-event';
import { LocalRecords, type ReplyPubSub, type ReplyState } from './reply-state';

/** Reply state for a single instance: everything in this process. */
export class MemoryReplyState implements ReplyState {
  private readonly records: LocalRecords;
  /** Slots taken by replies about to start; running ones are counted from the records. */
  private readonly reserved = new Map<string, Set<string>>();
  private readonly idempotency = new Map<string, string>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    readonly topics: ReplyPubSub,
    /** How long a finished reply's events (and an unstored reply's client key) are kept. */
    private readonly retainMs: number,
  ) {
    this.records = new LocalRecords(retainMs);
  }

  async reserve(ownerId: string, messageId: string, max: number): Promise<boolean> {
    const mine = this.reserved.get(ownerId) ?? new Set<string>();
    if (mine.size + this.records.running(ownerId) >= max) return false;
    mine.add(messageId);
    this.reserved.set(ownerId, mine);
    return true;
  }

  async release(ownerId: string, messageId: string): Promise<void> {
    const mine = this.reserved.get(ownerId);
    mine?.delete(messageId);
    if (mine?.size === 0) this.reserved.delete(ownerId);
  }

  started(meta: ReplyMeta): void {
    this.records.start(meta);
    // From now on the running record holds the slot.
    void this.release(meta.ownerId, meta.messageId);
  }

  append(meta: ReplyMeta, event: ReplyEvent): void {
    this.records.append(event);
    this.topics.publish('reply', meta.messageId, event);
    this.topics.publish('chat', meta.sessionId, event);
  }

  async meta(messageId: string): Promise<ReplyMeta | null> {
    return this.records.get(messageId) ?? null;
  }

  async events(messageId: string): Promise<ReplyEvent[]> {
    return this.records.events(messageId) ?? [];
  }

  isLocal(messageId: string): boolean {
    return this.records.get(messageId) !== undefined;
  }

  knowsSession(ownerId: string, sessionId: string): boolean {
    return this.records.knowsSession(ownerId, sessionId);
  }

  /** One instance: a reply runs here or nowhere. */
  async isRunning(messageId: string): Promise<boolean> {
    return this.records.isRunning(messageId);
  }

  async idempotentReply(ownerId: string, key: string): Promise<string | null> {
    return this.idempotency.get(`${ownerId}:${key}`) ?? null;
  }

  async claimIdempotent(ownerId: string, key: string, messageId: string): Promise<string | null> {
    const name = `${ownerId}:${key}`;
    const earlier = this.idempotency.get(name);
    if (earlier) return earlier;
    this.idempotency.set(name, messageId);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.idempotency.delete(name);
    }, this.retainMs);
    timer.unref();
    this.timers.add(timer);
    return null;
  }

  close(): void {
    this.records.close();
    for (const t of this.timers) clearTimeout(t);
  }
}

import type { Redis } from 'ioredis';
import type { Logger } from '../../core/logger';
import { sharedStateUnavailable } from '../../redis/connection';
import type { ReplyEvent, ReplyMeta } from '../reply-event';
import { LocalRecords, type ReplyPubSub, type ReplyState } from './reply-state';
import { parseShared } from '../../redis/json';

/** Check-and-take in one step, so concurrent sends on any instances cannot both get the last slot. */
const RESERVE = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1`;

export interface RedisReplyStateOptions {
  redis: Redis;
  prefix: string;
  topics: ReplyPubSub;
  logger: Logger;
  /** How long a finished reply's record (and an unstored reply's client key) stays in Redis. */
  retainMs: number;
  /** How long this instance keeps its own finished replies in memory (Redis has them too). */
  localRetainMs: number;
  /** A slot older than this belongs to an instance that died (longer than any reply can run). */
  slotMaxAgeMs: number;
  /** This instance, as other instances see it: a key it refreshes while it lives. */
  instanceId: string;
  /** How often the instance key is refreshed, and how long it outlives the last refresh. */
  heartbeatMs: number;
  heartbeatTtlMs: number;
}

/**
 * Reply state shared by every instance through Redis: each reply's events in a Redis Stream
 * (so `replyStream` with `afterSeq` resumes on any instance), its owner in a small key, each
 * user's running replies in a sorted set scored by start time (a crashed instance's entries
 * age out), all with TTLs. Replies this instance runs are also kept in memory and read from
 * there. Appends are written without waiting, on the same connection as the publish that
 * follows them, so a stream never lags the live events it backs.
 */
export class RedisReplyState implements ReplyState {
  readonly topics: ReplyPubSub;
  private readonly redis: Redis;
  private readonly local: LocalRecords;
  private readonly heartbeat: NodeJS.Timeout;

  constructor(private readonly opts: RedisReplyStateOptions) {
    this.redis = opts.redis;
    this.topics = opts.topics;
    this.local = new LocalRecords(opts.localRetainMs);
    // While this key lives, other instances leave this instance's replies alone; once it
    // lapses (a crash, kill -9) their sweep finishes them.
    const beat = () => void this.redis.set(this.instanceKey(opts.instanceId), '1', 'PX', opts.heartbeatTtlMs).catch(this.failed('the instance heartbeat'));
    beat();
    this.heartbeat = setInterval(beat, opts.heartbeatMs);
    this.heartbeat.unref();
  }

  private key = (kind: string, id: string) => `${this.opts.prefix}reply:${id}:${kind}`;
  private idemKey = (ownerId: string, key: string) => `${this.opts.prefix}idem:${ownerId}:${key}`;
  private runningKey = (ownerId: string) => `${this.opts.prefix}running:${ownerId}`;
  private instanceKey = (instanceId: string) => `${this.opts.prefix}instance:${instanceId}`;
  private failed = (what: string) => (err: Error) => this.opts.logger.warn({ component: 'redis', err: { message: err.message } }, `${what} in Redis failed`);

  async reserve(ownerId: string, messageId: string, max: number): Promise<boolean> {
    const now = Date.now();
    const taken = await this.redis
      .eval(RESERVE, 1, this.runningKey(ownerId), now - this.opts.slotMaxAgeMs, max, now, messageId, this.opts.retainMs * 3)
      .catch(sharedStateUnavailable);
    return taken === 1;
  }

  async release(ownerId: string, messageId: string): Promise<void> {
    await this.redis.zrem(this.runningKey(ownerId), messageId).catch(sharedStateUnavailable);
  }

  started(meta: ReplyMeta): void {
    this.local.start(meta);
    // The slot was taken by reserve(); this refreshes its time.
    const ttl = this.opts.retainMs * 3;
    this.redis
      .multi()
      // A reply generated again (a retry after it failed or was cut off) starts a fresh record.
      .del(this.key('events', meta.messageId))
      .set(this.key('meta', meta.messageId), JSON.stringify({ ...meta, instanceId: this.opts.instanceId }), 'PX', ttl)
      .zadd(this.runningKey(meta.ownerId), Date.now(), meta.messageId)
      .pexpire(this.runningKey(meta.ownerId), ttl)
      .exec()
      .catch(this.failed('recording a reply start'));
  }

  append(meta: ReplyMeta, event: ReplyEvent): void {
    this.local.append(event);
    const stream = this.key('events', meta.messageId);
    const entry = JSON.stringify(event);
    // Most events are one XADD; the first and the last also set expiries (one MULTI).
    if (event.seq !== 1 && !event.done) {
      this.redis.xadd(stream, '*', 'e', entry).catch(this.failed('recording a reply event'));
    } else {
      const batch = this.redis.multi().xadd(stream, '*', 'e', entry).pexpire(stream, this.opts.retainMs);
      if (event.done) batch.pexpire(this.key('meta', meta.messageId), this.opts.retainMs).zrem(this.runningKey(meta.ownerId), meta.messageId);
      batch.exec().catch(this.failed('recording a reply event'));
    }
    this.topics.publish('reply', meta.messageId, event);
    this.topics.publish('chat', meta.sessionId, event);
  }

  async meta(messageId: string): Promise<ReplyMeta | null> {
    const local = this.local.get(messageId);
    if (local) return local;
    const raw = await this.redis.get(this.key('meta', messageId)).catch(sharedStateUnavailable);
    return raw ? (parseShared(raw) as ReplyMeta) : null;
  }

  async events(messageId: string): Promise<ReplyEvent[]> {
    const local = this.local.events(messageId);
    if (local) return local;
    const entries = await this.redis.xrange(this.key('events', messageId), '-', '+').catch(sharedStateUnavailable);
    return entries.map(([, fields]) => parseShared(fields[1]) as ReplyEvent);
  }

  isLocal(messageId: string): boolean {
    return this.local.get(messageId) !== undefined;
  }

  knowsSession(ownerId: string, sessionId: string): boolean {
    return this.local.knowsSession(ownerId, sessionId);
  }

  async isRunning(messageId: string): Promise<boolean> {
    if (this.local.get(messageId)) return this.local.isRunning(messageId);
    const meta = await this.meta(messageId);
    if (!meta?.instanceId || meta.instanceId === this.opts.instanceId) return false;
    const [alive, events] = await Promise.all([
      this.redis.exists(this.instanceKey(meta.instanceId)).catch(sharedStateUnavailable),
      this.events(messageId),
    ]);
    return alive === 1 && !events.some((e) => e.done);
  }

  idempotentReply(ownerId: string, key: string): Promise<string | null> {
    return this.redis.get(this.idemKey(ownerId, key)).catch(sharedStateUnavailable);
  }

  async claimIdempotent(ownerId: string, key: string, messageId: string): Promise<string | null> {
    const name = this.idemKey(ownerId, key);
    if ((await this.redis.set(name, messageId, 'PX', this.opts.retainMs, 'NX').catch(sharedStateUnavailable)) === 'OK') return null;
    return this.redis.get(name).catch(sharedStateUnavailable);
  }

  close(): void {
    clearInterval(this.heartbeat);
    this.local.close();
  }
}

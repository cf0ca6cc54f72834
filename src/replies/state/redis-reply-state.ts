import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';
import type { ReplyEventPayload } from '../reply-hub';
import type { ReplyMeta, ReplyRelay } from './reply-state';
import { sharedStateUnavailable } from '../../redis/connection';

/** Check-and-take in one step, so concurrent sends on any instances cannot both get the last slot. */
const RESERVE = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1`;

/**
 * Replies shared through Redis: each reply's events in a Redis Stream (so `replyStream` with
 * `afterSeq` resumes on any instance), its owner in a small key, each user's running replies
 * in a sorted set scored by start time (a crashed instance's entries age out), all with TTLs.
 * Appends are written without waiting, on the same connection as the pub/sub publish that
 * follows them, so a stream never lags the live events it backs.
 */
export class RedisReplyRelay implements ReplyRelay {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly retainMs: number,
    private readonly logger: FastifyBaseLogger,
  ) {}

  private key = (kind: string, id: string) => `${this.prefix}reply:${id}:${kind}`;
  private idemKey = (ownerId: string, key: string) => `${this.prefix}idem:${ownerId}:${key}`;
  private runningKey = (ownerId: string) => `${this.prefix}running:${ownerId}`;
  private failed = (err: Error) => this.logger.warn({ component: 'redis', err: { message: err.message } }, 'recording a reply event in Redis failed');

  async started(meta: ReplyMeta, startedAt: number): Promise<void> {
    // The reply's slot was taken by reserve(); this refreshes its time.
    await this.redis
      .multi()
      .set(this.key('meta', meta.messageId), JSON.stringify(meta), 'PX', this.retainMs * 3)
      .zadd(this.runningKey(meta.ownerId), startedAt, meta.messageId)
      .pexpire(this.runningKey(meta.ownerId), this.retainMs * 3)
      .exec();
  }

  append(meta: ReplyMeta, event: ReplyEventPayload): void {
    const stream = this.key('events', meta.messageId);
    const entry = JSON.stringify(event);
    // Most events are one XADD; the first and the last also set expiries (one MULTI).
    if (event.seq !== 1 && !event.done) {
      this.redis.xadd(stream, '*', 'e', entry).catch(this.failed);
      return;
    }
    const batch = this.redis.multi().xadd(stream, '*', 'e', entry).pexpire(stream, this.retainMs);
    if (event.done) batch.pexpire(this.key('meta', meta.messageId), this.retainMs).zrem(this.runningKey(meta.ownerId), meta.messageId);
    batch.exec().catch(this.failed);
  }

  async meta(messageId: string): Promise<ReplyMeta | null> {
    const raw = await this.redis.get(this.key('meta', messageId)).catch(sharedStateUnavailable);
    return raw ? (JSON.parse(raw) as ReplyMeta) : null;
  }

  async events(messageId: string): Promise<ReplyEventPayload[]> {
    const entries = await this.redis.xrange(this.key('events', messageId), '-', '+').catch(sharedStateUnavailable);
    return entries.map(([, fields]) => JSON.parse(fields[1]) as ReplyEventPayload);
  }

  async reserve(ownerId: string, messageId: string, max: number, sinceMs: number): Promise<boolean> {
    const taken = await this.redis.eval(RESERVE, 1, this.runningKey(ownerId), sinceMs, max, Date.now(), messageId, this.retainMs * 3).catch(sharedStateUnavailable);
    return taken === 1;
  }

  async release(ownerId: string, messageId: string): Promise<void> {
    await this.redis.zrem(this.runningKey(ownerId), messageId).catch(sharedStateUnavailable);
  }

  idempotentReply(ownerId: string, key: string): Promise<string | null> {
    return this.redis.get(this.idemKey(ownerId, key)).catch(sharedStateUnavailable);
  }

  async claimIdempotent(ownerId: string, key: string, messageId: string, ttlMs: number): Promise<string | null> {
    const name = this.idemKey(ownerId, key);
    if ((await this.redis.set(name, messageId, 'PX', ttlMs, 'NX').catch(sharedStateUnavailable)) === 'OK') return null;
    return this.redis.get(name).catch(sharedStateUnavailable);
  }
}

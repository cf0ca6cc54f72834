import type { MikroORM } from '@mikro-orm/core';
import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';
import { connectRedis, isRedisReachable } from './connection';
import { redisEventTarget } from './event-target';
import { RedisReplyRelay } from '../replies/state/redis-reply-state';
import { RedisRevocations } from '../accounts/redis-revocations';

/** Everything instances share through Redis (REDIS_URL), built once at start. */
export interface SharedState {
  redis: Redis;
  eventTarget: ReturnType<typeof redisEventTarget>;
  relay: RedisReplyRelay;
  revocations: RedisRevocations;
  prefix: string;
  /** Both connections answer. */
  reachable(): Promise<boolean>;
  close(): void;
}

export async function connectSharedState(opts: { url: string; prefix: string; orm: MikroORM; logger: FastifyBaseLogger; replyRetainMs: number }): Promise<SharedState> {
  const { url, prefix, orm, logger } = opts;
  const redis = await connectRedis(url, logger, 'main');
  // Pub/sub needs a connection of its own: a subscribed connection can do nothing else.
  const subscriber = await connectRedis(url, logger, 'subscriber', { subscriber: true });
  const revocations = new RedisRevocations(redis, prefix, logger);
  const loadRevocations = () => revocations.load(orm).catch((err: Error) => logger.warn({ component: 'redis', err: { message: err.message } }, 'copying revoked tokens to Redis failed'));
  await loadRevocations();
  // A restarted Redis comes back empty: copy the set again whenever the connection returns.
  redis.on('ready', loadRevocations);
  return {
    redis,
    eventTarget: redisEventTarget({ publisher: redis, subscriber, prefix, logger }),
    relay: new RedisReplyRelay(redis, prefix, opts.replyRetainMs, logger),
    revocations,
    prefix,
    reachable: async () => (await isRedisReachable(redis)) && subscriber.status === 'ready',
    close: () => {
      redis.disconnect();
      subscriber.disconnect();
    },
  };
}

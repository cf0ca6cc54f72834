import type { MikroORM } from '@mikro-orm/core';
import type { Logger } from '../core/logger';
import type { Redis } from 'ioredis';
import { connectRedis, isRedisReachable } from './connection';
import { redisEventTarget } from './event-target';
import { RedisRevocations } from '../accounts/redis-revocations';

/**
 * The Redis connections every instance shares (REDIS_URL), built once at start: the command
 * connection for the stores, the event transport for every PubSub, and revoked tokens.
 */
export interface SharedState {
  redis: Redis;
  eventTarget: ReturnType<typeof redisEventTarget>;
  revocations: RedisRevocations;
  prefix: string;
  /** The command connection answers PING, and the subscriber is connected. */
  reachable(): Promise<boolean>;
  close(): void;
}

export async function connectSharedState(opts: { url: string; prefix: string; orm: MikroORM; logger: Logger; commandTimeoutMs?: number }): Promise<SharedState> {
  const { url, prefix, orm, logger } = opts;
  const redis = await connectRedis(url, logger, 'main', { commandTimeoutMs: opts.commandTimeoutMs });
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
    revocations,
    prefix,
    reachable: async () => (await isRedisReachable(redis)) && subscriber.status === 'ready',
    close: () => {
      redis.disconnect();
      subscriber.disconnect();
    },
  };
}

import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import type { Logger } from '../core/logger';
import type { Redis } from 'ioredis';
import { parseShared } from './json';

type RedisEventTarget = ReturnType<typeof createRedisEventTarget>;

/**
 * The pub/sub transport of every PubSub in the app when REDIS_URL is set: events published
 * on any instance reach subscribers on all of them. Channels carry the deployment's key
 * prefix. The library fires its Redis commands without waiting for them; failures (Redis
 * down) are logged here rather than left as unhandled rejections, and the subscriber
 * connection re-subscribes by itself when Redis returns.
 */
export function redisEventTarget(opts: { publisher: Redis; subscriber: Redis; prefix: string; logger: Logger }): RedisEventTarget {
  const { publisher, subscriber, prefix, logger } = opts;
  const failed = (what: string) => (err: Error) => logger.warn({ component: 'redis', err: { message: err.message } }, `Redis ${what} failed`);
  const publishClient = {
    publish: (channel: string, message: string) => publisher.publish(prefix + channel, message).catch(failed('publish')),
  };
  const subscribeClient = {
    on: (event: 'message', listener: (channel: string, message: string) => void) => {
      subscriber.on(event, (channel: string, message: string) => {
        if (channel.startsWith(prefix)) listener(channel.slice(prefix.length), message);
      });
    },
    subscribe: (channel: string) => subscriber.subscribe(prefix + channel).catch(failed('subscribe')),
    unsubscribe: (channel: string) => subscriber.unsubscribe(prefix + channel).catch(failed('unsubscribe')),
  };
  return createRedisEventTarget({
    publishClient: publishClient as unknown as Redis,
    subscribeClient: subscribeClient as unknown as Redis,
    serializer: { stringify: JSON.stringify, parse: parseShared },
  });
}

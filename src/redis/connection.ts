import { Redis } from 'ioredis';
import type { Logger } from '../core/logger';
import { UpstreamError } from '../core/errors';

/**
 * What a request that needs Redis gets while it is unreachable: a clear, retryable error
 * instead of a generic internal one.
 */
export function sharedStateUnavailable(): never {
  throw new UpstreamError('Temporarily unavailable: the shared state store (Redis) cannot be reached; try again shortly', { reason: 'SHARED_STATE_UNAVAILABLE' });
}

/**
 * The shared Redis connection (REDIS_URL). Commands fail at once while the connection is
 * down instead of queueing (so callers see a clear error or fall back), and ioredis keeps
 * reconnecting in the background. Starting fails when Redis cannot be reached at all.
 */
export async function connectRedis(url: string, logger: Logger, name = 'main', opts: { subscriber?: boolean } = {}): Promise<Redis> {
  const redis = new Redis(url, {
    lazyConnect: true,
    // A subscriber queues its SUBSCRIBEs until it is connected again (and then re-subscribes).
    enableOfflineQueue: Boolean(opts.subscriber),
    maxRetriesPerRequest: opts.subscriber ? null : 1,
    connectTimeout: 5_000,
    connectionName: `chat-assistant:${name}`,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  });
  let down = false;
  redis.on('error', (err: Error) => {
    if (!down) logger.error({ component: 'redis', connection: name, err: { message: err.message } }, 'Redis connection error');
    down = true;
  });
  redis.on('ready', () => {
    if (down) logger.info({ component: 'redis', connection: name }, 'Redis connection restored');
    down = false;
  });
  try {
    await redis.connect();
  } catch (err) {
    redis.disconnect();
    throw new Error(`Redis at REDIS_URL is not reachable: ${(err as Error).message}`);
  }
  return redis;
}

/** Readiness: a PING answered within a second. */
export async function isRedisReachable(redis: Redis): Promise<boolean> {
  if (redis.status !== 'ready') return false;
  const timeout = new Promise<false>((resolve) => setTimeout(() => resolve(false), 1_000).unref());
  return Promise.race([redis.ping().then((r) => r === 'PONG', () => false), timeout]);
}

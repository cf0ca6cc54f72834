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
 *
 * A Redis that hangs (frozen, or a network that drops packets silently) keeps the connection
 * open: with `commandTimeoutMs` each command fails after that long, and the first that does
 * drops the connection, so the following commands fail at once (not each after its own wait)
 * while ioredis reconnects, which succeeds only once Redis answers again.
 */
export async function connectRedis(url: string, logger: Logger, name = 'main', opts: { subscriber?: boolean; commandTimeoutMs?: number } = {}): Promise<Redis> {
  const redis = new HangAwareRedis(url, {
    lazyConnect: true,
    // A subscriber queues its SUBSCRIBEs until it is connected again (and then re-subscribes).
    enableOfflineQueue: Boolean(opts.subscriber),
    maxRetriesPerRequest: opts.subscriber ? null : 1,
    connectTimeout: 5_000,
    connectionName: `chat-assistant:${name}`,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
    // A subscriber waits for messages by design; only commands get a deadline. A command cut
    // off by a reconnection is not sent again behind its caller's back: it has been told it failed.
    ...(opts.subscriber ? {} : { commandTimeout: opts.commandTimeoutMs, autoResendUnfulfilledCommands: false }),
  });
  let down = false;
  redis.onCommandTimeout = () => {
    if (redis.status !== 'ready') return; // already reconnecting
    logger.error({ component: 'redis', connection: name }, 'Redis command timed out; reconnecting');
    down = true;
    redis.disconnect(true);
  };
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

/** Readiness: a PING answered (the command deadline, and /readyz's own, bound the wait). */
export async function isRedisReachable(redis: Redis): Promise<boolean> {
  if (redis.status !== 'ready') return false;
  return redis.ping().then((r) => r === 'PONG', () => false);
}

/** ioredis's own timeout message (Command.setTimeout); there is no event for it. */
const COMMAND_TIMED_OUT = 'Command timed out';

/** Tells `onCommandTimeout` when a command ran out of time. */
class HangAwareRedis extends Redis {
  onCommandTimeout?: () => void;

  override sendCommand(...args: Parameters<Redis['sendCommand']>): ReturnType<Redis['sendCommand']> {
    const [command] = args;
    command.promise.catch((err: Error) => {
      if (err.message === COMMAND_TIMED_OUT) this.onCommandTimeout?.();
    });
    return super.sendCommand(...args);
  }
}

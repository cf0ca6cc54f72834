import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { RateLimitedError } from '../core/errors';

/** The request, AI, login and redeem-code limits, each per minute. */
export interface RateLimitSettings {
  perMinute: number;
  aiPerMinute: number;
  loginPerMinute: number;
  /** Redeem attempts per user: slows down anyone guessing codes. */
  redeemPerMinute: number;
}

export type LimitName = 'request' | 'ai' | 'login' | 'redeem';

const MESSAGES: Record<LimitName, string> = {
  request: 'Too many requests',
  ai: 'Too many AI requests',
  login: 'Too many login attempts',
  redeem: 'Too many redeem attempts',
};

/** Who a limit counts: the user when there is one, else the client's address. */
export const limitKey = (who: { userId?: string | null; ip?: string }): string => (who.userId ? `u:${who.userId}` : `ip:${who.ip ?? 'unknown'}`);

/**
 * Fixed one-minute windows per key (rate-limiter-flexible). With Redis every instance
 * counts into the same window; without it each process counts alone. When Redis cannot be
 * reached a per-process limiter stands in (the library's insurance limiter), so an outage
 * of the shared store loosens limits to per-instance instead of refusing every request.
 */
export class RateLimits {
  private readonly limiters: Record<LimitName, RateLimiterAbstract>;

  constructor(settings: RateLimitSettings, shared?: { redis: Redis; prefix: string }) {
    const make = (name: LimitName, points: number): RateLimiterAbstract => {
      const memory = new RateLimiterMemory({ keyPrefix: `rl:${name}`, points, duration: 60 });
      if (!shared) return memory;
      return new RateLimiterRedis({ storeClient: shared.redis, keyPrefix: `${shared.prefix}rl:${name}`, points, duration: 60, insuranceLimiter: memory });
    };
    this.limiters = {
      request: make('request', settings.perMinute),
      ai: make('ai', settings.aiPerMinute),
      login: make('login', settings.loginPerMinute),
      redeem: make('redeem', settings.redeemPerMinute),
    };
  }

  /** Counts one use of `name` for `key`; RATE_LIMITED (with retryAfterSeconds) when the window is full. */
  async consume(name: LimitName, key: string): Promise<void> {
    try {
      await this.limiters[name].consume(key);
    } catch (err) {
      if (err instanceof RateLimiterRes) throw new RateLimitedError(err.msBeforeNext / 1000, MESSAGES[name]);
      throw err;
    }
  }
}

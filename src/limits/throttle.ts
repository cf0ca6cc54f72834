import type { Redis } from 'ioredis';

/**
 * "At most once per interval per key" (e.g. asking a payment provider about one order).
 * In process by default; with Redis every instance shares it (SET NX PX).
 */
export interface Throttle {
  /** True when the caller may go ahead now; false when someone did within `intervalMs`. */
  tryAcquire(key: string, intervalMs: number): Promise<boolean>;
}

export class MemoryThrottle implements Throttle {
  private readonly until = new Map<string, number>();

  async tryAcquire(key: string, intervalMs: number): Promise<boolean> {
    const now = Date.now();
    if ((this.until.get(key) ?? 0) > now) return false;
    // Keep the map small: drop what has lapsed whenever it grows.
    if (this.until.size > 10_000) for (const [k, t] of this.until) if (t <= now) this.until.delete(k);
    this.until.set(key, now + intervalMs);
    return true;
  }
}

export class RedisThrottle implements Throttle {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  /** Without Redis the caller may go ahead: a throttle saves work, it does not guard anything. */
  async tryAcquire(key: string, intervalMs: number): Promise<boolean> {
    try {
      return (await this.redis.set(`${this.prefix}throttle:${key}`, '1', 'PX', intervalMs, 'NX')) === 'OK';
    } catch {
      return true;
    }
  }
}

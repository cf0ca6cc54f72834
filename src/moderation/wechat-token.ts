import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from '../core/logger';
import { sleep } from '../core/sleep';
import { CheckerError } from './types';

interface CachedToken {
  token: string;
  /** When WeChat stops accepting it (ms since the epoch). */
  expiresAt: number;
}

/** Where instances share the token, and the lock that lets one of them refresh it. */
export interface TokenStore {
  read(): Promise<CachedToken | null>;
  write(token: CachedToken): Promise<void>;
  /** Forgets `token` if it is still the one stored (another instance may have stored a newer one). */
  drop(token: string): Promise<void>;
  /** Takes the refresh lock for at most `ttlMs`: a release function, or null when another holder has it. */
  lock(ttlMs: number): Promise<(() => Promise<void>) | null>;
}

/** One instance: the in-process single flight of WechatAccessTokens is all the locking needed. */
export class MemoryTokenStore implements TokenStore {
  private cached: CachedToken | null = null;
  async read() {
    return this.cached;
  }
  async write(token: CachedToken) {
    this.cached = token;
  }
  async drop(token: string) {
    if (this.cached?.token === token) this.cached = null;
  }
  async lock() {
    return async () => undefined;
  }
}

const RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0";

/** Every instance on REDIS_URL: the token under one key (expiring with it), the lock under another. */
export class RedisTokenStore implements TokenStore {
  private readonly key: string;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    appId: string,
  ) {
    this.key = `${prefix}moderation:wechat-token:${appId}`;
  }

  async read(): Promise<CachedToken | null> {
    const [[, token], [, ttl]] = (await this.redis.multi().get(this.key).pttl(this.key).exec()) as [[unknown, string | null], [unknown, number]];
    return token && ttl > 0 ? { token, expiresAt: Date.now() + ttl } : null;
  }

  async write({ token, expiresAt }: CachedToken): Promise<void> {
    const ttl = expiresAt - Date.now();
    if (ttl > 0) await this.redis.set(this.key, token, 'PX', ttl);
  }

  async drop(token: string): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.key, token);
  }

  async lock(ttlMs: number): Promise<(() => Promise<void>) | null> {
    const owner = randomBytes(8).toString('hex');
    const lockKey = `${this.key}:lock`;
    if ((await this.redis.set(lockKey, owner, 'PX', ttlMs, 'NX')) !== 'OK') return null;
    return async () => {
      await this.redis.eval(RELEASE, 1, lockKey, owner).catch(() => undefined);
    };
  }
}

export interface AccessTokenOptions {
  appId: string;
  appSecret: string;
  apiBase: string;
  timeoutMs: number;
  /** Refreshed this long before it expires. */
  marginMs: number;
  store: TokenStore;
  logger: Logger;
}

interface StableTokenAnswer {
  access_token?: string;
  expires_in?: number;
  errcode?: number;
  errmsg?: string;
}

/**
 * The app's WeChat access token, from `POST /cgi-bin/stable_token` (the "stable" token: it
 * does not invalidate the one other systems of the same app hold). Cached in this process,
 * shared through the store by every instance, and refreshed by one caller at a time: one
 * in-process flight, and across instances the store's lock (the others wait for the token it
 * stores). Without the store (Redis down) each instance asks WeChat itself, which in the
 * stable token's normal mode hands every caller the same token, so nothing breaks.
 */
export class WechatAccessTokens {
  private local: CachedToken | null = null;
  private pending?: Promise<string>;
  /** stable_token calls made by this instance (tests and logs). */
  refreshes = 0;

  constructor(private readonly opts: AccessTokenOptions) {}

  private fresh(t: CachedToken | null): t is CachedToken {
    return t !== null && t.expiresAt - this.opts.marginMs > Date.now();
  }

  async get(): Promise<string> {
    if (this.fresh(this.local)) return this.local.token;
    this.pending ??= this.obtain().finally(() => (this.pending = undefined));
    return this.pending;
  }

  /** WeChat refused `token` (40001 and the like): forget it here and, unless someone replaced it already, everywhere. */
  async invalidate(token: string): Promise<void> {
    if (this.local?.token === token) this.local = null;
    await this.opts.store.drop(token).catch((err: Error) => this.storeFailed('drop', err));
  }

  private async obtain(): Promise<string> {
    const deadline = Date.now() + 3 * this.opts.timeoutMs;
    for (;;) {
      const shared = await this.opts.store.read().catch((err: Error) => this.storeFailed('read', err));
      if (this.fresh(shared ?? null)) return this.keep(shared!);
      // A store that is down gives no lock: go ahead alone rather than wait for nothing.
      const release = await this.opts.store.lock(2 * this.opts.timeoutMs).catch((err: Error) => (this.storeFailed('lock', err), async () => undefined));
      if (release) {
        try {
          const again = await this.opts.store.read().catch(() => null);
          if (this.fresh(again)) return this.keep(again);
          const fetched = await this.request();
          await this.opts.store.write(fetched).catch((err: Error) => this.storeFailed('write', err));
          return this.keep(fetched);
        } finally {
          await release();
        }
      }
      if (Date.now() > deadline) throw new CheckerError('wechat', 'another instance took too long refreshing the WeChat access token');
      // Another instance is refreshing: its token shows up in the store within one call to WeChat.
      await sleep(50);
    }
  }

  private keep(token: CachedToken): string {
    this.local = token;
    return token.token;
  }

  private storeFailed(what: string, err: Error): null {
    this.opts.logger.warn({ component: 'moderation', err: { message: err.message } }, `WeChat access token: shared store ${what} failed; going on without it`);
    return null;
  }

  private async request(): Promise<CachedToken> {
    const { appId, appSecret, apiBase, timeoutMs } = this.opts;
    this.refreshes++;
    let answer: StableTokenAnswer;
    try {
      const res = await fetch(new URL('cgi-bin/stable_token', apiBase.endsWith('/') ? apiBase : `${apiBase}/`), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ grant_type: 'client_credential', appid: appId, secret: appSecret, force_refresh: false }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      answer = (await res.json()) as StableTokenAnswer;
    } catch (err) {
      throw new CheckerError('wechat', `WeChat stable_token did not answer (${(err as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (err as Error).message})`);
    }
    if (!answer.access_token || !answer.expires_in) throw new CheckerError('wechat', `WeChat stable_token refused: errcode ${answer.errcode ?? 'none'} ${answer.errmsg ?? ''}`.trim());
    this.opts.logger.info({ component: 'moderation', expiresInSeconds: answer.expires_in }, 'WeChat access token refreshed');
    return { token: answer.access_token, expiresAt: Date.now() + answer.expires_in * 1000 };
  }
}

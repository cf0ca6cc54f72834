import type { MikroORM } from '@mikro-orm/core';
import type { Logger } from '../core/logger';
import type { Redis } from 'ioredis';
import { RevokedToken } from '../db/entities/revoked-token.entity';
import type { RevocationCache } from './revocations';

/**
 * Revoked JWT ids in Redis, each until the token would have expired, so the per-request
 * check is one Redis round trip instead of a SQL query. Redis answers only while it holds
 * the complete set: a marker key says so, written after the set was copied from the
 * database. After a Redis restart the marker is gone and the database answers until an
 * instance has copied the set again (on every reconnect). Any Redis error -> the database.
 */
export class RedisRevocations implements RevocationCache {
  private readonly complete: string;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly logger: Logger,
  ) {
    this.complete = `${prefix}revoked:complete`;
  }

  private key = (jti: string) => `${this.prefix}revoked:${jti}`;

  async isRevoked(jti: string): Promise<boolean | undefined> {
    try {
      const [complete, revoked] = await this.redis.mget(this.complete, this.key(jti));
      if (revoked !== null) return true;
      return complete === null ? undefined : false;
    } catch {
      return undefined;
    }
  }

  async add(jti: string, expiresAt: Date): Promise<void> {
    if (expiresAt.getTime() <= Date.now()) return;
    try {
      await this.redis.set(this.key(jti), '1', 'PXAT', expiresAt.getTime());
    } catch (err) {
      // Without this key the set is incomplete: withdraw the marker so the database decides.
      this.logger.warn({ component: 'redis', err: { message: (err as Error).message } }, 'recording a revoked token in Redis failed');
      await this.redis.del(this.complete).catch(() => undefined);
    }
  }

  /** Copies the database's revoked tokens into Redis unless it already holds them all. */
  async load(orm: MikroORM): Promise<void> {
    if (await this.redis.exists(this.complete)) return;
    const rows = await orm.em.fork().find(RevokedToken, { expiresAt: { $gt: new Date() } });
    const batch = this.redis.multi();
    for (const r of rows) batch.set(this.key(r.jti), '1', 'PXAT', r.expiresAt.getTime());
    batch.set(this.complete, String(Date.now()));
    await batch.exec();
    this.logger.info({ component: 'redis', revoked: rows.length }, 'revoked tokens copied to Redis');
  }
}

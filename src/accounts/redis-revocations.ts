import type { MikroORM } from '@mikro-orm/core';
import type { ChainableCommander, Redis } from 'ioredis';
import type { Logger } from '../core/logger';
import { RevokedToken } from '../db/entities/revoked-token.entity';
import type { RevocationCache } from './revocations';

/**
 * How often each instance checks Redis's copy against the database: a revocation that
 * reached the database but not Redis is honoured everywhere within this long. (Here rather
 * than in TIMINGS until shared-state.ts passes it in.)
 */
export const REVOCATION_AUDIT_INTERVAL_MS = 2_000;

/**
 * Revoked JWT ids in Redis, each until the token would have expired, so the per-request
 * check is one Redis round trip instead of a SQL query.
 *
 * The database (revoked_tokens) is the record; Redis holds a copy that may answer "not
 * revoked" only while a marker says the copy is complete. Nothing written in Redis can keep
 * that marker honest on its own: a logout whose Redis write fails because its instance lost
 * the connection cannot withdraw the marker either, and a Redis restored from an old
 * snapshot keeps a marker for a set it no longer has. So the database decides whether the
 * copy is complete: every instance audits it every REVOCATION_AUDIT_INTERVAL_MS (and
 * whenever its connection is made), and copies the database's rows again when Redis counts
 * fewer unexpired revocations than the database. Counting suffices because Redis only ever
 * holds what the database holds: a logout writes the database first. A logout that answered
 * true is therefore honoured on every instance within one interval, whatever Redis does;
 * an instance that cannot reach Redis asks the database meanwhile.
 *
 * Keys (under the deployment's prefix): `revoked:<jti>` (what requests read, with the
 * marker, in one MGET), `revoked:complete` (the marker) and `revoked:index` (a sorted set of
 * the same ids by expiry, for counting). Instances of the previous version read and write
 * the first two only; their revocations are missing from the index, so the audit copies them.
 */
export class RedisRevocations implements RevocationCache {
  private readonly complete: string;
  private readonly index: string;
  private auditing?: NodeJS.Timeout;
  private audit?: Promise<void>;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly logger: Logger,
    private readonly auditIntervalMs = REVOCATION_AUDIT_INTERVAL_MS,
  ) {
    this.complete = `${prefix}revoked:complete`;
    this.index = `${prefix}revoked:index`;
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

  /** Called after the revocation is in the database; a failure here is repaired by the audit. */
  async add(jti: string, expiresAt: Date): Promise<void> {
    if (expiresAt.getTime() <= Date.now()) return;
    try {
      await run(this.record(this.redis.multi(), jti, expiresAt.getTime()));
    } catch (err) {
      // The copy lacks a token the database has. Withdraw the marker so every instance asks
      // the database at once; when Redis cannot be reached for that either, the audit of an
      // instance that can reach it repairs the copy.
      this.logger.warn({ component: 'redis', err: { message: (err as Error).message } }, 'recording a revoked token in Redis failed');
      await this.redis.del(this.complete).catch(() => undefined);
    }
  }

  /**
   * Called at start and whenever the connection is made again (shared-state.ts): audits the
   * copy now, and from the first call on every interval until the connection is closed.
   */
  async load(orm: MikroORM): Promise<void> {
    if (!this.auditing) {
      this.auditing = setInterval(() => {
        if (this.redis.status !== 'ready') return; // the database answers meanwhile; the reconnect audits
        this.check(orm).catch((err: Error) => this.logger.warn({ component: 'redis', err: { message: err.message } }, 'auditing revoked tokens in Redis failed'));
      }, this.auditIntervalMs);
      this.auditing.unref();
      this.redis.once('end', () => clearInterval(this.auditing));
    }
    await this.check(orm);
  }

  /** One audit at a time: a slow copy is not started again by the next tick. */
  private check(orm: MikroORM): Promise<void> {
    this.audit ??= this.auditOnce(orm).finally(() => (this.audit = undefined));
    return this.audit;
  }

  private async auditOnce(orm: MikroORM): Promise<void> {
    const now = Date.now();
    // Redis is read before the database: whatever Redis lacks at that moment, the database
    // still counts a moment later. Expired ids leave the index here.
    const [, complete, held] = (await run(this.redis.multi().zremrangebyscore(this.index, '-inf', now).exists(this.complete).zcard(this.index))) as [number, number, number];
    // Every instance runs this every few seconds: kept out of the query log, where it would
    // drown what requests do.
    const recorded = await orm.em.fork().count(RevokedToken, { expiresAt: { $gt: new Date(now) } }, { logging: { enabled: false } });
    if (complete && held >= recorded) return;
    await this.copy(orm);
    if (complete) this.logger.warn({ component: 'redis', held, recorded }, 'Redis lacked revoked tokens the database has; copied them again');
  }

  /** Copies every unexpired revocation from the database into Redis, then sets the marker. */
  private async copy(orm: MikroORM): Promise<void> {
    const rows = await orm.em.fork().find(RevokedToken, { expiresAt: { $gt: new Date() } });
    const now = Date.now();
    const batch = this.redis.multi();
    for (const r of rows) if (r.expiresAt.getTime() > now) this.record(batch, r.jti, r.expiresAt.getTime());
    await run(batch.set(this.complete, String(now)));
    this.logger.info({ component: 'redis', revoked: rows.length }, 'revoked tokens copied to Redis');
  }

  private record(batch: ChainableCommander, jti: string, expiresAtMs: number): ChainableCommander {
    return batch.set(this.key(jti), '1', 'PXAT', expiresAtMs).zadd(this.index, expiresAtMs, jti);
  }
}

/** Runs a MULTI and returns its results; throws when it, or any command in it, failed. */
async function run(batch: ChainableCommander): Promise<unknown[]> {
  const results = await batch.exec();
  if (!results) throw new Error('Redis transaction aborted');
  const failed = results.find(([err]) => err);
  if (failed) throw failed[0]!;
  return results.map(([, value]) => value);
}

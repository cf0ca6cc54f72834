import { createHash } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/core';
import type { Logger } from '../core/logger';
import type { Metrics } from '../metrics/metrics';
import { ModerationAction, ModerationEvent, type ModerationStage } from '../db/entities/moderation-event.entity';
import { User } from '../db/entities/user.entity';

export interface StrikePolicy {
  /** Blocked texts within the window that suspend a user; 0: never. */
  strikes: number;
  windowMs: number;
  suspendMs: number;
}

export interface Hit {
  userId: string | null;
  stage: ModerationStage;
  engine: string;
  action: ModerationAction;
  labels: readonly string[];
  field?: string;
  messageId?: string;
  /** The whole text checked: only its hash and an excerpt are kept. */
  text: string;
  /** Around the hit when the engine says where it is (keywords), else the text's start. */
  excerpt?: string;
}

/** Kept characters of a hit (whole code points, so no emoji is cut in half). */
const EXCERPT_CHARS = 40;
/** Strikes are counted over at most this many recent hits (a flood counts as many as it needs to). */
const STRIKES_READ = 1_000;

/**
 * Every hit as a row, and repeat offenders suspended: a user with `strikes` distinct blocked
 * texts within the window (a client retrying one message counts once) is suspended until now
 * + `suspendMs`. Hits before the end of an earlier suspension do not count again, so a
 * suspension that ends gives a clean slate.
 */
export class ModerationRecords {
  constructor(
    private readonly orm: MikroORM,
    private readonly policy: StrikePolicy,
    private readonly logger: Logger,
    private readonly metrics?: Metrics,
  ) {}

  async record(hit: Hit): Promise<void> {
    this.metrics?.moderationHit(hit.stage, hit.action);
    const em = this.orm.em.fork();
    const excerpt = Array.from((hit.excerpt ?? hit.text).replace(/\s+/g, ' ')).slice(0, EXCERPT_CHARS).join('');
    const event = em.create(ModerationEvent, {
      userId: hit.userId,
      stage: hit.stage,
      engine: hit.engine,
      action: hit.action,
      labels: hit.labels.join(',').slice(0, 255),
      field: hit.field?.slice(0, 64) ?? null,
      messageId: hit.messageId ?? null,
      excerpt,
      textHash: createHash('sha256').update(hit.text).digest('hex'),
    });
    await em.flush();
    this.logger.warn(
      { component: 'moderation', userId: hit.userId, stage: hit.stage, engine: hit.engine, action: hit.action, labels: hit.labels, field: hit.field, messageId: hit.messageId, eventId: event.id },
      hit.action === ModerationAction.BLOCK ? 'content blocked' : 'content masked',
    );
    if (hit.action === ModerationAction.BLOCK && hit.userId && this.policy.strikes > 0) await this.strike(hit.userId);
  }

  private async strike(userId: string): Promise<void> {
    const em = this.orm.em.fork();
    const user = await em.findOne(User, userId, { fields: ['suspendedUntil'] });
    if (!user) return;
    const now = Date.now();
    const since = Math.max(now - this.policy.windowMs, user.suspendedUntil?.getTime() ?? 0);
    const recent = await em.find(
      ModerationEvent,
      { userId, action: ModerationAction.BLOCK, createdAt: { $gt: new Date(since) } },
      { fields: ['textHash'], orderBy: { createdAt: 'desc' }, limit: STRIKES_READ },
    );
    if (new Set(recent.map((e) => e.textHash)).size < this.policy.strikes) return;
    const until = new Date(now + this.policy.suspendMs);
    // Conditional: two hits racing suspend once, and a running suspension is not extended.
    const changed = await em.nativeUpdate(User, { id: userId, $or: [{ suspendedUntil: null }, { suspendedUntil: { $lt: new Date(now) } }] }, { suspendedUntil: until });
    if (changed) this.logger.warn({ component: 'moderation', userId, suspendedUntil: until.toISOString(), strikes: this.policy.strikes }, 'user suspended after repeated content violations');
  }
}

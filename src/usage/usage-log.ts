import type { MikroORM } from '@mikro-orm/core';
import type { Logger } from '../core/logger';
import { type UsageKind, UsageRecord } from '../db/entities/usage-record.entity';

/** One billable call as it ended. */
export interface UsageEntry {
  userId: string;
  kind: UsageKind;
  model: string;
  /** The provider's URL without credentials or query (`upstreamOf`), never a key; null for the built-in model or the offline echo. */
  upstream: string | null;
  reference?: string | null;
  promptTokens?: number;
  completionTokens?: number;
  reasoningTokens?: number;
  /** Fen debited for it. */
  cost?: number;
  latencyMs: number;
  outcome: string;
}

/** Where features report their billable calls (replies, speech); `UsageLog` stores them. */
export interface UsageSink {
  record(entry: UsageEntry): Promise<void>;
}

const count = (n: number | null | undefined) => (Number.isFinite(n) ? Math.max(0, Math.round(n!)) : 0);

/**
 * Stores one usage row per billable call. Never throws: the call itself already happened and
 * was delivered (and charged), so a failed write is logged, with the numbers, for an
 * operator to reconcile, and the caller goes on.
 */
export class UsageLog implements UsageSink {
  constructor(
    private readonly orm: MikroORM,
    private readonly logger: Logger,
  ) {}

  async record(entry: UsageEntry): Promise<void> {
    const row = {
      userId: entry.userId,
      kind: entry.kind,
      model: entry.model.slice(0, 128),
      upstream: entry.upstream?.slice(0, 255) ?? null,
      reference: entry.reference ?? null,
      promptTokens: count(entry.promptTokens),
      completionTokens: count(entry.completionTokens),
      reasoningTokens: count(entry.reasoningTokens),
      cost: count(entry.cost),
      latencyMs: count(entry.latencyMs),
      outcome: entry.outcome.slice(0, 16),
    };
    try {
      const em = this.orm.em.fork();
      await em.insert(UsageRecord, em.create(UsageRecord, row, { persist: false }));
    } catch (err) {
      this.logger.error({ component: 'usage', usage: row, err }, 'storing a usage record failed');
    }
  }
}

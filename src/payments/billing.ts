import { type MikroORM, UniqueConstraintViolationException } from '@mikro-orm/core';
import type { FastifyBaseLogger } from 'fastify';
import { estimateTokens } from '../models/context-window';
import type { CatalogModel } from '../models/model-catalog';
import { changeBalance } from './ledger';

type Prices = CatalogModel['prices'];

export const isPriced = (model: CatalogModel): boolean => model.prices.prompt > 0 || model.prices.completion > 0;

/** Prices are fen per 1,000 tokens; a reply costs whole fen, rounded up. */
export function replyCost(prices: Prices, usage: { promptTokens: number; completionTokens: number }): number {
  return Math.ceil((usage.promptTokens * prices.prompt + usage.completionTokens * prices.completion) / 1000);
}

/**
 * What a balance must cover before a priced model is called: the new message's own prompt
 * cost, and at least one fen. (The full cost is only known afterwards; the balance may go
 * below zero by at most the replies already running, which MAX_CONCURRENT_STREAMS bounds.)
 */
export function minimumCharge(model: CatalogModel, content: string): number {
  return Math.max(1, replyCost(model.prices, { promptTokens: estimateTokens(content), completionTokens: 0 }));
}

/** Debits finished replies of priced models: one ledger row per reply, however often asked. */
export class Billing {
  constructor(
    private readonly orm: MikroORM,
    private readonly logger: FastifyBaseLogger,
  ) {}

  async chargeReply(reply: { userId: string; messageId: string; model: CatalogModel; usage: { promptTokens: number; completionTokens: number } }): Promise<number> {
    if (!isPriced(reply.model)) return 0;
    const cost = replyCost(reply.model.prices, reply.usage);
    if (cost <= 0) return 0;
    try {
      await this.orm.em.fork().transactional((em) => changeBalance(em, { userId: reply.userId, kind: 'AI_USAGE', reference: reply.messageId, amount: -cost }));
      return cost;
    } catch (err) {
      if (err instanceof UniqueConstraintViolationException) return 0;
      this.logger.error({ component: 'billing', messageId: reply.messageId, cost, err }, 'charging a reply failed');
      return 0;
    }
  }
}

import { type MikroORM, UniqueConstraintViolationException } from '@mikro-orm/core';
import type { Logger } from '../core/logger';
import type { CatalogModel } from '../models/model-catalog';
import { isPriced, replyCost } from '../models/pricing';
import { changeBalance } from './ledger';

/** Debits finished replies of priced models: one ledger row per reply, however often asked. */
export class Billing {
  constructor(
    private readonly orm: MikroORM,
    private readonly logger: Logger,
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

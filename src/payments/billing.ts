import { type MikroORM, UniqueConstraintViolationException } from '@mikro-orm/core';
import type { Logger } from '../core/logger';
import { User } from '../db/entities/user.entity';
import type { CatalogModel } from '../models/model-catalog';
import { isPriced, maxReplyCost, replyCost } from '../models/pricing';
import { changeBalance } from './ledger';
import { ReplyHolds } from './reply-holds';

/**
 * Bills replies of priced models: a hold of the most a reply may cost before its provider is
 * called, then one debit of the real cost when it ends (one ledger row per reply, however
 * often asked). Implements the replies' `ReplyCharges` port.
 */
export class Billing {
  readonly holds: ReplyHolds;

  constructor(
    private readonly orm: MikroORM,
    private readonly logger: Logger,
  ) {
    this.holds = new ReplyHolds(orm, logger);
  }

  /** Reserves the reply's maximum cost (a priced model's): the hold's id, or null when `balance - held` does not cover it. */
  holdReply(reply: { userId: string; messageId: string; model: CatalogModel; promptTokens: number }): Promise<string | null> {
    return this.holds.hold(reply.userId, reply.messageId, maxReplyCost(reply.model, reply.promptTokens));
  }

  /** Releases a hold with nothing charged: by its id (a reply that never started), or every open one of a reply (it failed). */
  async releaseReply(ref: { holdId: string } | { messageId: string }): Promise<void> {
    if ('holdId' in ref) await this.holds.release(ref.holdId);
    else await this.holds.settle(ref.messageId, 0);
  }

  /** Settles a finished reply to its real cost; returns the fen debited. */
  async chargeReply(reply: { userId: string; messageId: string; model: CatalogModel; usage: { promptTokens: number; completionTokens: number } }): Promise<number> {
    if (!isPriced(reply.model)) return 0;
    const cost = replyCost(reply.model.prices, reply.usage);
    const settled = await this.holds.settle(reply.messageId, cost);
    if (settled !== null) return settled;
    // No hold (a reply started before holds existed): debit what the balance covers beyond others' holds.
    if (cost <= 0) return 0;
    try {
      return await this.orm.em.fork().transactional(async (em) => {
        const user = await em.findOne(User, reply.userId, { fields: ['balance', 'held'], refresh: true });
        const charge = user ? Math.min(cost, Math.max(0, user.balance - user.held)) : 0;
        if (charge > 0) await changeBalance(em, { userId: reply.userId, kind: 'AI_USAGE', reference: reply.messageId, amount: -charge });
        return charge;
      });
    } catch (err) {
      if (err instanceof UniqueConstraintViolationException) return 0;
      this.logger.error({ component: 'billing', messageId: reply.messageId, cost, err }, 'charging a reply failed');
      return 0;
    }
  }

  /** The sweep: holds left open by an instance that stopped are released. */
  settleStaleHolds(olderThanMs: number): Promise<number> {
    return this.holds.settleStale(olderThanMs);
  }
}

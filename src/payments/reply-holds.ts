import type { EntityManager, MikroORM } from '@mikro-orm/core';
import { newId } from '../core/ids';
import type { Logger } from '../core/logger';
import { LedgerEntry } from '../db/entities/ledger-entry.entity';
import { ReplyHold } from '../db/entities/reply-hold.entity';
import { User } from '../db/entities/user.entity';
import { changeBalance } from './ledger';

/** What a settlement did: the fen debited (an AI_USAGE row), or null when the reply had no open hold. */
export type Settled = number | null;

const affected = (result: unknown): number => Number((result as { affectedRows?: number } | undefined)?.affectedRows ?? 0);

/**
 * Holds on balances for priced replies. A hold raises `users.held` by a conditional update
 * (`balance - held >= amount`), so two replies racing for the last fen cannot both start and a
 * balance is never overdrawn; the database is the truth, whichever instance runs the reply.
 * Settling is exactly once per hold (a conditional update of its `settled_at`): it lowers
 * `held` again and debits the real cost through `changeBalance` (an AI_USAGE ledger row), in
 * one transaction. Holds change no balance, so they have no ledger rows of their own.
 */
export class ReplyHolds {
  constructor(
    private readonly orm: MikroORM,
    private readonly logger: Logger,
  ) {}

  /** Reserves `amount` fen of the user's balance for a reply: the hold's id, or null (nothing changed) when it is not covered. */
  async hold(userId: string, messageId: string, amount: number): Promise<string | null> {
    if (!Number.isSafeInteger(amount) || amount <= 0) throw new RangeError(`not a hold in fen: ${amount}`);
    return this.orm.em.fork().transactional(async (em) => {
      const reserved = await run(em, `update ${usersTable(em)} set held = held + ? where id = ? and balance - held >= ?`, [amount, userId, amount]);
      if (!reserved) return null;
      const id = newId();
      await em.insert(ReplyHold, { id, userId, messageId, amount, createdAt: new Date() });
      return id;
    });
  }

  /**
   * Settles the reply's open holds: releases them and debits `cost` fen, at most what the
   * balance covers beyond the user's other holds (a reply longer than its hold assumed cannot
   * overdraw). A reply already charged (a failed one generated again in its own row) is not
   * charged twice. Null when the reply has no open hold.
   */
  async settle(messageId: string, cost: number): Promise<Settled> {
    const open = await this.orm.em.fork().find(ReplyHold, { messageId, settledAt: null }, { orderBy: { createdAt: 'asc' } });
    let result: Settled = null;
    for (const hold of open) {
      const charged: Settled = await this.settleOne(hold, result === null ? cost : 0).catch((err: unknown) => {
        // Left open: the sweep settles it later (settleStale), the user keeps the reserve until then.
        this.logger.error({ component: 'billing', messageId, holdId: hold.id, err }, 'settling a reply hold failed');
        return null;
      });
      if (charged !== null) result = (result ?? 0) + charged;
    }
    return result;
  }

  /** Releases one hold with nothing charged (its reply never started); false when it was settled already. */
  async release(holdId: string): Promise<boolean> {
    const hold = await this.orm.em.fork().findOne(ReplyHold, { id: holdId, settledAt: null });
    return hold ? (await this.settleOne(hold, 0)) !== null : false;
  }

  /** Releases holds open longer than any reply can run (their instance died before settling): nothing is charged. */
  async settleStale(olderThanMs: number, limit = 200): Promise<number> {
    const stale = await this.orm.em.fork().find(ReplyHold, { settledAt: null, createdAt: { $lt: new Date(Date.now() - olderThanMs) } }, { orderBy: { createdAt: 'asc' }, limit });
    let released = 0;
    for (const hold of stale) if ((await this.settleOne(hold, 0)) !== null) released++;
    if (released) this.logger.warn({ component: 'billing', released }, 'released reply holds left open by a stopped instance');
    return released;
  }

  /** One hold settled in one transaction; null when another settlement got there first. */
  private settleOne(hold: ReplyHold, cost: number): Promise<Settled> {
    return this.orm.em.fork().transactional(async (em) => {
      const mine = await em.nativeUpdate(ReplyHold, { id: hold.id, settledAt: null }, { settledAt: new Date(), charged: 0 });
      if (!mine) return null;
      const table = usersTable(em);
      // Takes the user's row lock (MySQL) before reading what is left to debit.
      await run(em, `update ${table} set held = held - ? where id = ?`, [hold.amount, hold.userId]);
      const [row] = await em.getConnection().execute<Array<{ balance: number; held: number }>>(`select balance, held from ${table} where id = ?`, [hold.userId], 'all', em.getTransactionContext());
      const charge = row ? Math.min(cost, Math.max(0, Number(row.balance) - Number(row.held))) : 0;
      if (charge < cost) this.logger.warn({ component: 'billing', messageId: hold.messageId, cost, charged: charge }, 'a reply cost more than its hold and the balance covers');
      if (charge <= 0 || (await em.count(LedgerEntry, { kind: 'AI_USAGE', reference: hold.messageId }))) return 0;
      await changeBalance(em, { userId: hold.userId, kind: 'AI_USAGE', reference: hold.messageId, amount: -charge });
      await em.nativeUpdate(ReplyHold, { id: hold.id }, { charged: charge });
      return charge;
    });
  }
}

const usersTable = (em: EntityManager) => em.getMetadata().get(User.name).tableName;

async function run(em: EntityManager, sql: string, params: unknown[]): Promise<number> {
  return affected(await em.getConnection().execute(sql, params, 'run', em.getTransactionContext()));
}

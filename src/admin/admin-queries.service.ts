import { raw, type EntityManager, type FilterQuery } from '@mikro-orm/core';
import { NotFoundError } from '../core/errors';
import { isId } from '../core/ids';
import { AdminAudit } from '../db/entities/admin-audit.entity';
import { Chat } from '../db/entities/chat.entity';
import { LedgerEntry } from '../db/entities/ledger-entry.entity';
import { Message, type Rating, Role } from '../db/entities/message.entity';
import { ModerationEvent } from '../db/entities/moderation-event.entity';
import { PaymentOrder, type PaymentMethod, type PaymentState } from '../db/entities/payment-order.entity';
import { User } from '../db/entities/user.entity';
import { type AdminPage, afterFilter, pageStart, toPage } from './paging';

/** What adminUser shows of one account besides its own columns. */
export interface UserDetail {
  deletedAt: Date | null;
  chatCount: number;
  replyCount: number;
  promptTokens: number;
  completionTokens: number;
  /** Fen: AI usage charged, ever (a positive number). */
  spent: number;
  /** Fen: paid top-ups, ever. */
  toppedUp: number;
  moderationHits: number;
  recentOrders: PaymentOrder[];
  recentLedger: LedgerEntry[];
}

const RECENT = 20;

/**
 * The operators' read-only views: users, orders, moderation hits, ratings, the audit log.
 * Callers have been checked as admins (`@Authorized('ADMIN')`), so nothing here is scoped to
 * a viewer. Lists are newest first with (time, id) cursors.
 */
export class AdminQueries {
  constructor(private readonly em: EntityManager) {}

  /** By exact id or openid, or a substring of the nickname (case-insensitive). */
  async users(query: string | null | undefined, first: number, after?: string | null): Promise<AdminPage<User>> {
    const start = pageStart(first, after);
    const q = query?.trim() ?? '';
    // instr, not LIKE: a nickname's % and _ need no escaping, the same on MySQL and SQLite.
    // A raw fragment is spent by the query that uses it: each query gets its own filter.
    const where = (): FilterQuery<User> => (q ? { $or: [{ id: q }, { openid: q }, { [raw((alias) => `instr(lower(${alias}.nick_name), ?)`, [q.toLowerCase()])]: { $gt: 0 } }] } : {});
    const [rows, total] = await Promise.all([
      this.em.find(User, { $and: [where(), afterFilter('createdAt', start)] } as FilterQuery<User>, { orderBy: { createdAt: 'desc', id: 'desc' }, limit: first + 1 }),
      this.em.count(User, where()),
    ]);
    return toPage(rows, first, (u) => u.createdAt, total);
  }

  /** Deleted accounts too (they stay as the anonymous owners of payments). */
  async user(id: string): Promise<User> {
    const user = isId(id) ? await this.em.findOne(User, id) : null;
    if (!user) throw new NotFoundError('User');
    return user;
  }

  async detail(user: User): Promise<UserDetail> {
    const userId = user.id;
    const conn = this.em.getConnection();
    const [[usage], [money], chatCount, moderationHits, recentOrders, recentLedger] = await Promise.all([
      conn.execute<Array<{ n: number; p: number | null; c: number | null }>>(
        'select count(*) as n, sum(prompt_tokens) as p, sum(completion_tokens) as c from messages where user_id = ? and role = ?',
        [userId, Role.ASSISTANT],
      ),
      conn.execute<Array<{ spent: number | null; topped: number | null }>>(
        "select sum(case when kind = 'AI_USAGE' then -amount else 0 end) as spent, sum(case when kind = 'TOPUP' then amount else 0 end) as topped from ledger_entries where user_id = ?",
        [userId],
      ),
      this.em.count(Chat, { user: userId }),
      this.em.count(ModerationEvent, { userId }),
      this.em.find(PaymentOrder, { user: userId }, { orderBy: { createdAt: 'desc', id: 'desc' }, limit: RECENT }),
      this.em.find(LedgerEntry, { user: userId }, { orderBy: { createdAt: 'desc', id: 'desc' }, limit: RECENT }),
    ]);
    return {
      deletedAt: user.deletedAt ?? null,
      chatCount,
      replyCount: Number(usage.n),
      promptTokens: Number(usage.p ?? 0),
      completionTokens: Number(usage.c ?? 0),
      spent: Number(money.spent ?? 0),
      toppedUp: Number(money.topped ?? 0),
      moderationHits,
      recentOrders,
      recentLedger,
    };
  }

  async orders(filter: { status?: PaymentState | null; method?: PaymentMethod | null; userId?: string | null }, first: number, after?: string | null): Promise<AdminPage<PaymentOrder>> {
    const start = pageStart(first, after);
    const where: FilterQuery<PaymentOrder> = {
      ...(filter.status ? { status: filter.status } : {}),
      ...(filter.method ? { method: filter.method } : {}),
      ...(filter.userId ? { user: filter.userId } : {}),
    };
    const [rows, total] = await Promise.all([
      this.em.find(PaymentOrder, { ...where, ...afterFilter('createdAt', start) }, { orderBy: { createdAt: 'desc', id: 'desc' }, limit: first + 1 }),
      this.em.count(PaymentOrder, where),
    ]);
    return toPage(rows, first, (o) => o.createdAt, total);
  }

  async moderationEvents(userId: string | null | undefined, first: number, after?: string | null): Promise<AdminPage<ModerationEvent>> {
    const start = pageStart(first, after);
    const where: FilterQuery<ModerationEvent> = userId ? { userId } : {};
    const [rows, total] = await Promise.all([
      this.em.find(ModerationEvent, { ...where, ...afterFilter('createdAt', start) }, { orderBy: { createdAt: 'desc', id: 'desc' }, limit: first + 1 }),
      this.em.count(ModerationEvent, where),
    ]);
    return toPage(rows, first, (e) => e.createdAt, total);
  }

  /** Rated replies, most recently rated first. */
  async ratings(rating: Rating | null | undefined, first: number, after?: string | null): Promise<AdminPage<Message>> {
    const start = pageStart(first, after);
    const where: FilterQuery<Message> = rating ? { rating } : { rating: { $ne: null } };
    const [rows, total] = await Promise.all([
      this.em.find(Message, { $and: [where, afterFilter('ratedAt', start)] } as FilterQuery<Message>, { orderBy: { ratedAt: 'desc', id: 'desc' }, limit: first + 1 }),
      this.em.count(Message, where),
    ]);
    return toPage(rows, first, (m) => m.ratedAt!, total);
  }

  async auditLog(first: number, after?: string | null): Promise<AdminPage<AdminAudit>> {
    const start = pageStart(first, after);
    const [rows, total] = await Promise.all([
      this.em.find(AdminAudit, afterFilter('createdAt', start), { orderBy: { createdAt: 'desc', id: 'desc' }, limit: first + 1 }),
      this.em.count(AdminAudit, {}),
    ]);
    return toPage(rows, first, (a) => a.createdAt, total);
  }
}

import type { EntityManager } from '@mikro-orm/core';
import { BadRequestError } from '../core/errors';
import type { Viewer } from '../core/viewer';
import { PaymentOrder } from '../db/entities/payment-order.entity';
import { UsageRecord } from '../db/entities/usage-record.entity';

export type UsageGrouping = 'DAY' | 'MODEL' | 'USER';

/** One group of a report; fen. `revenue` only in admin reports grouped by DAY or USER. */
export interface UsageReportRow {
  key: string;
  requests: number;
  promptTokens: number;
  completionTokens: number;
  reasoningTokens: number;
  cost: number;
  revenue: number | null;
}

export interface UsageReportResult {
  rows: UsageReportRow[];
  total: UsageReportRow;
}

/** The longest period one report covers. */
export const MAX_REPORT_DAYS = 366;
const DAY_MS = 86_400_000;
/**
 * Days are China Standard Time (Asia/Shanghai, UTC+8, no daylight saving since 1991): a fixed
 * offset, so both databases bucket with plain arithmetic and need no time zone tables.
 */
const SHANGHAI_OFFSET_MS = 8 * 3_600_000;
/** Orders whose money was received (later refunds do not undo the revenue of the day it was paid). */
const PAID_STATES = ['SUCCESS', 'PARTIALLY_REFUNDED', 'REFUNDED'];

type Dialect = 'mysql' | 'sqlite';
interface Totals {
  key: string;
  requests: number | string;
  prompt_tokens: number | string | null;
  completion_tokens: number | string | null;
  reasoning_tokens: number | string | null;
  cost: number | string | null;
}

/**
 * Usage reports: usage_records aggregated by day, model or user in the database (GROUP BY on
 * an indexed range; the rows never come to the process), for one user or for everyone.
 */
export class UsageReportService {
  constructor(private readonly em: EntityManager) {}

  /** The viewer's own usage; no revenue. BAD_REQUEST / INVALID_RANGE for a bad period. */
  mine(viewer: Viewer, from: Date, to: Date, groupBy: UsageGrouping = 'DAY'): Promise<UsageReportResult> {
    checkRange(from, to);
    return this.report(from, to, groupBy, viewer.userId);
  }

  /** Everyone's usage, with the revenue of paid orders beside cost (by DAY or USER). The caller checked the admin role. */
  everyone(from: Date, to: Date, groupBy: UsageGrouping = 'DAY'): Promise<UsageReportResult> {
    checkRange(from, to);
    return this.report(from, to, groupBy, null);
  }

  private async report(from: Date, to: Date, groupBy: UsageGrouping, userId: string | null): Promise<UsageReportResult> {
    const dialect = this.dialect();
    const table = this.em.getMetadata().get(UsageRecord.name).tableName;
    const key = groupBy === 'DAY' ? dayOf('created_at', dialect) : groupBy === 'MODEL' ? 'model' : 'user_id';
    const where = userId ? 'user_id = ? and created_at >= ? and created_at < ?' : 'created_at >= ? and created_at < ?';
    const params = [...(userId ? [userId] : []), this.param(from), this.param(to)];
    const usage: Totals[] = await this.em.getConnection().execute(
      `select ${key} as ${q('key', dialect)}, count(*) as requests, sum(prompt_tokens) as prompt_tokens, sum(completion_tokens) as completion_tokens,
         sum(reasoning_tokens) as reasoning_tokens, sum(cost) as cost
       from ${table} where ${where} group by ${key} order by ${key}`,
      params,
    );
    const withRevenue = userId === null && groupBy !== 'MODEL';
    const revenue = withRevenue ? await this.revenue(from, to, groupBy, dialect) : new Map<string, number>();
    const byKey = new Map<string, UsageReportRow>(usage.map((r) => [String(r.key), toRow(r, withRevenue ? (revenue.get(String(r.key)) ?? 0) : null)]));
    // Days or users with payments and no usage still show their revenue.
    for (const [k, amount] of revenue) if (!byKey.has(k)) byKey.set(k, { ...emptyRow(k), revenue: amount });
    const rows = [...byKey.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const total = rows.reduce<UsageReportRow>(
      (t, r) => ({
        key: 'total',
        requests: t.requests + r.requests,
        promptTokens: t.promptTokens + r.promptTokens,
        completionTokens: t.completionTokens + r.completionTokens,
        reasoningTokens: t.reasoningTokens + r.reasoningTokens,
        cost: t.cost + r.cost,
        revenue: withRevenue ? (t.revenue ?? 0) + (r.revenue ?? 0) : null,
      }),
      { ...emptyRow('total'), revenue: withRevenue ? 0 : null },
    );
    return { rows, total };
  }

  /** Paid orders' amounts in the period (by the time they were paid), grouped in the database. */
  private async revenue(from: Date, to: Date, groupBy: UsageGrouping, dialect: Dialect): Promise<Map<string, number>> {
    const table = this.em.getMetadata().get(PaymentOrder.name).tableName;
    const key = groupBy === 'DAY' ? dayOf('paid_at', dialect) : 'user_id';
    const rows: Array<{ key: string; amount: number | string | null }> = await this.em.getConnection().execute(
      `select ${key} as ${q('key', dialect)}, sum(coalesce(paid_amount, amount)) as amount from ${table}
       where paid_at >= ? and paid_at < ? and status in (${PAID_STATES.map(() => '?').join(', ')}) group by ${key}`,
      [this.param(from), this.param(to), ...PAID_STATES],
    );
    return new Map(rows.map((r) => [String(r.key), Number(r.amount ?? 0)]));
  }

  private dialect(): Dialect {
    return this.em.getPlatform().constructor.name.toLowerCase().includes('sqlite') ? 'sqlite' : 'mysql';
  }

  /** SQLite keeps datetimes as epoch milliseconds; MySQL takes a Date (the connection is UTC). */
  private param(d: Date): Date | number {
    return this.dialect() === 'sqlite' ? d.getTime() : d;
  }
}

/** `YYYY-MM-DD` of a UTC datetime column, in Shanghai time. */
function dayOf(column: string, dialect: Dialect): string {
  return dialect === 'sqlite'
    ? `strftime('%Y-%m-%d', (${column} + ${SHANGHAI_OFFSET_MS}) / 1000, 'unixepoch')`
    : `date_format(${column} + interval ${SHANGHAI_OFFSET_MS / 3_600_000} hour, '%Y-%m-%d')`;
}

const q = (name: string, dialect: Dialect) => (dialect === 'mysql' ? `\`${name}\`` : `"${name}"`);

function checkRange(from: Date, to: Date): void {
  if (!(from instanceof Date) || Number.isNaN(from.getTime())) throw new BadRequestError('from is not a date-time', { field: 'from', reason: 'INVALID' });
  if (!(to instanceof Date) || Number.isNaN(to.getTime())) throw new BadRequestError('to is not a date-time', { field: 'to', reason: 'INVALID' });
  if (to.getTime() <= from.getTime()) throw new BadRequestError('to must be after from', { field: 'to', reason: 'INVALID_RANGE' });
  if (to.getTime() - from.getTime() > MAX_REPORT_DAYS * DAY_MS) throw new BadRequestError(`A report covers at most ${MAX_REPORT_DAYS} days`, { field: 'to', reason: 'INVALID_RANGE' });
}

const emptyRow = (key: string): UsageReportRow => ({ key, requests: 0, promptTokens: 0, completionTokens: 0, reasoningTokens: 0, cost: 0, revenue: null });

function toRow(r: Totals, revenue: number | null): UsageReportRow {
  return {
    key: String(r.key),
    requests: Number(r.requests),
    promptTokens: Number(r.prompt_tokens ?? 0),
    completionTokens: Number(r.completion_tokens ?? 0),
    reasoningTokens: Number(r.reasoning_tokens ?? 0),
    cost: Number(r.cost ?? 0),
    revenue,
  };
}

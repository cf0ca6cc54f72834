import { createHash } from 'node:crypto';
import { type EntityManager, type MikroORM, UniqueConstraintViolationException } from '@mikro-orm/core';
import type { Logger } from '../core/logger';
import { LedgerEntry } from '../db/entities/ledger-entry.entity';
import { type PaymentMethod, PaymentOrder, type PaymentState } from '../db/entities/payment-order.entity';
import { PaymentRefund } from '../db/entities/payment-refund.entity';
import { ReconciliationDiff, type ReconciliationDiffKind } from '../db/entities/reconciliation-diff.entity';
import { ReconciliationRun } from '../db/entities/reconciliation-run.entity';
import { afterFilter, type AdminPage, pageStart, toPage } from '../admin/paging';
import { type BillRow, parseAlipayTradeBill, parseWechatTradeBill } from './bill-parsers';
import type { PaymentProviders } from './providers';

/** Beijing time has no daylight saving, so a fixed offset is exact. */
const BEIJING_OFFSET_MS = 8 * 3600_000;
/** Providers publish the previous day's bills by 10:00 Beijing time (WeChat Pay and Alipay both say so). */
const BILLS_READY_HOUR = 10;
/** A failed day is tried again on later rounds, up to this many times in all, then left to operators. */
const MAX_ATTEMPTS = 5;
/** A RUNNING claim this old belongs to an instance that died mid-run; another may take it over. */
const STALE_CLAIM_MS = 3600_000;
/** Paid here (refunds later do not undo having been paid). */
const PAID_STATES: PaymentState[] = ['SUCCESS', 'PARTIALLY_REFUNDED', 'REFUNDED'];

type NewDiff = { outTradeNo: string; kind: ReconciliationDiffKind; ourAmount: number | null; theirAmount: number | null; details: string };
export type RunOutcome = { provider: PaymentMethod; billDate: string; status: 'DONE' | 'FAILED' | 'SKIPPED'; diffs: number };

/** The previous Beijing day (yyyy-MM-dd) once that day's bills are ready at `now`; null before 10:00 Beijing time. */
export function dueBillDate(now: Date): string | null {
  const beijing = new Date(now.getTime() + BEIJING_OFFSET_MS);
  if (beijing.getUTCHours() < BILLS_READY_HOUR) return null;
  return new Date(beijing.getTime() - 24 * 3600_000).toISOString().slice(0, 10);
}

/**
 * The daily comparison of each provider's trade bill with our orders and ledger. It only
 * records differences (reconciliation_diffs); balances and orders are never changed here,
 * because a difference needs an operator's judgement (a late notification, a manual refund in
 * the merchant platform...). Several instances may run it: the (provider, bill_date) row decides
 * which one compares a day.
 */
export class BillReconciliation {
  constructor(
    private readonly orm: MikroORM,
    private readonly logger: Logger,
    private readonly providers: PaymentProviders,
  ) {}

  /** Every configured provider's bill for the day due at `now` (none before 10:00 Beijing time). */
  async runDue(now: Date = new Date()): Promise<RunOutcome[]> {
    const billDate = dueBillDate(now);
    if (!billDate) return [];
    const outcomes: RunOutcome[] = [];
    for (const provider of ['WECHAT', 'ALIPAY'] as const) {
      if (this.providers[provider]) outcomes.push(await this.runDay(provider, billDate, now));
    }
    return outcomes;
  }

  /** One provider's day: SKIPPED when another run has it (or it is done, or gave up). */
  async runDay(provider: PaymentMethod, billDate: string, now: Date = new Date()): Promise<RunOutcome> {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(billDate)) throw new RangeError(`not a bill date: ${billDate}`);
    const run = await this.claim(provider, billDate, now);
    if (!run) return { provider, billDate, status: 'SKIPPED', diffs: 0 };
    let rows: BillRow[];
    try {
      rows = await this.bill(provider, billDate);
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      this.logger.warn({ err, provider, billDate }, 'bill reconciliation failed');
      await this.finish(run, { status: 'FAILED', error: error.slice(0, 255), diffCount: 0 }, []);
      return { provider, billDate, status: 'FAILED', diffs: 0 };
    }
    const diffs = await this.compare(this.orm.em.fork(), provider, billDate, rows);
    await this.finish(run, { status: 'DONE', error: null, diffCount: diffs.length }, diffs);
    if (diffs.length) this.logger.warn({ provider, billDate, diffs: diffs.length }, 'bill reconciliation found differences');
    return { provider, billDate, status: 'DONE', diffs: diffs.length };
  }

  /** Inserts the day's row, or takes over a failed or abandoned one by a conditional update; null when another run has it. */
  private async claim(provider: PaymentMethod, billDate: string, now: Date): Promise<{ id: string; attempts: number } | null> {
    const em = this.orm.em.fork();
    try {
      const run = em.create(ReconciliationRun, { provider, billDate, attempts: 1, createdAt: now, updatedAt: now });
      await em.persistAndFlush(run);
      return { id: run.id, attempts: 1 };
    } catch (err) {
      if (!(err instanceof UniqueConstraintViolationException)) throw err;
    }
    const existing = await em.fork().findOne(ReconciliationRun, { provider, billDate });
    if (!existing || existing.attempts >= MAX_ATTEMPTS) return null;
    const retake = existing.status === 'FAILED' || (existing.status === 'RUNNING' && existing.updatedAt.getTime() < now.getTime() - STALE_CLAIM_MS);
    if (!retake) return null;
    // Conditional on the attempt count read: of several instances, one moves it on.
    const attempts = existing.attempts + 1;
    const taken = await em.nativeUpdate(ReconciliationRun, { id: existing.id, attempts: existing.attempts, status: existing.status }, { status: 'RUNNING', attempts, error: null, updatedAt: now });
    return taken === 1 ? { id: existing.id, attempts } : null;
  }

  private async finish(run: { id: string; attempts: number }, result: { status: 'DONE' | 'FAILED'; error: string | null; diffCount: number }, diffs: NewDiff[]): Promise<void> {
    await this.orm.em.fork().transactional(async (em) => {
      // Only the claim's holder records: a run taken over meanwhile has moved attempts on.
      const updated = await em.nativeUpdate(ReconciliationRun, { id: run.id, status: 'RUNNING', attempts: run.attempts }, { ...result, updatedAt: new Date() });
      if (updated !== 1) return;
      const ref = em.getReference(ReconciliationRun, run.id);
      const provider = (await em.findOneOrFail(ReconciliationRun, run.id)).provider;
      for (const d of diffs) em.create(ReconciliationDiff, { ...d, details: d.details.slice(0, 255), run: ref, provider });
      await em.flush();
    });
  }

  private async bill(provider: PaymentMethod, billDate: string): Promise<BillRow[]> {
    if (provider === 'WECHAT') {
      const client = this.providers.WECHAT?.client;
      if (!client) throw new Error('WeChat Pay is not configured');
      const bill = await client.tradeBill(billDate);
      if (!bill) return [];
      if (bill.hashType.toUpperCase() !== 'SHA1') throw new Error(`unsupported bill hash_type ${bill.hashType.slice(0, 20)}`);
      const file = await client.downloadBill(bill.downloadUrl);
      // The file is not signed: only its hash, from the signed tradebill answer, vouches for it.
      if (createHash('sha1').update(file).digest('hex') !== bill.hashValue.toLowerCase()) throw new Error('the bill file does not match its SHA1 hash_value');
      return parseWechatTradeBill(file.toString('utf8'));
    }
    const client = this.providers.ALIPAY?.client;
    if (!client) throw new Error('Alipay is not configured');
    return parseAlipayTradeBill(await client.downloadTradeBill(billDate));
  }

  /** The day's bill against our orders (by out_trade_no), their TOPUP ledger rows and refunds, and our orders paid that day. */
  private async compare(em: EntityManager, provider: PaymentMethod, billDate: string, rows: BillRow[]): Promise<NewDiff[]> {
    const start = new Date(`${billDate}T00:00:00+08:00`);
    const end = new Date(start.getTime() + 24 * 3600_000);
    const paidThere = sumBy(rows.filter((r) => r.kind === 'PAYMENT'));
    const refundedThere = sumBy(rows.filter((r) => r.kind === 'REFUND'));
    const numbers = [...new Set(rows.map((r) => r.outTradeNo))];
    const named = numbers.length ? await em.find(PaymentOrder, { outTradeNo: { $in: numbers }, method: provider }) : [];
    const paidHere = await em.find(PaymentOrder, { method: provider, paidAt: { $gte: start, $lt: end }, status: { $in: PAID_STATES } });
    const orders = new Map([...named, ...paidHere].map((o) => [o.outTradeNo, o]));
    const ids = [...orders.values()].map((o) => o.id);
    const credits = new Map((ids.length ? await em.find(LedgerEntry, { kind: 'TOPUP', reference: { $in: ids } }) : []).map((l) => [l.reference, l.amount]));
    const refundsHere = new Map<string, number>();
    for (const r of ids.length ? await em.find(PaymentRefund, { order: { $in: ids }, status: 'SUCCESS' }) : []) refundsHere.set(r.order.id, (refundsHere.get(r.order.id) ?? 0) + r.amount);

    const diffs: NewDiff[] = [];
    for (const [outTradeNo, amount] of paidThere) {
      const order = orders.get(outTradeNo);
      const paid = order && PAID_STATES.includes(order.status);
      if (!order || !paid) {
        diffs.push({ outTradeNo, kind: 'MISSING_LOCAL', ourAmount: order ? order.amount : null, theirAmount: amount, details: order ? `paid there, ${order.status} here` : 'paid there, no such order here' });
        continue;
      }
      const ours = order.paidAmount ?? order.amount;
      const credited = credits.get(order.id);
      if (ours !== amount) diffs.push({ outTradeNo, kind: 'AMOUNT', ourAmount: ours, theirAmount: amount, details: 'the paid amounts differ' });
      else if (credited === undefined) diffs.push({ outTradeNo, kind: 'MISSING_LOCAL', ourAmount: ours, theirAmount: amount, details: 'paid here, but no TOPUP ledger row credits it' });
      else if (credited !== amount) diffs.push({ outTradeNo, kind: 'AMOUNT', ourAmount: credited, theirAmount: amount, details: 'the TOPUP ledger row credits another amount' });
    }
    for (const order of paidHere) {
      if (!paidThere.has(order.outTradeNo)) diffs.push({ outTradeNo: order.outTradeNo, kind: 'MISSING_REMOTE', ourAmount: order.paidAmount ?? order.amount, theirAmount: null, details: 'paid here that day, not in the bill' });
    }
    for (const [outTradeNo, amount] of refundedThere) {
      const order = orders.get(outTradeNo);
      const ours = order ? (refundsHere.get(order.id) ?? 0) : 0;
      if (!order) diffs.push({ outTradeNo, kind: 'MISSING_LOCAL', ourAmount: null, theirAmount: amount, details: 'refunded there, no such order here' });
      else if (ours === 0) diffs.push({ outTradeNo, kind: 'STATE', ourAmount: 0, theirAmount: amount, details: `refunded there, ${order.status} here with no successful refund` });
      // Our total covers every day; the bill's only this one, so only a shortfall is a difference.
      else if (ours < amount) diffs.push({ outTradeNo, kind: 'AMOUNT', ourAmount: ours, theirAmount: amount, details: 'refunded there more than here' });
    }
    return diffs;
  }
}

/** The recorded differences, as operators list them (the resolver checks they are admins). */
export class ReconciliationQueries {
  constructor(private readonly em: EntityManager) {}

  /** Newest first. */
  async list(first: number, after?: string | null): Promise<AdminPage<ReconciliationDiff>> {
    const start = pageStart(first, after);
    const [rows, total] = await Promise.all([
      this.em.find(ReconciliationDiff, afterFilter('createdAt', start), { orderBy: { createdAt: 'desc', id: 'desc' }, limit: first + 1, populate: ['run'] }),
      this.em.count(ReconciliationDiff, {}),
    ]);
    return toPage(rows, first, (d) => d.createdAt, total);
  }
}

function sumBy(rows: BillRow[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of rows) out.set(r.outTradeNo, (out.get(r.outTradeNo) ?? 0) + r.amount);
  return out;
}

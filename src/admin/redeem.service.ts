import type { EntityManager } from '@mikro-orm/core';
import { BadRequestError, NotFoundError } from '../core/errors';
import { newId } from '../core/ids';
import type { Viewer } from '../core/viewer';
import { RedeemCode } from '../db/entities/redeem-code.entity';
import { User } from '../db/entities/user.entity';
import { limitKey, type RateLimits } from '../limits/rate-limits';
import { changeBalance } from '../payments/ledger';
import { isFutureStorable } from './admin.service';
import { recordAdminAction } from './audit';
import { generateRedeemCode, hashRedeemCode, normalizeRedeemCode } from './redeem-code-format';

export const REDEEM_LIMITS = { maxAmount: 10_000_000, maxCount: 1000, maxNote: 200 } as const;

const invalidCode = () => new BadRequestError('This code is not valid: unknown, already used or expired', { field: 'code', reason: 'INVALID_CODE' });

/**
 * Redeem codes: admins create batches (the plain codes are returned once and never stored or
 * logged, only their SHA-256); a user redeems a code once for its amount.
 */
export class RedeemService {
  constructor(
    private readonly em: EntityManager,
    private readonly rateLimits: RateLimits,
  ) {}

  async create(admin: Viewer, input: { amount: number; count: number; expiresAt?: Date | null; note?: string | null }): Promise<string[]> {
    const { amount, count } = input;
    if (!Number.isSafeInteger(amount) || amount < 1 || amount > REDEEM_LIMITS.maxAmount) {
      throw new BadRequestError(`amount is fen, 1 to ${REDEEM_LIMITS.maxAmount}`, { field: 'amount', reason: 'INVALID' });
    }
    if (!Number.isSafeInteger(count) || count < 1 || count > REDEEM_LIMITS.maxCount) {
      throw new BadRequestError(`count is 1 to ${REDEEM_LIMITS.maxCount}`, { field: 'count', reason: 'INVALID' });
    }
    const expiresAt = input.expiresAt ?? null;
    if (expiresAt && !isFutureStorable(expiresAt)) throw new BadRequestError('expiresAt must be in the future, before the year 10000', { field: 'expiresAt', reason: 'INVALID' });
    const note = input.note?.trim() || null;
    if (note && note.length > REDEEM_LIMITS.maxNote) throw new BadRequestError(`note must be at most ${REDEEM_LIMITS.maxNote} characters`, { field: 'note', reason: 'TOO_LONG' });

    const codes = Array.from({ length: count }, generateRedeemCode);
    const batchId = newId();
    await this.em.transactional(async (tx) => {
      await tx.insertMany(
        RedeemCode,
        codes.map((code) => ({ id: newId(), codeHash: hashRedeemCode(normalizeRedeemCode(code)!), amount, batchId, note, createdBy: admin.userId, expiresAt, createdAt: new Date() })),
      );
      await recordAdminAction(tx, {
        adminId: admin.userId,
        action: 'CREATE_REDEEM_CODES',
        targetType: 'REDEEM_BATCH',
        targetId: batchId,
        details: { amount, count, expiresAt: expiresAt?.toISOString() ?? null, note },
      });
    });
    return codes;
  }

  /**
   * Credits the code's amount to the viewer, once: the conditional update that marks the code
   * used is the only way past, so of concurrent redemptions exactly one wins. Unknown, used and
   * expired codes get the same answer, and every attempt counts against the viewer's limit.
   */
  async redeem(viewer: Viewer, input: string): Promise<User> {
    await this.rateLimits.consume('redeem', limitKey(viewer));
    const normalized = normalizeRedeemCode(input);
    if (!normalized) throw invalidCode();
    const code = await this.em.findOne(RedeemCode, { codeHash: hashRedeemCode(normalized) });
    if (!code) throw invalidCode();
    await this.em.transactional(async (tx) => {
      const now = new Date();
      const won = await tx.nativeUpdate(RedeemCode, { id: code.id, usedBy: null, $or: [{ expiresAt: null }, { expiresAt: { $gt: now } }] }, { usedBy: viewer.userId, usedAt: now });
      if (won !== 1) throw invalidCode();
      await changeBalance(tx, { userId: viewer.userId, kind: 'REDEEM', reference: code.id, amount: code.amount });
    });
    const user = await this.em.fork().findOne(User, { id: viewer.userId, deletedAt: null });
    if (!user) throw new NotFoundError('User');
    return user;
  }
}

import type { EntityManager } from '@mikro-orm/core';
import { BadRequestError, NotFoundError } from '../core/errors';
import { isId, newId } from '../core/ids';
import type { Viewer } from '../core/viewer';
import { User } from '../db/entities/user.entity';
import type { ModelConfig } from '../models/catalog-config';
import type { CatalogModel, ModelCatalog } from '../models/model-catalog';
import { changeBalance } from '../payments/ledger';
import { recordAdminAction } from './audit';

/** One adjustment's limit either way, in fen (100,000 yuan): a typo should not mint a fortune. */
export const MAX_ADJUSTMENT = 10_000_000;
const MAX_REASON = 500;
/** MySQL's DATETIME ends with the year 9999. */
const LATEST = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
export const isFutureStorable = (d: Date): boolean => d.getTime() > Date.now() && d.getTime() <= LATEST;

export interface AdminServiceDeps {
  catalog: ModelCatalog;
  /** Reads the catalog's source again (config.ts). */
  loadModels: () => { models: ModelConfig[]; problems: string[] };
}

/** Why an operator did something: required, so the audit log always says. */
function checkReason(reason: string): string {
  const trimmed = reason.trim();
  if (!trimmed) throw new BadRequestError('reason must say why', { field: 'reason', reason: 'EMPTY' });
  if (trimmed.length > MAX_REASON) throw new BadRequestError(`reason must be at most ${MAX_REASON} characters`, { field: 'reason', reason: 'TOO_LONG' });
  return trimmed;
}

/**
 * The operators' actions on accounts and the server. Callers have been checked as admins;
 * every action writes its admin_audit row in the same transaction as the change.
 */
export class AdminService {
  constructor(
    private readonly em: EntityManager,
    private readonly deps: AdminServiceDeps,
  ) {}

  private async liveUser(id: string): Promise<void> {
    if (!isId(id) || !(await this.em.count(User, { id, deletedAt: null }))) throw new NotFoundError('User');
  }

  /**
   * Grants (positive) or deducts (negative) fen. A deduction never takes the balance below
   * zero (FORBIDDEN / INSUFFICIENT_BALANCE, nothing changed). The ledger row's reference is
   * the audit row, which names the admin and the reason.
   */
  async adjustBalance(admin: Viewer, userId: string, amount: number, reason: string): Promise<User> {
    if (!Number.isSafeInteger(amount) || amount === 0 || Math.abs(amount) > MAX_ADJUSTMENT) {
      throw new BadRequestError(`amount is fen, not 0, at most ${MAX_ADJUSTMENT} either way`, { field: 'amount', reason: 'INVALID' });
    }
    const why = checkReason(reason);
    await this.liveUser(userId);
    await this.em.transactional(async (tx) => {
      const auditId = newId();
      const entry = await changeBalance(tx, { userId, kind: 'ADMIN_ADJUST', reference: auditId, amount, noOverdraft: amount < 0 });
      await recordAdminAction(tx, {
        id: auditId,
        adminId: admin.userId,
        action: 'ADJUST_BALANCE',
        targetType: 'USER',
        targetId: userId,
        details: { amount, reason: why, balanceAfter: entry.balanceAfter, ledgerEntryId: entry.id },
      });
    });
    return this.freshUser(userId);
  }

  /** `until` null reinstates; otherwise sends and saves are refused (ACCOUNT_SUSPENDED) until then. */
  async suspend(admin: Viewer, userId: string, until: Date | null, reason: string): Promise<User> {
    if (until && !isFutureStorable(until)) throw new BadRequestError('until must be in the future, before the year 10000 (null reinstates)', { field: 'until', reason: 'INVALID' });
    const why = checkReason(reason);
    await this.liveUser(userId);
    await this.em.transactional(async (tx) => {
      // Through the entity, not a native update: the loaded entity would be flushed back over it.
      const user = await tx.findOneOrFail(User, userId, { refresh: true });
      const previous = user.suspendedUntil ?? null;
      user.suspendedUntil = until;
      await recordAdminAction(tx, {
        adminId: admin.userId,
        action: until ? 'SUSPEND_USER' : 'REINSTATE_USER',
        targetType: 'USER',
        targetId: userId,
        details: { until: until?.toISOString() ?? null, previous: previous?.toISOString() ?? null, reason: why },
      });
    });
    return this.freshUser(userId);
  }

  /**
   * Reads AI_MODELS again and swaps the catalog in one step; with any problem nothing changes
   * (BAD_REQUEST / INVALID_MODEL_CATALOG listing them). Only this instance reloads: with
   * several instances, call it on each (docs/operations.md).
   */
  async reloadModels(admin: Viewer): Promise<readonly CatalogModel[]> {
    const { models, problems } = this.deps.loadModels();
    if (problems.length) throw new BadRequestError(`The model catalog was not reloaded: ${problems.join('; ')}`, { reason: 'INVALID_MODEL_CATALOG' });
    const previous = this.deps.catalog.list().map((m) => m.id);
    await this.em.transactional((tx) =>
      recordAdminAction(tx, { adminId: admin.userId, action: 'RELOAD_MODELS', targetType: 'MODELS', details: { previous, models: models.map((m) => m.id) } }),
    );
    this.deps.catalog.replace(models);
    return this.deps.catalog.list();
  }

  /** The row as it is now: balance and suspension were changed by native updates. */
  private async freshUser(id: string): Promise<User> {
    return this.em.fork().findOneOrFail(User, id);
  }
}

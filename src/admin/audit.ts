import type { EntityManager } from '@mikro-orm/core';
import { AdminAudit } from '../db/entities/admin-audit.entity';

export interface AdminAction {
  /** Given when another row refers to this one (a ledger row's reference); else a new id. */
  id?: string;
  /** The admin's user id; null for the `npm run admin` command. */
  adminId: string | null;
  /** Upper snake case, at most 32 characters: ADJUST_BALANCE, REFUND_ORDER... */
  action: string;
  targetType?: string | null;
  targetId?: string | null;
  /** Stored as JSON. Never put a secret here (codes, keys, tokens): the log is kept for good. */
  details?: Record<string, unknown>;
}

/**
 * Writes one audit row. Call it with the transaction's EntityManager of the change it records,
 * so the change and its record commit (or roll back) together. Append-only: nothing updates
 * or deletes these rows.
 */
export async function recordAdminAction(em: EntityManager, action: AdminAction): Promise<AdminAudit> {
  const row = em.create(AdminAudit, {
    ...(action.id ? { id: action.id } : {}),
    adminId: action.adminId,
    action: action.action,
    targetType: action.targetType ?? null,
    targetId: action.targetId ?? null,
    details: JSON.stringify(action.details ?? {}),
  });
  await em.flush();
  return row;
}

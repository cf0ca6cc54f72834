import type { EntityManager } from '@mikro-orm/core';
import { AppError, NotFoundError } from '../core/errors';
import { isId } from '../core/ids';
import { User, UserRole } from '../db/entities/user.entity';
import { recordAdminAction } from './audit';

export interface RoleChange {
  userId: string;
  openid: string;
  nickName: string;
  role: UserRole;
  /** False when the user already had that role (nothing written). */
  changed: boolean;
}

/**
 * Grants or revokes ADMIN: the only way to change a role, run by `npm run admin` on the
 * server (scripts/admin.js), never by an API, so a stolen token can never make an admin.
 * `who` is a user id or an openid (an openid used by two mini-programs is refused as
 * ambiguous: use the id). Audited with no admin id: the operator at the console.
 */
export async function setAdminRole(em: EntityManager, who: string, grant: boolean): Promise<RoleChange> {
  const found = await em.find(User, { $or: [...(isId(who) ? [{ id: who }] : []), { openid: who }], deletedAt: null }, { limit: 3 });
  if (found.length === 0) throw new NotFoundError(`User "${who}"`);
  if (found.length > 1) throw new AppError('BAD_REQUEST', `"${who}" matches ${found.length} users (an openid of several mini-programs); give the user id instead`);
  const user = found[0];
  const role = grant ? UserRole.ADMIN : UserRole.USER;
  const view = { userId: user.id, openid: user.openid, nickName: user.nickName, role };
  if (user.role === role) return { ...view, changed: false };
  await em.transactional(async (tx) => {
    await tx.nativeUpdate(User, { id: user.id }, { role });
    await recordAdminAction(tx, { adminId: null, action: grant ? 'GRANT_ADMIN' : 'REVOKE_ADMIN', targetType: 'USER', targetId: user.id, details: { via: 'npm run admin' } });
  });
  return { ...view, changed: true };
}

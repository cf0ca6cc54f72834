import type { EntityManager } from '@mikro-orm/core';
import { ForbiddenError } from '../core/errors';
import type { Viewer } from '../core/viewer';
import { User, UserRole } from '../db/entities/user.entity';

/**
 * Who may use the admin operations: a user whose role is ADMIN, signed in with a login token.
 * The role is read from the database on every call, so revoking it (npm run admin -- revoke)
 * takes effect at once, without waiting for tokens to expire. API keys are refused even for
 * an admin: they are long-lived and handed to scripts and tools, which must not inherit
 * operator powers.
 */
export async function requireAdmin(em: EntityManager, viewer: Viewer): Promise<void> {
  if (viewer.credential.kind !== 'jwt') {
    throw new ForbiddenError('The admin operations need a login token; an API key cannot use them', { reason: 'LOGIN_TOKEN_REQUIRED' });
  }
  const admins = await em.count(User, { id: viewer.userId, role: UserRole.ADMIN, deletedAt: null });
  if (admins !== 1) throw new ForbiddenError('Only operators may do this', { reason: 'ADMIN_REQUIRED' });
}

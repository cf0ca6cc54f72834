import type { AuthChecker } from 'type-graphql';
import { requireAdmin } from '../admin/admin-access';
import type { AppContext } from '../context';
import { UnauthenticatedError } from '../core/errors';

/** The roles `@Authorized(...)` may name. */
const ROLES = new Set(['ADMIN']);

/**
 * One admin check per operation, however many admin fields it selects (a page of orders asks
 * for each order's userId): still read from the database for every request.
 */
const adminChecks = new WeakMap<AppContext, Promise<void>>();

/**
 * `@Authorized()` means "a valid credential"; ownership is checked by the services.
 * `@Authorized('ADMIN')` means an admin's login token (admin/admin-access.ts): anonymous is
 * UNAUTHENTICATED, anyone else FORBIDDEN.
 */
export const authChecker: AuthChecker<AppContext> = async ({ context }, roles) => {
  if (!context.viewer) throw context.authError ?? new UnauthenticatedError();
  const unknown = roles.filter((r) => !ROLES.has(r));
  // A typo in a decorator must not open a field to everyone.
  if (unknown.length) throw new Error(`@Authorized names unknown roles: ${unknown.join(', ')}`);
  if (roles.includes('ADMIN')) {
    let check = adminChecks.get(context);
    if (!check) adminChecks.set(context, (check = requireAdmin(context.em, context.viewer)));
    await check;
  }
  return true;
};

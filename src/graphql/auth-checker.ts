import type { AuthChecker } from 'type-graphql';
import type { AppContext } from '../context';
import { UnauthenticatedError } from '../core/errors';

/** `@Authorized()` means "a valid credential"; ownership is checked by the services. */
export const authChecker: AuthChecker<AppContext> = ({ context }) => {
  if (!context.viewer) throw context.authError ?? new UnauthenticatedError();
  return true;
};

import { ForbiddenError } from './errors';

/** Who is making a request, once a credential has been checked. */
export interface Viewer {
  userId: string;
  /** How they proved it: a JWT (with its id and expiry) or an API key. */
  credential: { kind: 'jwt'; jti: string; expiresAt: Date } | { kind: 'apiKey'; keyId: string };
}

/** A viewer who signed in with a login token (JWT). */
export type LoginViewer = Viewer & { credential: { kind: 'jwt' } };

/**
 * What a credential may do depends on its kind: managing credentials (creating, listing and
 * revoking API keys, logging out) needs a login token. Otherwise a leaked API key could
 * mint keys that outlive its own revocation. Services call this first, so every transport
 * refuses alike, before anything is read or written.
 */
export function requireLoginToken(viewer: Viewer): asserts viewer is LoginViewer {
  if (viewer.credential.kind !== 'jwt') {
    throw new ForbiddenError('This needs a login token (sign in with WeChat); an API key cannot manage credentials', { reason: 'LOGIN_TOKEN_REQUIRED' });
  }
}

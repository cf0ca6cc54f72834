import { credentialKey, type LiveSessions, userSessionKey } from '../accounts/live-sessions';
import { runAt } from '../core/run-at';
import type { Viewer } from '../core/viewer';

/**
 * A socket lives as long as its credential: `close` is called on logout or key revocation
 * (on any instance), when the JWT expires, and when the account is deleted. Used by graphql-ws and the legacy socket alike;
 * returns the function that stops watching (call it when the socket closes).
 */
export function watchCredential(sessions: LiveSessions, viewer: Viewer, close: (reason: string) => void): () => void {
  const unregister = sessions.register(credentialKey(viewer.credential), close);
  // Also under the user, so deleting the account closes every socket of every credential.
  const unregisterUser = sessions.register(userSessionKey(viewer.userId), close);
  const cancelExpiry = viewer.credential.kind === 'jwt' ? runAt(viewer.credential.expiresAt, () => close('Token expired')) : undefined;
  return () => {
    unregister();
    unregisterUser();
    cancelExpiry?.();
  };
}

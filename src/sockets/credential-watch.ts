import { credentialKey, type LiveSessions } from '../accounts/live-sessions';
import { runAt } from '../core/run-at';
import type { Viewer } from '../core/viewer';

/**
 * A socket lives as long as its credential: `close` is called on logout or key revocation
 * (on any instance) and when the JWT expires. Used by graphql-ws and the legacy socket alike;
 * returns the function that stops watching (call it when the socket closes).
 */
export function watchCredential(sessions: LiveSessions, viewer: Viewer, close: (reason: string) => void): () => void {
  const unregister = sessions.register(credentialKey(viewer.credential), close);
  const cancelExpiry = viewer.credential.kind === 'jwt' ? runAt(viewer.credential.expiresAt, () => close('Token expired')) : undefined;
  return () => {
    unregister();
    cancelExpiry?.();
  };
}

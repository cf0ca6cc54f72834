import type { Viewer } from '../../context';

type Closer = (reason: string) => void;

/** The key under which a credential's live sockets are tracked. */
export const credentialKey = (credential: Viewer['credential']): string =>
  credential.kind === 'jwt' ? `jwt:${credential.jti}` : `key:${credential.keyId}`;

/**
 * Open sockets per credential, so that logging out or revoking an API key closes the
 * sockets that authenticated with it at once instead of when they next subscribe.
 */
export class LiveSessions {
  private readonly byCredential = new Map<string, Set<Closer>>();

  /** Registers a socket's close function; returns the function that unregisters it. */
  register(key: string, close: Closer): () => void {
    let closers = this.byCredential.get(key);
    if (!closers) this.byCredential.set(key, (closers = new Set()));
    closers.add(close);
    return () => {
      closers.delete(close);
      if (closers.size === 0) this.byCredential.delete(key);
    };
  }

  /** Closes every socket that used the credential. */
  revoke(key: string, reason: string): void {
    const closers = this.byCredential.get(key);
    if (!closers) return;
    this.byCredential.delete(key);
    for (const close of closers) close(reason);
  }
}

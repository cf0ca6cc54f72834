import type { PubSub } from '../core/pubsub';
import type { Logger } from '../core/logger';
import type { Viewer } from '../core/viewer';

type Closer = (reason: string) => void;

/** The key under which a credential's live sockets are tracked. */
export const credentialKey = (credential: Viewer['credential']): string =>
  credential.kind === 'jwt' ? `jwt:${credential.jti}` : `key:${credential.keyId}`;

/** The key under which all of a user's live sockets are tracked too (whatever their credential). */
export const userSessionKey = (userId: string): string => `user:${userId}`;

/**
 * Open sockets per credential, so that logging out or revoking an API key closes the
 * sockets that authenticated with it at once instead of when they next subscribe.
 */
export class LiveSessions {
  private readonly byCredential = new Map<string, Set<Closer>>();
  /** Set when instances share pub/sub: tells the others to close their sockets too. */
  broadcast?: (key: string, reason: string) => void;

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

  /** Sockets registered here: every one must be let go when its socket closes (tests check). */
  count(): number {
    // A socket is registered under its credential and its user: count each once.
    const sockets = new Set<Closer>();
    for (const closers of this.byCredential.values()) for (const close of closers) sockets.add(close);
    return sockets.size;
  }

  /** Closes every socket that used the credential, here and (when shared) on every instance. */
  revoke(key: string, reason: string): void {
    this.closeLocal(key, reason);
    this.broadcast?.(key, reason);
  }

  /** Closes this instance's sockets that used the credential. */
  closeLocal(key: string, reason: string): void {
    const closers = this.byCredential.get(key);
    if (!closers) return;
    this.byCredential.delete(key);
    for (const close of closers) close(reason);
  }
}

type RevocationPubSub = PubSub<{ 'session-revoked': [revoked: { key: string; reason: string }] }>;

/** With shared pub/sub: a logout or key revocation on one instance closes the sockets on all. */
export function shareSessionRevocations(sessions: LiveSessions, pubsub: RevocationPubSub, signal: AbortSignal, logger: Logger): void {
  sessions.broadcast = (key, reason) => pubsub.publish('session-revoked', { key, reason });
  const revocations = pubsub.subscribe('session-revoked');
  signal.addEventListener('abort', () => void revocations.return?.());
  (async () => {
    for await (const { key, reason } of revocations) sessions.closeLocal(key, reason);
  })().catch((err) => logger.error({ err }, 'listening for session revocations failed'));
}

import type { MikroORM } from '@mikro-orm/core';
import type { Viewer } from '../core/viewer';
import { ApiKey } from '../db/entities/api-key.entity';
import { RevokedToken } from '../db/entities/revoked-token.entity';
import { User } from '../db/entities/user.entity';
import { AppError, UnauthenticatedError } from '../core/errors';
import { API_KEY_PREFIX, hashApiKeySecret } from './api-key-secret';
import { LiveSessions } from './live-sessions';
import type { RevocationCache } from './revocations';
import type { TokenService } from './token.service';

export interface Credentials {
  authorization?: string;
  apiKey?: string;
}

export interface Identification {
  viewer: Viewer | null;
  /** A credential was presented and refused; reported when an operation needs a viewer. */
  authError?: AppError;
}

/**
 * Turns the credentials of any transport (HTTP headers, graphql-ws `connection_init`, the
 * legacy socket) into a viewer: a JWT that is well signed, unexpired and not revoked, or a
 * live API key.
 */
export class Authenticator {
  readonly sessions = new LiveSessions();

  constructor(
    private readonly orm: MikroORM,
    private readonly tokens: TokenService,
    /** Redis in front of the revoked_tokens table when instances share state. */
    readonly revocations?: RevocationCache,
    /** How often an API key's lastUsedAt is written, at most. */
    private readonly lastUsedResolutionMs = 60_000,
  ) {}

  async identify(credentials: Credentials): Promise<Identification> {
    try {
      // Every credential sent is checked: a bad API key next to a good token is refused, not ignored.
      const bearer = credentials.authorization !== undefined ? await this.fromBearer(credentials.authorization) : undefined;
      const key = credentials.apiKey !== undefined ? await this.fromApiKey(credentials.apiKey) : undefined;
      if (bearer && key && bearer.userId !== key.userId) throw new UnauthenticatedError('The token and the API key belong to different accounts; send one of them');
      return { viewer: bearer ?? key ?? null };
    } catch (err) {
      if (err instanceof AppError) return { viewer: null, authError: err };
      throw err;
    }
  }

  /** Throws UNAUTHENTICATED unless the viewer's credential is still valid (for long-lived sockets). */
  async recheck(viewer: Viewer): Promise<void> {
    const em = this.orm.em.fork();
    if (viewer.credential.kind === 'jwt') {
      if (viewer.credential.expiresAt.getTime() <= Date.now()) throw new UnauthenticatedError('Token expired');
      const cached = await this.revocations?.isRevoked(viewer.credential.jti);
      if (cached ?? (await em.count(RevokedToken, { jti: viewer.credential.jti })) > 0) throw new UnauthenticatedError('Token revoked');
      // A token outlives its account when the user row is deleted; writing for it would fail
      // on the foreign keys. (An API key is deleted with its user, so the check below covers it.)
      // A deleted account's row stays (as the anonymous owner of its payments): refused too.
      if (!(await em.count(User, { id: viewer.userId, deletedAt: null }))) throw new UnauthenticatedError('Account not found');
    } else if (!(await em.count(ApiKey, { id: viewer.credential.keyId, revokedAt: null }))) {
      throw new UnauthenticatedError('API key revoked');
    }
  }

  private async fromBearer(header: string): Promise<Viewer> {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) throw new UnauthenticatedError('Authorization must be "Bearer <token>"');
    const claims = await this.tokens.verify(match[1]);
    const viewer: Viewer = { userId: claims.userId, credential: { kind: 'jwt', jti: claims.jti, expiresAt: claims.expiresAt } };
    await this.recheck(viewer);
    return viewer;
  }

  private async fromApiKey(secret: string): Promise<Viewer> {
    if (!secret.startsWith(API_KEY_PREFIX) || secret.length > 100) throw new UnauthenticatedError('Invalid API key');
    const em = this.orm.em.fork();
    const key = await em.findOne(ApiKey, { secretHash: hashApiKeySecret(secret), revokedAt: null });
    if (!key) throw new UnauthenticatedError('Invalid API key');
    const now = new Date();
    if (!key.lastUsedAt || now.getTime() - key.lastUsedAt.getTime() > this.lastUsedResolutionMs) {
      await em.nativeUpdate(ApiKey, { id: key.id }, { lastUsedAt: now });
    }
    return { userId: key.user.id, credential: { kind: 'apiKey', keyId: key.id } };
  }
}

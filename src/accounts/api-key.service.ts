import type { EntityManager } from '@mikro-orm/core';
import { requireLoginToken, type Viewer } from '../core/viewer';
import { isId } from '../core/ids';
import { ApiKey } from '../db/entities/api-key.entity';
import { User } from '../db/entities/user.entity';
import { BadRequestError, NotFoundError } from '../core/errors';
import { generateApiKeySecret } from './api-key-secret';
import { credentialKey, type LiveSessions } from './live-sessions';

export const MAX_LIVE_API_KEYS = 20;

/**
 * The viewer's API keys. Every method answers FORBIDDEN (LOGIN_TOKEN_REQUIRED) to a request
 * made with an API key, so a key cannot mint keys that outlive it.
 */
export class ApiKeyService {
  constructor(
    private readonly em: EntityManager,
    private readonly sessions: LiveSessions,
  ) {}

  /**
   * Creates a key and returns its secret (the only time it is shown).
   * BAD_REQUEST for a name that is blank or over 64 characters, or past 20 live keys.
   */
  async create(viewer: Viewer, rawName: string): Promise<{ apiKey: ApiKey; secret: string }> {
    requireLoginToken(viewer);
    const name = rawName.trim();
    if (name.length < 1 || name.length > 64) {
      throw new BadRequestError('name must be 1 to 64 characters', { field: 'name', reason: 'LENGTH' });
    }
    return this.em.transactional(async (em) => {
      // Serialise one user's key creations so concurrent requests cannot pass the limit.
      await em.nativeUpdate(User, { id: viewer.userId }, { updatedAt: new Date() });
      const live = await em.count(ApiKey, { user: viewer.userId, revokedAt: null });
      if (live >= MAX_LIVE_API_KEYS) {
        throw new BadRequestError(`At most ${MAX_LIVE_API_KEYS} live API keys; revoke one first`, { field: 'name', reason: 'TOO_MANY_API_KEYS' });
      }
      const { secret, prefix, hash } = generateApiKeySecret();
      const apiKey = em.create(ApiKey, { user: em.getReference(User, viewer.userId), name, prefix, secretHash: hash });
      await em.flush();
      return { apiKey, secret };
    });
  }

  /** Live keys, newest first. */
  async list(viewer: Viewer): Promise<ApiKey[]> {
    requireLoginToken(viewer);
    return this.em.find(ApiKey, { user: viewer.userId, revokedAt: null }, { orderBy: { createdAt: 'desc', id: 'desc' } });
  }

  /** Revokes at once, closing sockets that used it. NOT_FOUND for someone else's or an unknown id. */
  async revoke(viewer: Viewer, id: string): Promise<true> {
    requireLoginToken(viewer);
    if (!isId(id)) throw new NotFoundError('API key');
    const key = await this.em.findOne(ApiKey, { id, user: viewer.userId });
    if (!key) throw new NotFoundError('API key');
    if (!key.revokedAt) {
      key.revokedAt = new Date();
      await this.em.flush();
    }
    this.sessions.revoke(credentialKey({ kind: 'apiKey', keyId: key.id }), 'API key revoked');
    return true;
  }
}

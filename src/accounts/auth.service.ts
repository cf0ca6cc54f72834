import { type EntityManager, UniqueConstraintViolationException } from '@mikro-orm/core';
import type { DataCipher } from '../core/data-cipher';
import { requireLoginToken, type Viewer } from '../core/viewer';
import { RevokedToken } from '../db/entities/revoked-token.entity';
import { User } from '../db/entities/user.entity';
import { credentialKey, type LiveSessions } from './live-sessions';
import type { RevocationCache } from './revocations';
import type { TokenService } from './token.service';
import type { WechatIdentity, WechatLogin } from './wechat-login.client';
import type { ModerationService } from '../moderation/moderation.service';

export const DEFAULT_NICKNAME = '微信用户';

export interface LoginInput {
  code: string;
  userInfo?: { nickName?: string; avatarUrl?: string };
}

/** Login and logout. */
export class AuthService {
  constructor(
    private readonly em: EntityManager,
    private readonly wechat: WechatLogin,
    private readonly tokens: TokenService,
    private readonly sessions: LiveSessions,
    private readonly revocations?: RevocationCache,
    private readonly moderation?: ModerationService,
    /** Encrypts the session_key kept for virtual payment; without it none is kept. */
    private readonly sessionKeys?: DataCipher,
  ) {}

  /**
   * Exchanges a mini-program code for our token, creating the user on first login.
   * Errors: BAD_REQUEST (bad or used code), RATE_LIMITED, FORBIDDEN, UPSTREAM_ERROR.
   */
  async login(input: LoginInput): Promise<{ token: string; expiresAt: Date; userInfo: User }> {
    // The session_key is split off at once, so it never travels (or is logged) with the identity.
    const { sessionKey, ...identity } = await this.wechat.exchange(input.code);
    const profile = { ...input.userInfo };
    // Content security before anything is stored: FORBIDDEN / CONTENT_BLOCKED for a refused nickname.
    if (profile.nickName && this.moderation) [profile.nickName] = await this.moderation.checkNickname(identity, profile.nickName);
    const user = await this.findOrCreateUser(identity, profile);
    await this.keepSessionKey(user, identity.appId, sessionKey);
    const issued = await this.tokens.issue(user.id);
    return { token: issued.token, expiresAt: issued.expiresAt, userInfo: user };
  }

  /**
   * Revokes the token of this request (only that one) and closes sockets that used it.
   * FORBIDDEN (LOGIN_TOKEN_REQUIRED) when the request was made with an API key.
   */
  async logout(viewer: Viewer): Promise<true> {
    requireLoginToken(viewer);
    const { credential } = viewer;
    try {
      await this.em.insert(RevokedToken, { jti: credential.jti, userId: viewer.userId, expiresAt: credential.expiresAt });
    } catch (err) {
      // Two logouts racing with the same token: the token is revoked either way.
      if (!(err instanceof UniqueConstraintViolationException)) throw err;
    }
    // The database row is the revocation; Redis is a cache that catches up by itself when
    // this write fails (see RedisRevocations), so its failure does not fail the logout.
    await this.revocations?.add(credential.jti, credential.expiresAt);
    this.sessions.revoke(credentialKey(credential), 'Token revoked');
    return true;
  }

  /**
   * The latest session_key, encrypted; virtual payment signs with it. Only a key of the app the
   * user's openid belongs to is usable, so a login through another app (by unionid) clears it.
   */
  private async keepSessionKey(user: User, appId: string, sessionKey: string | undefined): Promise<void> {
    if (!this.sessionKeys) return;
    const sessionKeyEnc = sessionKey && user.appId === appId ? this.sessionKeys.encrypt(sessionKey) : null;
    await this.em.nativeUpdate(User, { id: user.id }, { sessionKeyEnc });
  }

  private async findOrCreateUser(identity: WechatIdentity, profile: { nickName?: string; avatarUrl?: string }): Promise<User> {
    const byOpenid = { appId: identity.appId, openid: identity.openid };
    const where = identity.unionid ? { $or: [{ unionid: identity.unionid }, byOpenid] } : byOpenid;
    let user = await this.em.findOne(User, where);
    if (!user) {
      user = this.em.create(User, {
        ...byOpenid,
        unionid: identity.unionid ?? null,
        nickName: profile.nickName ?? DEFAULT_NICKNAME,
        avatar: profile.avatarUrl ?? null,
      });
      try {
        await this.em.flush();
        return user;
      } catch (err) {
        // The same person's first login racing on another request: use the row it made.
        if (!(err instanceof UniqueConstraintViolationException)) throw err;
        this.em.clear();
        user = await this.em.findOneOrFail(User, where);
      }
    }
    if (identity.unionid && !user.unionid) user.unionid = identity.unionid;
    if (profile.nickName) user.nickName = profile.nickName;
    if (profile.avatarUrl) user.avatar = profile.avatarUrl;
    await this.em.flush();
    return user;
  }
}

import { createSecretKey, type KeyObject, randomUUID } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { UnauthenticatedError } from '../core/errors';

export interface IssuedToken {
  token: string;
  jti: string;
  expiresAt: Date;
}

export interface TokenClaims {
  userId: string;
  jti: string;
  expiresAt: Date;
}

/** HS256 JWTs: `sub` = user id, a random `jti` (for revocation), `exp` from JWT_TTL. */
export class TokenService {
  /** A KeyObject, made once: given raw bytes, jose would import the key again on every verification. */
  private readonly key: KeyObject;

  constructor(secret: string, private readonly ttlSeconds: number) {
    this.key = createSecretKey(Buffer.from(secret, 'utf8'));
  }

  async issue(userId: string, now = new Date()): Promise<IssuedToken> {
    const jti = randomUUID();
    const iat = Math.floor(now.getTime() / 1000);
    const exp = iat + this.ttlSeconds;
    const token = await new SignJWT({}).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setSubject(userId).setJti(jti).setIssuedAt(iat).setExpirationTime(exp).sign(this.key);
    return { token, jti, expiresAt: new Date(exp * 1000) };
  }

  /** Checks signature, algorithm and expiry. Throws UNAUTHENTICATED saying which. */
  async verify(token: string): Promise<TokenClaims> {
    try {
      const { payload } = await jwtVerify(token, this.key, { algorithms: ['HS256'], requiredClaims: ['sub', 'jti', 'exp'] });
      return { userId: payload.sub!, jti: payload.jti!, expiresAt: new Date(payload.exp! * 1000) };
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) throw new UnauthenticatedError('Token expired');
      throw new UnauthenticatedError('Invalid token');
    }
  }
}

/**
 * A fast answer to "is this token revoked?" in front of the database (Redis when shared).
 * `undefined` means "cannot say": the database decides.
 */
export interface RevocationCache {
  isRevoked(jti: string): Promise<boolean | undefined>;
  add(jti: string, expiresAt: Date): Promise<void>;
}

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * Encrypts small secrets kept in the database (the users' WeChat session_keys) with
 * AES-256-GCM under DATA_ENCRYPTION_KEY, so a copy of the database alone does not give
 * them away. Stored as `v1.<iv>.<tag>.<ciphertext>` (base64url), the version leaving room
 * for a key rotation.
 */
export class DataCipher {
  private readonly key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== 32) throw new RangeError('the data encryption key must be 32 bytes');
    this.key = key;
  }

  /** DATA_ENCRYPTION_KEY: 64 hex characters or base64 of 32 bytes; null when it is neither. */
  static parseKey(text: string): Buffer | null {
    if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
    if (!/^[A-Za-z0-9+/_-]{43}=?$/.test(text)) return null;
    const key = Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    return key.length === 32 ? key : null;
  }

  encrypt(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return ['v1', iv, cipher.getAuthTag(), data].map((p) => (typeof p === 'string' ? p : p.toString('base64url'))).join('.');
  }

  /** null when the text was not made with this key (or was altered). */
  decrypt(stored: string): string | null {
    const [version, iv, tag, data] = stored.split('.');
    if (version !== 'v1' || iv === undefined || tag === undefined || data === undefined) return null;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      return null;
    }
  }
}

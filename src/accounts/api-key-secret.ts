import { createHash, randomBytes } from 'node:crypto';

/** Recognisable in logs, config files and secret scanners. */
export const API_KEY_PREFIX = 'cak_';
const SHOWN_PREFIX_LENGTH = 12;

export function generateApiKeySecret(): { secret: string; prefix: string; hash: string } {
  const secret = API_KEY_PREFIX + randomBytes(32).toString('base64url');
  return { secret, prefix: secret.slice(0, SHOWN_PREFIX_LENGTH), hash: hashApiKeySecret(secret) };
}

export const hashApiKeySecret = (secret: string): string => createHash('sha256').update(secret).digest('hex');

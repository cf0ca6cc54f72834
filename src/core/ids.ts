import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'; // Crockford base32, lowercase

/**
 * A 26-character id: 10 characters of millisecond time, then 16 random ones (80 bits).
 * Sorts by creation time (good index locality on MySQL) and cannot be guessed.
 */
export function newId(now = Date.now()): string {
  let time = '';
  for (let t = now, i = 0; i < 10; i++, t = Math.floor(t / 32)) time = ALPHABET[t % 32] + time;
  const bytes = randomBytes(16);
  let rand = '';
  for (let i = 0; i < 16; i++) rand += ALPHABET[bytes[i] % 32];
  return time + rand;
}

/** Ids are exactly that shape; anything else can be answered NOT_FOUND without a query. */
export const isId = (value: string): boolean => /^[0-9a-hjkmnp-tv-z]{26}$/.test(value);

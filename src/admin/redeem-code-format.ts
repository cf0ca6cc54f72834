import { createHash, randomBytes } from 'node:crypto';

/*
 * Redeem codes: 22 characters of Crockford base32 (110 random bits), shown in groups of four
 * (XXXX-XXXX-XXXX-XXXX-XXXX-XX) for reading aloud and typing. Crockford's alphabet has no I,
 * L, O or U, and reading folds the look-alikes (O→0, I/L→1), case, spaces and dashes, so a
 * code copied by hand still matches. Only the hash of the folded form is stored.
 */

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const LENGTH = 22;

export function generateRedeemCode(): string {
  const bytes = randomBytes(LENGTH);
  // 256 is a multiple of 32, so `% 32` keeps every character equally likely.
  const chars = Array.from(bytes, (b) => ALPHABET[b % 32]).join('');
  return chars.match(/.{1,4}/g)!.join('-');
}

/** The code as stored (hashed), or null when it cannot be a code at all. */
export function normalizeRedeemCode(input: string): string | null {
  if (input.length > 64) return null;
  const folded = input.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  return folded.length === LENGTH && [...folded].every((c) => ALPHABET.includes(c)) ? folded : null;
}

export const hashRedeemCode = (normalized: string): string => createHash('sha256').update(normalized).digest('hex');

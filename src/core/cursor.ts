import { BadRequestError } from './errors';
import { isValidText } from './text';

/**
 * The largest number a cursor may hold: the last millisecond of 9999-12-31, MySQL's latest
 * DATETIME. Every number in our cursors is a time in milliseconds or a small rank, so a whole
 * number from 0 to this is always a valid Date on every database; anything else (1e300, -1e15,
 * 1.5) would only fail later, deep in a query, as a server error.
 */
const MAX_CURSOR_NUMBER = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

const fits = (type: 'string' | 'number', value: unknown): boolean =>
  type === 'number'
    ? typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_CURSOR_NUMBER
    : typeof value === 'string' && isValidText(value);

/**
 * Opaque page cursors: base64url JSON. A malformed or tampered cursor is BAD_REQUEST,
 * never a server error.
 */
export function encodeCursor(value: Record<string, string | number>): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** `number` fields are whole numbers from 0 to the year 9999 in milliseconds; `string` fields valid text. */
export function decodeCursor<T extends Record<string, string | number>>(cursor: string, shape: { [K in keyof T]: 'string' | 'number' }): T {
  try {
    if (cursor.length > 200) throw new Error('too long');
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Record<string, unknown>;
    for (const [key, type] of Object.entries(shape)) {
      if (!fits(type, value[key])) throw new Error(`bad ${key}`);
    }
    return value as T;
  } catch {
    throw new BadRequestError('Malformed cursor', { field: 'after', reason: 'MALFORMED_CURSOR' });
  }
}

/** `first` is 1 to 100 (the API's page limit). */
export function checkPageSize(first: number): number {
  if (!Number.isInteger(first) || first < 1 || first > 100) {
    throw new BadRequestError('first must be between 1 and 100', { field: 'first', reason: 'OUT_OF_RANGE' });
  }
  return first;
}

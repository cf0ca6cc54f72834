import { BadRequestError } from './errors';

/**
 * Opaque page cursors: base64url JSON. A malformed or tampered cursor is BAD_REQUEST,
 * never a server error.
 */
export function encodeCursor(value: Record<string, string | number>): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export function decodeCursor<T extends Record<string, string | number>>(cursor: string, shape: { [K in keyof T]: 'string' | 'number' }): T {
  try {
    if (cursor.length > 200) throw new Error('too long');
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Record<string, unknown>;
    for (const [key, type] of Object.entries(shape)) {
      if (typeof value[key] !== type || (type === 'number' && !Number.isFinite(value[key]))) throw new Error(`bad ${key}`);
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

import { BadRequestError } from './errors';

/*
 * What text the API accepts: well-formed Unicode without NUL. A lone UTF-16 surrogate cannot
 * be encoded as UTF-8, so MySQL's driver stores it as U+FFFD (three bytes for one character
 * counted) while SQLite keeps it; NUL ends strings in C code (SQLite's) and breaks logs and
 * providers. Refusing both at the edge means every database stores exactly what was sent.
 */
const INVALID = /\0|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export const isValidText = (text: string): boolean => !INVALID.test(text);

/** Only the containers JSON and GraphQL input coercion build; files and dates are not text. */
function isPlainContainer(value: unknown): value is Record<string, unknown> | unknown[] {
  if (Array.isArray(value)) return true;
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** The path (property names and indexes) of the first string in `value` that is not valid text. */
export function findInvalidText(value: unknown, path: Array<string | number> = []): Array<string | number> | undefined {
  if (typeof value === 'string') return isValidText(value) ? undefined : path;
  if (!isPlainContainer(value)) return undefined;
  const entries: Array<[string | number, unknown]> = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
  for (const [key, item] of entries) {
    const found = findInvalidText(item, [...path, key]);
    if (found) return found;
  }
  return undefined;
}

export function invalidTextError(field: string): BadRequestError {
  const name = field || 'text';
  return new BadRequestError(`${name} must be valid Unicode text without NUL characters (no lone surrogates)`, { field, reason: 'INVALID_TEXT' });
}

/** Throws BAD_REQUEST / INVALID_TEXT naming the first bad string under `value` (`field` prefixes the path). */
export function checkText(value: unknown, field?: string): void {
  const path = findInvalidText(value, field ? [field] : []);
  if (path) throw invalidTextError(path.join('.'));
}

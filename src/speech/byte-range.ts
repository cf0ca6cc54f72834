/** One byte range, both ends included. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * An HTTP `Range` header against a body of `size` bytes (RFC 9110 §14): a single range
 * `bytes=a-b`, `bytes=a-` or `bytes=-n`. Undefined means "send it all" (no header, one that
 * cannot be read, or several ranges: a server may ignore a Range it does not serve);
 * 'unsatisfiable' is a range wholly past the end (416).
 */
export function parseByteRange(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | undefined {
  const m = header === undefined ? null : /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    // The last n bytes (all of them when n is more than there are).
    const n = Number(m[2]);
    if (n === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Number(m[2]);
  if (start >= size) return 'unsatisfiable';
  if (end < start) return undefined;
  return { start, end: Math.min(end, size - 1) };
}

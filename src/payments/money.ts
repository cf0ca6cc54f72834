/**
 * Money is integer fen (CNY cents) everywhere inside the server. Yuan appear only at the
 * edges (GraphQL `amount: Float`, Alipay's "12.34" strings) and are converted here with
 * string arithmetic, so no float rounding ever touches an amount.
 */

/** "12.3" | "12.34" | "12" -> 1234 fen; null when it is not a plain yuan amount with at most two decimals. */
export function yuanStringToFen(text: string): number | null {
  const match = /^(\d{1,9})(?:\.(\d{1,2}))?$/.exec(text);
  if (!match) return null;
  const fen = Number(match[1]) * 100 + Number((match[2] ?? '').padEnd(2, '0'));
  return Number.isSafeInteger(fen) ? fen : null;
}

/**
 * A GraphQL Float in yuan -> fen, or null when it has more than two decimals or is not finite.
 * `String(n)` is the shortest text that round-trips, so 0.1 + 0.2 (0.30000000000000004) is
 * refused rather than silently rounded.
 */
export function yuanNumberToFen(yuan: number): number | null {
  if (!Number.isFinite(yuan) || yuan < 0) return null;
  const text = String(yuan);
  if (/e/i.test(text)) return null;
  return yuanStringToFen(text);
}

/** 1234 -> "12.34", 5 -> "0.05". */
export function fenToYuanString(fen: number): string {
  if (!Number.isSafeInteger(fen) || fen < 0) throw new RangeError(`not an amount in fen: ${fen}`);
  const whole = Math.floor(fen / 100);
  const cents = String(fen % 100).padStart(2, '0');
  return `${whole}.${cents}`;
}

/** 1234 -> 12.34 for GraphQL `Float` outputs (exactly representable as the nearest double). */
export function fenToYuanNumber(fen: number): number {
  return Number(fenToYuanString(fen));
}

import fc from 'fast-check';

/*
 * Arbitraries for the input sweep (fuzz.test.ts). Each input is either well-formed (so the
 * mutation gets far enough to write something: ids may still be someone else's, unknown or
 * malformed, and sizes reach their limits) or well-formed with exactly one fault put in at a
 * random place: hostile text, an oversized value, a wrong JSON type, or a missing field.
 */

/** Characters that break things: NUL, lone surrogates, SQL and LIKE metacharacters, bidi and line controls. */
const NASTY = ['\u0000', '\ud800', '\udfff', '\ud83d', '😀', 'e\u0301', '\u202e', '\u2028', '%', '_', "'", '"', '\\', ' ', '\t', '\n', '中', '\uffff'];

/** Text of any sort, often with the characters above. */
export const anyText = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 20 }) },
  { weight: 3, arbitrary: fc.string({ unit: fc.oneof(fc.constantFrom(...NASTY), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })), minLength: 1, maxLength: 12 }) },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', '   \n\t') },
  { weight: 1, arbitrary: fc.constantFrom('a\u0000b', '\ud800', 'x\udfff', '\u0000') },
);

/** Text up to a limit of `max` characters, the limit itself included. */
export const textUpTo = (max: number) =>
  fc.oneof({ weight: 6, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: Math.min(max, 20) }) }, { weight: 1, arbitrary: fc.constantFrom('x'.repeat(max), '中'.repeat(max)) });

/** Values of the wrong JSON type for almost any field. */
export const wrongType = fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 2 }), fc.dictionary(fc.string({ maxLength: 3 }), fc.integer(), { maxKeys: 2 }));

/** Text over the limits of the API's fields (64, 128, 200, 512, 32,000 characters...). */
const oversized = fc.constantFrom('x'.repeat(33), 'x'.repeat(65), 'x'.repeat(129), 'x'.repeat(201), '中'.repeat(201), 'x'.repeat(513), 'x'.repeat(32_001));

/** What the one fault puts in; `undefined` removes the field. */
const fault = fc.oneof({ weight: 3, arbitrary: anyText }, { weight: 2, arbitrary: wrongType }, { weight: 2, arbitrary: oversized }, { weight: 1, arbitrary: fc.constant(undefined) });

type Path = Array<string | number>;

/** Every place in a JSON value (the value itself included), containers before their contents. */
function places(value: unknown, path: Path = []): Path[] {
  const inner = Array.isArray(value) ? value.map((v, i) => places(v, [...path, i])) : value && typeof value === 'object' ? Object.entries(value).map(([k, v]) => places(v, [...path, k])) : [];
  return [path, ...inner.flat()];
}

/** A copy of `value` with `replacement` at `path` (removed when undefined). */
function withAt(value: unknown, path: Path, replacement: unknown): unknown {
  if (!path.length) return replacement;
  const [head, ...rest] = path;
  if (Array.isArray(value)) return value.map((v, i) => (i === head ? withAt(v, rest, replacement) : v));
  const copy = { ...(value as Record<string, unknown>) };
  const next = withAt(copy[head], rest, replacement);
  if (next === undefined) delete copy[head];
  else copy[head] = next;
  return copy;
}

/** `valid`, or `valid` with one fault at a random place (never at the root: the root is the variables or body object). */
export function withOneFault<T>(valid: fc.Arbitrary<T>): fc.Arbitrary<Record<string, unknown>> {
  const faulty = fc.tuple(valid, fc.nat(), fault).map(([v, n, bad]) => {
    const spots = places(v).slice(1);
    return spots.length ? withAt(v, spots[n % spots.length], bad) : v;
  });
  return fc.oneof(valid, faulty) as fc.Arbitrary<Record<string, unknown>>;
}

/** Yuan amounts: valid ones, and every way to be out of range or too precise. */
export const amount = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 5_000_000 }).map((fen) => fen / 100) },
  { weight: 2, arbitrary: fc.constantFrom(0, -1, 0.001, 0.005, 50_000.01, 1e308, -0, 9.999, Number.MAX_SAFE_INTEGER, 2 ** 31) },
  { weight: 1, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }) },
);

/** Mostly the caller's own id, else someone else's, nobody's or a malformed one. */
export const idFrom = (own: string, others: readonly string[]) => fc.oneof({ weight: 3, arbitrary: fc.constant(own) }, { weight: 2, arbitrary: fc.constantFrom(...others) });

/** DateTime strings, the edges of what databases store included. */
const timestamp = fc.oneof(
  fc.date({ noInvalidDate: true, min: new Date(0), max: new Date(Date.UTC(9999, 0)) }).map((d) => d.toISOString()),
  fc.constantFrom('0001-01-01T00:00:00.000Z', '0999-12-31T23:59:59.999Z', '9999-12-31T23:59:59.999Z', '+010000-01-01T00:00:00.000Z', '1969-12-31T23:59:59.999Z', '2024-02-30T00:00:00Z'),
);

/** A few messages with these roles, or more than the 500 one call takes. */
export const messages = (roles: readonly string[]) =>
  fc.oneof(
    { weight: 8, arbitrary: fc.array(fc.record({ role: fc.constantFrom(...roles), content: textUpTo(32_000), timestamp }, { requiredKeys: ['role', 'content'] }), { maxLength: 3 }) },
    { weight: 1, arbitrary: fc.constant(Array.from({ length: 501 }, () => ({ role: roles[0], content: 'x' }))) },
  );

/** Optional fields, each present or not. */
export const optional = <T extends Record<string, fc.Arbitrary<unknown>>>(model: T, required: Array<keyof T & string> = []) => fc.record(model, { requiredKeys: required });

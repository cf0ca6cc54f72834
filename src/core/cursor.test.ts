import { describe, expect, it } from '@jest/globals';
import { checkPageSize, decodeCursor, encodeCursor } from './cursor';
import { AppError } from './errors';

const shape = { createdAt: 'number', id: 'string' } as const;
type Position = { createdAt: number; id: string };

const cursorOfText = (json: string) => Buffer.from(json).toString('base64url');

/** The AppError a call throws; fails the test when it returns. */
function thrown(fn: () => unknown): AppError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    return err as AppError;
  }
  throw new Error('expected an error');
}

const malformed = { code: 'BAD_REQUEST', status: 400, message: 'Malformed cursor', details: { field: 'after', reason: 'MALFORMED_CURSOR' } };

describe('encodeCursor / decodeCursor', () => {
  it('encodes base64url JSON', () => {
    expect(encodeCursor({ createdAt: 1_700_000_000_000, id: '01HZX' })).toBe('eyJjcmVhdGVkQXQiOjE3MDAwMDAwMDAwMDAsImlkIjoiMDFIWlgifQ');
  });

  it('accepts every number from 0 to the last millisecond of 9999', () => {
    const last = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
    for (const createdAt of [0, 1, last]) expect(decodeCursor<Position>(encodeCursor({ createdAt, id: 'a' }), shape)).toEqual({ createdAt, id: 'a' });
    expect(thrown(() => decodeCursor<Position>(encodeCursor({ createdAt: last + 1, id: 'a' }), shape))).toMatchObject(malformed);
  });

  it('decodes what it encodes', () => {
    const position = { createdAt: 1_700_000_000_000, id: 'chat/é 你好?&=' };
    const cursor = encodeCursor(position);
    expect(cursor).toMatch(/^[\w-]+$/);
    expect(decodeCursor<Position>(cursor, shape)).toEqual(position);
  });

  it('accepts 200 characters and refuses 201 or more before decoding', () => {
    const longest = encodeCursor({ id: 'x'.repeat(141) });
    expect(longest).toHaveLength(200);
    expect(decodeCursor<{ id: string }>(longest, { id: 'string' })).toEqual({ id: 'x'.repeat(141) });

    const tooLong = encodeCursor({ id: 'x'.repeat(142) });
    expect(tooLong.length).toBeGreaterThan(200);
    expect(thrown(() => decodeCursor(tooLong, { id: 'string' }))).toMatchObject(malformed);
  });

  it.each([
    ['an empty string', ''],
    ['text that is not base64 JSON', 'not-a-cursor'],
    ['an altered first character', `X${encodeCursor({ createdAt: 1, id: 'a' }).slice(1)}`],
    ['a cut-off cursor', encodeCursor({ createdAt: 1, id: 'a' }).slice(0, 20)],
    ['JSON null', cursorOfText('null')],
    ['a JSON array', cursorOfText('[1,"a"]')],
    ['a JSON string', cursorOfText('"a"')],
    ['a missing field', cursorOfText('{"createdAt":1}')],
    ['a number as a string', cursorOfText('{"createdAt":"1","id":"a"}')],
    ['a string as a number', cursorOfText('{"createdAt":1,"id":7}')],
    ['a null field', cursorOfText('{"createdAt":null,"id":"a"}')],
    ['an infinite number (1e999)', cursorOfText('{"createdAt":1e999,"id":"a"}')],
    ['a number past the year 9999 (1e300)', cursorOfText('{"createdAt":1e300,"id":"a"}')],
    ['a negative number', cursorOfText('{"createdAt":-1,"id":"a"}')],
    ['a fraction', cursorOfText('{"createdAt":1.5,"id":"a"}')],
    ['a string with a NUL', cursorOfText('{"createdAt":1,"id":"a\\u0000"}')],
    ['a string with a lone surrogate', cursorOfText('{"createdAt":1,"id":"\\ud800"}')],
  ])('turns %s into BAD_REQUEST MALFORMED_CURSOR', (_name, cursor) => {
    expect(thrown(() => decodeCursor<Position>(cursor, shape))).toMatchObject(malformed);
  });
});

describe('checkPageSize', () => {
  it.each([1, 20, 100])('accepts %p', (first) => {
    expect(checkPageSize(first)).toBe(first);
  });

  it.each([0, -1, 101, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('refuses %p as OUT_OF_RANGE', (first) => {
    expect(thrown(() => checkPageSize(first))).toMatchObject({ code: 'BAD_REQUEST', details: { field: 'first', reason: 'OUT_OF_RANGE' } });
  });
});

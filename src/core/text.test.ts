import { describe, expect, it } from '@jest/globals';
import { AppError } from './errors';
import { checkText, findInvalidText, isValidText } from './text';

describe('isValidText', () => {
  it.each(['', 'plain', '中文', '😀', 'e\u0301', '\t\n\r', '\uffff', '\u{10ffff}'])('accepts %j', (text) => {
    expect(isValidText(text)).toBe(true);
  });

  it.each([
    ['a NUL', 'a\u0000b'],
    ['a lone high surrogate at the end', 'ab\ud83d'],
    ['a lone high surrogate before a letter', '\ud83dx'],
    ['a lone low surrogate', 'x\ude00'],
    ['two high surrogates', '\ud83d\ud83d'],
    ['a pair in the wrong order', '\ude00\ud83d'],
  ])('refuses %s', (_name, text) => {
    expect(isValidText(text)).toBe(false);
  });
});

describe('findInvalidText', () => {
  it('names the first bad string by its path through objects and arrays', () => {
    expect(findInvalidText({ title: 'ok', messages: [{ content: 'fine' }, { content: 'x\u0000' }] })).toEqual(['messages', 1, 'content']);
    expect(findInvalidText(['a', ['b', '\ud800']])).toEqual([1, 1]);
    expect(findInvalidText('\udfff')).toEqual([]);
  });

  it('finds nothing in valid text or in values that are not text', () => {
    expect(findInvalidText({ n: 1, b: true, none: null, list: ['a', 'b'], at: new Date(0) })).toBeUndefined();
    // Instances (uploads, dates) are not walked: only what JSON and GraphQL coercion build.
    class Upload {
      name = '\u0000';
    }
    expect(findInvalidText({ file: new Upload() })).toBeUndefined();
    expect(findInvalidText(Object.assign(Object.create(null) as object, { s: '\u0000' }))).toEqual(['s']);
  });
});

describe('checkText', () => {
  it('throws BAD_REQUEST / INVALID_TEXT with the dotted field', () => {
    let error: unknown;
    try {
      checkText({ content: 'hi', tags: ['ok', '\u0000'] });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: 'BAD_REQUEST', status: 400, details: { field: 'tags.1', reason: 'INVALID_TEXT' } });
    expect(() => checkText({ content: 'hi 😀' })).not.toThrow();
  });
});

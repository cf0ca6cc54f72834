import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { fenToYuanNumber, fenToYuanString, yuanNumberToFen, yuanStringToFen } from './money';

/** The largest amount yuanStringToFen reads: nine digits of yuan and two of fen. */
const MAX_FEN = 99_999_999_999;

describe('yuanStringToFen', () => {
  it.each([
    ['12.34', 1234],
    ['12.3', 1230],
    ['12', 1200],
    ['0', 0],
    ['0.1', 10],
    ['0.01', 1],
    ['0.00', 0],
    ['007.50', 750],
    ['999999999.99', MAX_FEN],
  ])('reads %p as %p fen', (text, fen) => {
    expect(yuanStringToFen(text)).toBe(fen);
  });

  it.each([
    ['1.005', 'three decimals'],
    ['0.001', 'three decimals'],
    ['-1', 'a sign'],
    ['+1', 'a sign'],
    ['-0.01', 'a sign'],
    ['', 'nothing'],
    ['abc', 'letters'],
    ['1.', 'a dot without decimals'],
    ['.5', 'decimals without yuan'],
    ['1e3', 'an exponent'],
    ['1,00', 'a comma'],
    [' 1', 'spaces'],
    ['1 ', 'spaces'],
    ['1000000000', 'ten digits of yuan'],
    ['１２', 'full-width digits'],
    ['0x10', 'hex'],
    ['Infinity', 'a word number'],
    ['NaN', 'a word number'],
  ])('refuses %p (%s)', (text) => {
    expect(yuanStringToFen(text)).toBeNull();
  });

  it('reads any yuan amount with up to two decimals digit for digit', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 999_999_999 }), fc.integer({ min: 0, max: 99 }), fc.boolean(), (yuan, cents, shortCents) => {
        // "1.5" means 1.50: a single decimal is tenths, never 5 fen.
        const text = shortCents && cents % 10 === 0 ? `${yuan}.${cents / 10}` : `${yuan}.${String(cents).padStart(2, '0')}`;
        expect(yuanStringToFen(text)).toBe(yuan * 100 + cents);
      }),
    );
  });

  it('refuses any amount with three or more decimals', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 999_999_999 }), fc.stringMatching(/^\d{3,6}$/), (yuan, decimals) => {
        expect(yuanStringToFen(`${yuan}.${decimals}`)).toBeNull();
      }),
    );
  });
});

describe('yuanNumberToFen', () => {
  it.each([
    [12.34, 1234],
    [12.3, 1230],
    [0.07, 7],
    [0.1, 10],
    [0, 0],
    [-0, 0],
    [100, 10000],
    [999_999_999.99, MAX_FEN],
  ])('reads %p yuan as %p fen', (yuan, fen) => {
    expect(yuanNumberToFen(yuan)).toBe(fen);
  });

  it.each([
    [0.1 + 0.2, 'float noise (0.30000000000000004)'],
    [1.005, 'three decimals'],
    [-1, 'a negative amount'],
    [-0.01, 'a negative amount'],
    [Number.NaN, 'NaN'],
    [Number.POSITIVE_INFINITY, 'Infinity'],
    [1e21, 'exponent notation'],
    [1e-7, 'exponent notation'],
    [1_000_000_000, 'ten digits of yuan'],
  ])('refuses %p (%s)', (yuan) => {
    expect(yuanNumberToFen(yuan)).toBeNull();
  });
});

describe('fenToYuanString', () => {
  it.each([
    [1234, '12.34'],
    [5, '0.05'],
    [50, '0.50'],
    [0, '0.00'],
    [100, '1.00'],
    [MAX_FEN, '999999999.99'],
    [Number.MAX_SAFE_INTEGER, '90071992547409.91'],
  ])('writes %p fen as %p', (fen, text) => {
    expect(fenToYuanString(fen)).toBe(text);
  });

  it.each([[-1], [1.5], [Number.NaN], [Number.POSITIVE_INFINITY], [Number.MAX_SAFE_INTEGER + 1]])('throws a RangeError for %p', (fen) => {
    expect(() => fenToYuanString(fen)).toThrow(new RangeError(`not an amount in fen: ${fen}`));
  });

  it('always writes two decimals that read back to the same fen', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MAX_FEN }), (fen) => {
        const text = fenToYuanString(fen);
        expect(text).toMatch(/^\d+\.\d\d$/);
        expect(yuanStringToFen(text)).toBe(fen);
      }),
    );
  });
});

describe('fenToYuanNumber', () => {
  it.each([
    [1234, 12.34],
    [5, 0.05],
    [0, 0],
    [1230, 12.3],
  ])('gives %p fen as %p yuan', (fen, yuan) => {
    expect(fenToYuanNumber(fen)).toBe(yuan);
  });

  it('throws a RangeError for a negative amount', () => {
    expect(() => fenToYuanNumber(-5)).toThrow(RangeError);
  });

  it('gives a Float that a GraphQL input reads back to the same fen', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MAX_FEN }), (fen) => {
        expect(yuanNumberToFen(fenToYuanNumber(fen))).toBe(fen);
      }),
    );
  });
});

import { describe, expect, it } from '@jest/globals';
import { AppError } from '../core/errors';
import { estimateTokens, fitToContext } from './context-window';

describe('estimateTokens', () => {
  it.each([
    ['', 4],
    ['hello', 6],
    ['Hello, world!', 8],
    ['a'.repeat(4000), 1004],
    ['你好世界', 8],
    ['你好 world', 8],
    ['こんにちは', 9],
    ['안녕', 6],
    ['！？', 6],
    ['。', 5],
    ['😀', 5],
  ])('estimates %p as %p tokens', (text, tokens) => {
    expect(estimateTokens(text)).toBe(tokens);
  });
});

interface TestTurn {
  id: string;
  role: string;
  content: string;
}

/** A turn whose estimate is exactly `tokens` (at least 4, the per-turn overhead). */
const turn = (id: string, role: string, tokens: number): TestTurn => ({ id, role, content: 'a'.repeat((tokens - 4) * 4) });

const ids = (turns: TestTurn[]) => turns.map((t) => t.id);

function tooLong(fn: () => unknown): AppError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    return err as AppError;
  }
  throw new Error('expected CONTEXT_TOO_LONG');
}

describe('fitToContext', () => {
  it('builds turns of the intended size', () => {
    expect(estimateTokens(turn('x', 'user', 20).content)).toBe(20);
  });

  it('returns the very same turns when the window is unlimited', () => {
    const turns = [turn('s', 'system', 5000), turn('u1', 'user', 90_000), turn('u2', 'user', 90_000)];
    expect(fitToContext(turns, null)).toBe(turns);
    expect(fitToContext(turns, 0)).toBe(turns);
  });

  it('keeps all turns that fit', () => {
    const turns = [turn('s', 'system', 10), turn('u1', 'user', 10), turn('a1', 'assistant', 10), turn('u2', 'user', 10)];
    expect(ids(fitToContext(turns, 100))).toEqual(['s', 'u1', 'a1', 'u2']);
  });

  it('drops the oldest turns first and keeps the system turn', () => {
    // A window of 100 keeps 25 for the reply: 75 tokens for the prompt, 7 of them the system turn.
    const turns = [turn('s', 'system', 7), turn('u1', 'user', 20), turn('a1', 'assistant', 20), turn('u2', 'user', 20), turn('a2', 'assistant', 20), turn('u3', 'user', 20)];
    const kept = fitToContext(turns, 100);
    expect(ids(kept)).toEqual(['s', 'u2', 'a2', 'u3']);
    expect(kept[1]).toBe(turns[3]);
  });

  it('stops at the first turn that does not fit rather than skipping to a smaller, older one', () => {
    const turns = [turn('u1', 'user', 4), turn('a1', 'assistant', 60), turn('u2', 'user', 40)];
    expect(ids(fitToContext(turns, 100))).toEqual(['u2']);
  });

  it('puts system turns first, wherever they were', () => {
    const turns = [turn('u1', 'user', 10), turn('s', 'system', 10), turn('u2', 'user', 10)];
    expect(ids(fitToContext(turns, 100))).toEqual(['s', 'u1', 'u2']);
  });

  it('fills the budget exactly', () => {
    expect(ids(fitToContext([turn('s', 'system', 5), turn('u', 'user', 70)], 100))).toEqual(['s', 'u']);
    expect(ids(fitToContext([turn('u', 'user', 75)], 100))).toEqual(['u']);
  });

  it('keeps at most 1,024 tokens for the reply in a large window', () => {
    expect(ids(fitToContext([turn('u', 'user', 8192 - 1024)], 8192))).toEqual(['u']);
    expect(tooLong(() => fitToContext([turn('u', 'user', 8192 - 1024 + 1)], 8192)).details).toEqual({ field: 'content', reason: 'CONTEXT_TOO_LONG' });
  });

  it('is BAD_REQUEST CONTEXT_TOO_LONG when the newest message does not fit on its own', () => {
    const turns = [turn('s', 'system', 5), turn('u1', 'user', 10), turn('u2', 'user', 71)];
    const err = tooLong(() => fitToContext(turns, 100));
    expect(err).toMatchObject({ code: 'BAD_REQUEST', status: 400, message: "The message is too long for the model's context window", details: { field: 'content', reason: 'CONTEXT_TOO_LONG' } });
  });

  it('counts the system turn against the newest message', () => {
    expect(ids(fitToContext([turn('u', 'user', 70)], 100))).toEqual(['u']);
    expect(tooLong(() => fitToContext([turn('s', 'system', 10), turn('u', 'user', 70)], 100)).details?.reason).toBe('CONTEXT_TOO_LONG');
  });
});

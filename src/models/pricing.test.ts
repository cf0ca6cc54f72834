import { describe, expect, it } from '@jest/globals';
import { type CatalogModel, ECHO_MODEL } from './model-catalog';
import { isPriced, minimumCharge, replyCost } from './pricing';

const model = (prices: CatalogModel['prices']): CatalogModel => ({
  ...ECHO_MODEL,
  id: 'm',
  name: 'M',
  type: 'chat',
  provider: 'openai',
  upstreams: [{ baseURL: 'https://api.example.com/v1', model: 'm', weight: null }],
  contextWindow: null,
  isDefault: false,
  prices,
});

describe('isPriced', () => {
  it.each([
    [{ prompt: 0, completion: 0 }, false],
    [{ prompt: 1, completion: 0 }, true],
    [{ prompt: 0, completion: 1 }, true],
    [{ prompt: 3, completion: 6 }, true],
  ])('is %p -> %p', (prices, priced) => {
    expect(isPriced(model(prices))).toBe(priced);
  });
});

describe('replyCost', () => {
  const prices = { prompt: 3, completion: 6 };

  it.each([
    [0, 0, 0],
    [1000, 1000, 9],
    [2000, 500, 9],
    [333, 0, 1], // 0.999 fen
    [334, 0, 2], // 1.002 fen
    [1, 0, 1], // 0.003 fen
    [0, 1, 1],
    [1_000_000, 1_000_000, 9000],
  ])('charges %p prompt + %p completion tokens %p fen, rounding up', (promptTokens, completionTokens, fen) => {
    expect(replyCost(prices, { promptTokens, completionTokens })).toBe(fen);
  });

  it('rounds a cost of exactly whole fen to itself', () => {
    expect(replyCost({ prompt: 1, completion: 0 }, { promptTokens: 1000, completionTokens: 0 })).toBe(1);
    expect(replyCost({ prompt: 1, completion: 0 }, { promptTokens: 1001, completionTokens: 0 })).toBe(2);
  });

  it('costs nothing on a free model', () => {
    expect(replyCost({ prompt: 0, completion: 0 }, { promptTokens: 50_000, completionTokens: 50_000 })).toBe(0);
  });
});

describe('minimumCharge', () => {
  it('is at least one fen, even for a free model or an empty message', () => {
    expect(minimumCharge(model({ prompt: 0, completion: 0 }), 'hello')).toBe(1);
    expect(minimumCharge(model({ prompt: 3, completion: 6 }), '')).toBe(1);
  });

  it("is the message's own prompt cost, ignoring the completion price", () => {
    // 3,996 Latin letters are 999 + 4 estimated tokens.
    expect(minimumCharge(model({ prompt: 1000, completion: 99_999 }), 'a'.repeat(3996))).toBe(1003);
    // 996 Chinese characters are 996 + 4 tokens: 1,000 tokens at 2 fen per 1,000.
    expect(minimumCharge(model({ prompt: 2, completion: 0 }), '你'.repeat(996))).toBe(2);
    expect(minimumCharge(model({ prompt: 2, completion: 0 }), '你'.repeat(997))).toBe(3);
  });
});

import { estimateTokens } from './context-window';
import type { CatalogModel } from './model-catalog';

type Prices = CatalogModel['prices'];

export const isPriced = (model: CatalogModel): boolean => model.prices.prompt > 0 || model.prices.completion > 0;

/** Prices are fen per 1,000 tokens; a reply costs whole fen, rounded up. */
export function replyCost(prices: Prices, usage: { promptTokens: number; completionTokens: number }): number {
  return Math.ceil((usage.promptTokens * prices.prompt + usage.completionTokens * prices.completion) / 1000);
}

/**
 * What a balance must cover before a priced model is called: the new message's own prompt
 * cost, and at least one fen. (The full cost is only known afterwards; the balance may go
 * below zero by at most the replies already running, which MAX_CONCURRENT_STREAMS bounds.)
 */
export function minimumCharge(model: CatalogModel, content: string): number {
  return Math.max(1, replyCost(model.prices, { promptTokens: estimateTokens(content), completionTokens: 0 }));
}

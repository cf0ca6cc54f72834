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

/**
 * Completion tokens a hold assumes for a model without `maxTokens`. The provider is not told
 * this cap, so a longer reply may cost more than its hold: the settlement then debits what
 * the balance still covers beyond other replies' holds, never more (see payments/reply-holds.ts).
 */
export const DEFAULT_HOLD_COMPLETION_TOKENS = 4096;

/**
 * The most a reply may cost, reserved before its provider is called: the prompt's estimate
 * at the prompt price and the model's `maxTokens` (or the default cap) at the completion
 * price; at least one fen for a priced model.
 */
export function maxReplyCost(model: CatalogModel, promptTokens: number): number {
  if (!isPriced(model)) return 0;
  return Math.max(1, replyCost(model.prices, { promptTokens, completionTokens: model.maxTokens ?? DEFAULT_HOLD_COMPLETION_TOKENS }));
}

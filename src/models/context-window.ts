import { BadRequestError } from '../core/errors';

/** A turn of a conversation as far as its size goes. */
interface Turn {
  role: string;
  content: string;
}

/**
 * A rough token count for budgeting only (the provider's own count is what gets stored):
 * a CJK character is about one token, other text about four characters per token.
 */
export function estimateTokens(text: string): number {
  let cjk = 0;
  for (const ch of text) if (/[\u3000-\u9fff\uac00-\ud7af\uff00-\uffef]/.test(ch)) cjk++;
  return cjk + Math.ceil((text.length - cjk) / 4) + 4;
}

/** Tokens kept free for the reply. */
const replyReserve = (window: number) => Math.min(1024, Math.floor(window / 4));

/**
 * Drops the oldest turns until the rest fits the model's context window. System turns stay;
 * the newest user turn must fit on its own (else BAD_REQUEST).
 */
export function fitToContext<T extends Turn>(turns: T[], contextWindow: number | null): T[] {
  if (!contextWindow) return turns;
  const budget = contextWindow - replyReserve(contextWindow);
  const system = turns.filter((t) => t.role === 'system');
  const rest = turns.filter((t) => t.role !== 'system');
  let used = system.reduce((n, t) => n + estimateTokens(t.content), 0);
  const kept: T[] = [];
  for (let i = rest.length - 1; i >= 0; i--) {
    const cost = estimateTokens(rest[i].content);
    if (used + cost > budget) break;
    used += cost;
    kept.unshift(rest[i]);
  }
  if (kept.length === 0 || kept.at(-1) !== rest.at(-1)) {
    throw new BadRequestError("The message is too long for the model's context window", { field: 'content', reason: 'CONTEXT_TOO_LONG' });
  }
  return [...system, ...kept];
}

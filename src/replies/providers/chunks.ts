import type { StreamPiece, Usage } from './provider';

/*
 * One `data:` event of an OpenAI-compatible stream, read the way real providers send it.
 * Every field is optional: a chunk may have no `choices` (DeepInfra, Groq, Fireworks usage
 * chunks), `choices: null` (MiniMax), `choices: []` (OpenAI, Qwen, vLLM usage chunks), be
 * `null` itself (AgentRouter), or carry an error object instead of a completion.
 */

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const text = (v: unknown): string => (typeof v === 'string' ? v : '');
const count = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.round(v) : null);

/** Usage in OpenAI's shape (also DeepSeek's, Qwen's, Zhipu's); totalTokens is computed when missing. */
export function readUsage(raw: unknown): Usage | undefined {
  if (!isObject(raw)) return undefined;
  const prompt = count(raw.prompt_tokens);
  const completion = count(raw.completion_tokens);
  if (prompt === null && completion === null) return undefined;
  const details = isObject(raw.completion_tokens_details) ? raw.completion_tokens_details : {};
  return {
    promptTokens: prompt ?? 0,
    completionTokens: completion ?? 0,
    totalTokens: count(raw.total_tokens) ?? (prompt ?? 0) + (completion ?? 0),
    reasoningTokens: count(details.reasoning_tokens),
  };
}

export interface ReadChunk {
  piece: StreamPiece;
  /** The provider's error object, when the event is one. */
  error?: unknown;
}

/** Reads one parsed event; `errorEvent` for an SSE `event: error`. */
export function readChunk(json: unknown, errorEvent: boolean): ReadChunk {
  if (!isObject(json)) return { piece: { alive: true } };
  if (errorEvent || json.error !== undefined && json.error !== null) return { piece: {}, error: json.error ?? json };
  const choice = Array.isArray(json.choices) && isObject(json.choices[0]) ? json.choices[0] : {};
  const delta = isObject(choice.delta) ? choice.delta : {};
  const piece: StreamPiece = {};
  const content = text(delta.content);
  if (content) piece.delta = content;
  const reasoning = text(delta.reasoning_content) || text(delta.reasoning);
  if (reasoning) piece.reasoning = reasoning;
  if (typeof choice.finish_reason === 'string' && choice.finish_reason) piece.finish = choice.finish_reason;
  // Moonshot nests usage in the choice; Groq's older API in `x_groq`.
  const usage = readUsage(json.usage) ?? readUsage(choice.usage) ?? readUsage(isObject(json.x_groq) ? json.x_groq.usage : undefined);
  if (usage) piece.usage = usage;
  if (!piece.delta && !piece.reasoning && !piece.finish && !piece.usage) piece.alive = true;
  return { piece };
}

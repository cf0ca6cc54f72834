import { BadRequestError } from '../core/errors';
import { CHAT_LIMITS, type MessageInput } from '../chats/chat-input';
import { FinishReason, MAX_MESSAGE_LENGTH, type Message, Role } from '../db/entities/message.entity';
import type { CatalogModel } from '../models/model-catalog';
import type { SendMessageInput } from '../replies/send-input';

/** The fields of OpenAI's chat completion request this server reads; the many others clients send are ignored. */
export interface ChatCompletionRequest {
  model?: string;
  messages: Array<{ role: string; content?: unknown }>;
  stream?: boolean;
  stream_options?: { include_usage?: boolean } | null;
  max_tokens?: number | null;
  max_completion_tokens?: number | null;
  temperature?: number | null;
  n?: number | null;
}

/** Loose on purpose: OpenAI clients send many fields we do not know; only what we read is typed. */
export const CHAT_COMPLETION_BODY = {
  type: 'object',
  required: ['messages'],
  properties: {
    model: { type: 'string' },
    messages: { type: 'array', minItems: 1, items: { type: 'object', required: ['role'], properties: { role: { type: 'string' } } } },
    stream: { type: ['boolean', 'null'] },
    stream_options: { type: ['object', 'null'], properties: { include_usage: { type: ['boolean', 'null'] } } },
    max_tokens: { type: ['integer', 'null'], minimum: 1 },
    max_completion_tokens: { type: ['integer', 'null'], minimum: 1 },
    temperature: { type: ['number', 'null'], minimum: 0, maximum: 2 },
    n: { type: ['integer', 'null'], minimum: 1 },
  },
} as const;

const ROLES: Record<string, Role> = { system: Role.SYSTEM, developer: Role.SYSTEM, user: Role.USER, assistant: Role.ASSISTANT };

const bad = (param: string, reason: 'UNSUPPORTED' | 'EMPTY' | 'TOO_LONG' | 'TOO_MANY' | 'INVALID', message: string) => new BadRequestError(message, { field: param, reason });

/** A message's text: a string, or the text parts of a content-part array joined; other parts (images, audio, files) are refused. */
function textOf(content: unknown, i: number): string {
  if (content === null || content === undefined) return '';
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) throw bad(`messages.${i}.content`, 'INVALID', 'content is a string or an array of content parts');
  return content
    .map((part: unknown, j) => {
      const p = part as { type?: unknown; text?: unknown } | null;
      if (p?.type !== 'text' || typeof p.text !== 'string') throw bad(`messages.${i}.content.${j}`, 'UNSUPPORTED', `Only text content parts are supported here (got ${String(p?.type)})`);
      return p.text;
    })
    .join('');
}

/**
 * OpenAI's request as a send of this server's reply pipeline: the last message (a user's)
 * is the content, the ones before it the client-kept history. Unstored: this API keeps no chats.
 */
export function toSendInput(req: ChatCompletionRequest): SendMessageInput {
  if ((req.n ?? 1) > 1) throw bad('n', 'UNSUPPORTED', 'Only n = 1 is supported');
  if (req.messages.length > CHAT_LIMITS.messagesPerSave + 1) throw bad('messages', 'TOO_MANY', `messages holds at most ${CHAT_LIMITS.messagesPerSave + 1} messages`);
  const turns: MessageInput[] = req.messages.map((m, i) => {
    const role = ROLES[m.role];
    if (!role) throw bad(`messages.${i}.role`, 'UNSUPPORTED', `Role ${m.role} is not supported: use system, user or assistant`);
    const content = textOf(m.content, i);
    if (content.length > MAX_MESSAGE_LENGTH) throw bad(`messages.${i}.content`, 'TOO_LONG', `A message is at most ${MAX_MESSAGE_LENGTH} characters`);
    return { role, content };
  });
  const last = turns.length - 1;
  if (turns[last].role !== Role.USER) throw bad(`messages.${last}.role`, 'INVALID', 'The last message must be a user message');
  if (!turns[last].content.trim()) throw bad(`messages.${last}.content`, 'EMPTY', 'The last message must not be empty');
  return {
    content: turns[last].content,
    modelId: req.model || null,
    messageHistory: turns.slice(0, last),
    stream: req.stream === true,
    unstored: true,
    tuning: { maxTokens: req.max_completion_tokens ?? req.max_tokens ?? null, temperature: req.temperature ?? null },
  };
}

/** OpenAI's finish reasons; a reply stopped early (the client went away) ends like a stop. */
export function finishReasonOf(reason: FinishReason | null | undefined): 'stop' | 'length' | 'content_filter' {
  if (reason === FinishReason.LENGTH) return 'length';
  if (reason === FinishReason.CONTENT_FILTER) return 'content_filter';
  return 'stop';
}

export function usageOf(m: Message) {
  const prompt = m.promptTokens ?? 0;
  const completion = m.completionTokens ?? 0;
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: m.totalTokens ?? prompt + completion,
    completion_tokens_details: { reasoning_tokens: m.reasoningTokens ?? 0 },
  };
}

/** What every response object of one completion shares. */
export interface CompletionHead {
  id: string;
  created: number;
  model: string;
}

export const completionHead = (messageId: string, model: string, createdAt: Date): CompletionHead => ({
  id: `chatcmpl-${messageId}`,
  created: Math.floor(createdAt.getTime() / 1000),
  model,
});

export function chatCompletion(head: CompletionHead, m: Message) {
  return {
    ...head,
    object: 'chat.completion' as const,
    choices: [
      {
        index: 0,
        message: { role: 'assistant' as const, content: m.content, refusal: null, ...(m.reasoning ? { reasoning_content: m.reasoning } : {}) },
        logprobs: null,
        finish_reason: finishReasonOf(m.finishReason),
      },
    ],
    usage: usageOf(m),
  };
}

/** One streamed chunk; with include_usage OpenAI sends `usage: null` on every chunk but the last. */
export function completionChunk(head: CompletionHead, delta: Record<string, string>, finish: string | null, includeUsage: boolean) {
  return {
    ...head,
    object: 'chat.completion.chunk' as const,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    ...(includeUsage ? { usage: null } : {}),
  };
}

export const usageChunk = (head: CompletionHead, m: Message) => ({ ...head, object: 'chat.completion.chunk' as const, choices: [], usage: usageOf(m) });

/** The catalog has no dates; models are reported as created when this process loaded it. */
const LOADED = Math.floor(Date.now() / 1000);

export const modelObject = (m: CatalogModel) => ({ id: m.id, object: 'model' as const, created: LOADED, owned_by: m.provider });

import { BadRequestError } from '../core/errors';
import { MAX_MESSAGE_LENGTH } from '../db/entities/message.entity';
import { CHAT_LIMITS, type MessageInput } from '../chats/chat-input';
import type { CatalogModel, ModelCatalog } from '../models/model-catalog';

export interface SendMessageInput {
  content: string;
  sessionId?: string | null;
  modelId?: string | null;
  messageHistory?: MessageInput[] | null;
  clientMessageId?: string | null;
  stream?: boolean | null;
  /** Never stored as a chat, whatever the user's saveHistory (the OpenAI-compatible API keeps no chats). */
  unstored?: boolean | null;
  /** Per-request generation settings (OpenAI's max_tokens, temperature); maxTokens stays within the model's own cap. */
  tuning?: { maxTokens?: number | null; temperature?: number | null } | null;
}

export interface CheckedSend {
  content: string;
  model: CatalogModel;
  sessionId: string | null;
  /** Context the client keeps itself (replaces the stored history). */
  history: MessageInput[] | null;
  /** The idempotency key. */
  key: string | null;
  /** `stream: false`: answer with the whole reply. */
  wait: boolean;
  unstored: boolean;
}

/** Checks a send before anything is read or written. BAD_REQUEST with the field and reason. */
export function checkSendInput(input: SendMessageInput, catalog: ModelCatalog): CheckedSend {
  const content = input.content;
  if (!content.trim()) throw new BadRequestError('content must not be empty', { field: 'content', reason: 'EMPTY' });
  if (content.length > MAX_MESSAGE_LENGTH) throw new BadRequestError(`content is at most ${MAX_MESSAGE_LENGTH} characters`, { field: 'content', reason: 'TOO_LONG' });
  const found = checkModel(input.modelId, catalog) ?? catalog.default;
  const history = input.messageHistory ?? null;
  if (history && history.length > CHAT_LIMITS.messagesPerSave) throw new BadRequestError(`messageHistory holds at most ${CHAT_LIMITS.messagesPerSave} messages`, { field: 'messageHistory', reason: 'TOO_MANY' });
  history?.forEach((m, i) => {
    if (m.content.length > MAX_MESSAGE_LENGTH) throw new BadRequestError(`a message is at most ${MAX_MESSAGE_LENGTH} characters`, { field: `messageHistory.${i}.content`, reason: 'TOO_LONG' });
  });
  const key = checkKey(input.clientMessageId);
  return { content, model: tuned(found, input.tuning), sessionId: input.sessionId ?? null, history, key, wait: !input.stream, unstored: input.unstored === true };
}

/** The model a request names (UNKNOWN_MODEL when none has the id); null when it names none. */
export function checkModel(modelId: string | null | undefined, catalog: ModelCatalog): CatalogModel | null {
  if (!modelId) return null;
  const found = catalog.find(modelId);
  if (!found) throw new BadRequestError(`Unknown model ${modelId}`, { field: 'modelId', reason: 'UNKNOWN_MODEL' });
  return found;
}

/** The idempotency key, 1 to 64 characters; null when there is none. */
export function checkKey(clientMessageId: string | null | undefined): string | null {
  const key = clientMessageId ?? null;
  if (key !== null && (key.length < 1 || key.length > 64)) throw new BadRequestError('clientMessageId is 1 to 64 characters', { field: 'clientMessageId', reason: 'LENGTH' });
  return key;
}

/** The model with a request's own settings: an operator's maxTokens is a cap the caller can only lower. */
function tuned(model: CatalogModel, tuning: SendMessageInput['tuning']): CatalogModel {
  const maxTokens = tuning?.maxTokens ?? null;
  const temperature = tuning?.temperature ?? null;
  if (maxTokens === null && temperature === null) return model;
  return {
    ...model,
    maxTokens: maxTokens === null ? model.maxTokens : Math.min(maxTokens, model.maxTokens ?? maxTokens),
    temperature: temperature ?? model.temperature,
  };
}

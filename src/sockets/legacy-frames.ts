import type { RawData } from 'ws';
import { BadRequestError } from '../core/errors';
import { Role } from '../db/entities/message.entity';
import { checkText } from '../core/text';
import type { ReplyEvent as ReplyEventPayload } from '../replies/reply-event';
import type { SendMessageInput } from '../replies/reply.service';

/**
 * The JSON frames of the legacy `/v1/ws` protocol, kept apart from the socket so that their
 * parsing and shapes can be tested without a server.
 */

export type Data = Record<string, unknown>;

/** An incoming frame before validation: `type`, `data`, and the older clients' top-level `token`. */
export interface Frame {
  type?: unknown;
  token?: unknown;
  apiKey?: unknown;
  data?: unknown;
}

export const isObject = (v: unknown): v is Data => typeof v === 'object' && v !== null && !Array.isArray(v);
export const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

export function textOf(raw: RawData): string {
  if (Buffer.isBuffer(raw)) return raw.toString('utf8');
  return (Array.isArray(raw) ? Buffer.concat(raw) : Buffer.from(raw)).toString('utf8');
}

/** The frame, or undefined when it is not a JSON object. */
export function parseFrame(raw: RawData): Frame | undefined {
  try {
    const parsed: unknown = JSON.parse(textOf(raw));
    return isObject(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** An optional string field of a message frame: absent/null, or a string (else BAD_REQUEST). */
export function optionalString(data: Data, field: string): string | undefined {
  const value = data[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new BadRequestError(`${field} must be a string`, { field, reason: 'INVALID' });
  return value;
}

/**
 * A `message` frame's data as sendMessage input (streaming; `chatId` is the session). The
 * service checks the content itself (EMPTY, TOO_LONG); only the JSON shapes are checked here.
 */
export function messageInput(data: unknown): SendMessageInput {
  if (!isObject(data)) throw new BadRequestError('A message frame carries data: {content, chatId?}', { field: 'data', reason: 'REQUIRED' });
  if (typeof data.content !== 'string') throw new BadRequestError('content must be a string', { field: 'content', reason: 'REQUIRED' });
  const role = optionalString(data, 'role');
  // Only the user speaks here; an assistant or system message would forge the AI's side.
  if (role !== undefined && role.toLowerCase() !== 'user') throw new BadRequestError('role must be "user"', { field: 'role', reason: 'UNSUPPORTED' });
  const fields = { content: data.content, chatId: optionalString(data, 'chatId'), modelId: optionalString(data, 'modelId'), clientMessageId: optionalString(data, 'clientMessageId') };
  // The same text rule as GraphQL and REST (INVALID_TEXT), named by the frame's own fields.
  checkText(fields);
  return { content: fields.content, sessionId: fields.chatId, modelId: fields.modelId, clientMessageId: fields.clientMessageId, stream: true };
}

/** One reply event as the `message` frame data; the done one adds content, aiGenerated, status and usage. */
export function replyFrame(e: ReplyEventPayload): Data {
  const frame: Data = { chatId: e.sessionId, messageId: e.messageId, seq: e.seq, delta: e.delta, done: e.done };
  // Only reasoning models send reasoning; other clients' frames stay as they were.
  if (e.reasoningDelta) frame.reasoningDelta = e.reasoningDelta;
  if (e.done && e.message) {
    const m = e.message;
    frame.content = m.content;
    // Clients label AI text ("AI生成"); every transport says which text the AI wrote.
    frame.aiGenerated = m.role === Role.ASSISTANT;
    if (m.reasoning) frame.reasoning = m.reasoning;
    frame.status = m.status;
    if (m.finishReason) frame.finishReason = m.finishReason;
    // snake_case like the protocol's first clients and /v1/ai/message; zeros when nothing was counted.
    frame.usage = { prompt_tokens: m.promptTokens ?? 0, completion_tokens: m.completionTokens ?? 0, total_tokens: m.totalTokens ?? 0 };
  }
  if (e.error) frame.error = e.error;
  return frame;
}

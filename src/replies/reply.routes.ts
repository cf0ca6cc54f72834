import { SendMessageDocument, type SendMessageMutation, SpeechToTextDocument } from '../rest/generated/graphql';
import { defineRoute } from '../rest/route';
import { int, str } from '../rest/schemas';
import { replyEventsRoute, sendMessageStream } from './reply-stream.routes';

const ROLE_FROM_REST = { user: 'USER', assistant: 'ASSISTANT', system: 'SYSTEM' } as const;
type RestHistory = Array<{ role: keyof typeof ROLE_FROM_REST; content: string; timestamp?: string }>;

const historySchema = {
  type: 'array',
  items: { type: 'object', required: ['role', 'content'], properties: { role: { type: 'string', enum: ['user', 'assistant', 'system'] }, content: str, timestamp: str } },
};
const usageSchema = { type: 'object', properties: { prompt_tokens: int, completion_tokens: int, total_tokens: int, reasoning_tokens: { type: ['integer', 'null'] }, estimated: { type: 'boolean' } } };
const nullableStr = { type: ['string', 'null'] };
const metadataSchema = { type: 'object', properties: { modelType: str, responseLength: int, tokensUsed: int } };

/** The schema of `aiData`. */
export const aiDataSchema = {
  type: 'object',
  properties: { text: str, aiGenerated: { type: 'boolean' }, reasoning: nullableStr, status: str, finishReason: nullableStr, usage: usageSchema, model: str, metadata: metadataSchema, sessionId: str, messageId: str },
};
export const streamFlag = { type: 'boolean', description: 'true: answer a text/event-stream (as does Accept: text/event-stream)' };

type Sent = SendMessageMutation['sendMessage'];

/** POST /v1/chat/message's data (also its stream's done event). */
const chatData = ({ sendMessage: s }: SendMessageMutation) => ({
  sessionId: s.sessionId,
  messageId: s.messageId,
  reply: { content: s.reply.content, aiGenerated: s.reply.aiGenerated, time: s.reply.timestamp },
});

/** POST /v1/ai/message's data without metadata: also the done event of GET /v1/chat/messages/{messageId}/events. */
const aiReplyData = ({ reply, sessionId, messageId }: Omit<Sent, 'metadata'>) => {
  const usage = reply.usage ?? { promptTokens: 0, completionTokens: 0, totalTokens: 0, reasoningTokens: null, estimated: true };
  return {
    text: reply.content,
    aiGenerated: reply.aiGenerated,
    reasoning: reply.reasoning ?? null,
    status: reply.status.toLowerCase(),
    finishReason: reply.finishReason?.toLowerCase() ?? null,
    usage: { prompt_tokens: usage.promptTokens, completion_tokens: usage.completionTokens, total_tokens: usage.totalTokens, reasoning_tokens: usage.reasoningTokens ?? null, estimated: usage.estimated },
    model: reply.model ?? '',
    sessionId,
    messageId,
  };
};

/** POST /v1/ai/message's data (also its stream's done event, and the data of the routes of versions.routes.ts). */
export const aiData = ({ sendMessage }: SendMessageMutation) => ({ ...aiReplyData(sendMessage), metadata: sendMessage.metadata });

const speechRoute = defineRoute({
  method: 'POST',
  path: '/v1/ai/speech-to-text',
  summary: 'Speech to text: multipart/form-data with the file in "audio" (mp3, wav, m4a, aac, webm, ogg) and an optional "language" field (omitted or auto: detected)',
  operation: SpeechToTextDocument,
  upload: 'audio',
  schema: {
    querystring: { type: 'object', properties: { language: str } },
    data: { type: 'object', properties: { text: str, language: { type: ['string', 'null'] }, durationSeconds: { type: ['number', 'null'] } } },
  },
  toVariables: ({ body, query, files }) => ({
    audio: files.audio,
    language: (body as Record<string, string>).language ?? (query.language as string | undefined),
  }),
  toData: (data) => data.speechToText,
});

/** The legacy chat endpoint and the older AI service endpoint, both on sendMessage (waiting for the reply, or streaming it), and following a reply. */
export const AI_ROUTES = [
  speechRoute,
  defineRoute({
    method: 'POST',
    path: '/v1/chat/message',
    summary: 'Send a message and get the AI reply',
    operation: SendMessageDocument,
    schema: {
      body: { type: 'object', required: ['content'], properties: { content: str, sessionId: str, modelId: str, clientMessageId: str, stream: streamFlag } },
      data: { type: 'object', properties: { sessionId: str, messageId: str, reply: { type: 'object', properties: { content: str, aiGenerated: { type: 'boolean' }, time: str } } } },
    },
    toVariables: ({ body, stream }) => {
      const b = body as { content: string; sessionId?: string; modelId?: string; clientMessageId?: string };
      return { input: { content: b.content, sessionId: b.sessionId, modelId: b.modelId, clientMessageId: b.clientMessageId, stream } };
    },
    toData: chatData,
    stream: sendMessageStream(chatData),
  }),
  defineRoute({
    method: 'POST',
    path: '/v1/ai/message',
    summary: 'Send a message with optional history and model',
    operation: SendMessageDocument,
    schema: {
      body: { type: 'object', required: ['message'], properties: { message: str, modelId: str, messageHistory: historySchema, sessionId: str, clientMessageId: str, stream: streamFlag } },
      data: aiDataSchema,
    },
    toVariables: ({ body, stream }) => {
      const b = body as { message: string; modelId?: string; messageHistory?: RestHistory; sessionId?: string; clientMessageId?: string };
      return {
        input: {
          content: b.message,
          modelId: b.modelId,
          sessionId: b.sessionId,
          clientMessageId: b.clientMessageId,
          messageHistory: b.messageHistory?.map((m) => ({ role: ROLE_FROM_REST[m.role], content: m.content, timestamp: m.timestamp })),
          stream,
        },
      };
    },
    toData: aiData,
    stream: sendMessageStream(aiData),
  }),
  replyEventsRoute(aiReplyData),
];

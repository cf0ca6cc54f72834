import { EditMessageDocument, RegenerateReplyDocument } from '../rest/generated/graphql';
import { defineRoute } from '../rest/route';
import { str } from '../rest/schemas';
import { aiData, aiDataSchema, streamFlag } from './reply.routes';
import { sendMessageStream } from './reply-stream.routes';

/*
 * Versions of replies over /v1: both routes answer as POST /v1/ai/message does (its data, or
 * with "stream": true its event stream). Their operations alias the mutation to
 * `sendMessage`, so that route's data and stream serve them unchanged.
 */

const params = { type: 'object', required: ['id'], properties: { id: str } };
type Body = { modelId?: string; clientMessageId?: string };

export const VERSION_ROUTES = [
  defineRoute({
    method: 'POST',
    path: '/v1/chat/messages/:id/regenerate',
    summary: 'A new AI reply to the same user message (id: a reply, or the user message), shown instead of the earlier ones; answered as POST /v1/ai/message',
    operation: RegenerateReplyDocument,
    schema: { params, body: { type: 'object', properties: { modelId: str, clientMessageId: str, stream: streamFlag } }, data: aiDataSchema },
    toVariables: ({ params: p, body, stream }) => {
      const b = (body ?? {}) as Body;
      return { input: { messageId: p.id, modelId: b.modelId, clientMessageId: b.clientMessageId, stream } };
    },
    toData: aiData,
    stream: sendMessageStream(aiData),
  }),
  defineRoute({
    method: 'POST',
    path: '/v1/chat/messages/:id/edit',
    summary: 'A new version of one of your messages (id) with the new content, and a new AI reply to it; answered as POST /v1/ai/message',
    operation: EditMessageDocument,
    schema: { params, body: { type: 'object', required: ['content'], properties: { content: str, modelId: str, clientMessageId: str, stream: streamFlag } }, data: aiDataSchema },
    toVariables: ({ params: p, body, stream }) => {
      const b = body as Body & { content: string };
      return { input: { messageId: p.id, content: b.content, modelId: b.modelId, clientMessageId: b.clientMessageId, stream } };
    },
    toData: aiData,
    stream: sendMessageStream(aiData),
  }),
];

import { isUpstreamReason, UpstreamError } from '../core/errors';
import { RestReplyEventsDocument, type RestReplyEventsSubscription, type SendMessageMutation } from '../rest/generated/graphql';
import { defineRoute, defineStream, type RestRoute, type StreamEvent } from '../rest/route';
import { int, str } from '../rest/schemas';

/*
 * The /v1 event streams of replies, for clients without WebSockets or EventSource
 * (mini-programs read `wx.request({ enableChunked: true })` chunks). They follow the
 * `replyStream` subscription on the schema, with the request's context, rather than calling
 * the reply service: its resolver then decides who may follow what, as for graphql-ws.
 */

type Sent = SendMessageMutation['sendMessage'];
type Followed = RestReplyEventsSubscription['replyStream'];
type Done = Followed & { message: NonNullable<Followed['message']> };

const DELTA_DATA = '`event: delta`, data `{messageId, sessionId, seq, delta, reasoningDelta}` (seq 1, 2, ...) for each piece';
const ERROR_DATA = '`event: error`, data `{code, message, details}` as in the error envelope, when the reply fails; `: ping` comments while nothing else is sent';

const deltaEvent = (e: Followed): StreamEvent => ({ event: 'delta', data: { messageId: e.messageId, sessionId: e.sessionId, seq: e.seq, delta: e.delta, reasoningDelta: e.reasoningDelta } });

/**
 * The done event as a stream ends, or the error a waiting sendMessage throws for it (a failed
 * reply is UPSTREAM_ERROR there too), so a streamed and a waited reply end alike.
 */
function ending(e: Followed, toData: (done: Done) => unknown): StreamEvent {
  if (!e.message || e.message.status === 'FAILED') {
    const reason = e.error?.reason;
    throw new UpstreamError(e.error?.message ?? 'The AI reply failed', { reason: reason && isUpstreamReason(reason) ? reason : 'REPLY_FAILED' });
  }
  return { event: 'done', data: toData({ ...e, message: e.message }), last: true };
}

/**
 * `stream` of the sendMessage routes: follows the reply sendMessage started (it answered at
 * once, `stream: true`); the done event's data is the route's own `toData` of the finished
 * reply, so it equals what the route answers without streaming.
 */
export function sendMessageStream(toData: (data: SendMessageMutation) => unknown) {
  return defineStream<SendMessageMutation, RestReplyEventsSubscription, { messageId: string }>({
    follow: RestReplyEventsDocument,
    followVariables: (data) => ({ messageId: data!.sendMessage.messageId }),
    toEvent: ({ replyStream: e }, started) => (e.done ? ending(e, (done) => toData({ sendMessage: finished(started!.sendMessage, done) })) : deltaEvent(e)),
    describe: `With "stream": true or Accept: text/event-stream: ${DELTA_DATA}; then \`event: done\` with this route's usual data; or ${ERROR_DATA}.`,
  });
}

/** sendMessage's answer once its reply is done; metadata follows the reply as the service's own (reply.service.ts `payload`). */
function finished(started: Sent, done: Done): Sent {
  const reply = done.message;
  return { ...started, reply, metadata: { ...started.metadata, responseLength: reply.content.length, tokensUsed: reply.usage?.totalTokens ?? 0 } };
}

/**
 * GET /v1/chat/messages/{messageId}/events: the catch-up twin of `replyStream`. The done
 * data is /v1/ai/message's data without `metadata` (`aiData`): following a reply does not
 * tell its model's catalog type.
 */
export function replyEventsRoute(aiData: (reply: Omit<Sent, 'metadata'>) => unknown): RestRoute {
  return defineRoute({
    method: 'GET',
    path: '/v1/chat/messages/:messageId/events',
    summary:
      'Follow a reply (catch up after a dropped stream): text/event-stream of the deltas after afterSeq, then `event: done` with the /v1/ai/message data without metadata ({text, aiGenerated, reasoning, status, finishReason, usage, model, sessionId, messageId}); a finished reply gives just the done event',
    operation: RestReplyEventsDocument,
    schema: {
      params: { type: 'object', required: ['messageId'], properties: { messageId: str } },
      querystring: { type: 'object', properties: { afterSeq: { ...int, minimum: 0 } } },
    },
    toData: () => null,
    stream: defineStream<undefined, RestReplyEventsSubscription, { messageId: string; afterSeq?: number }>({
      only: true,
      follow: RestReplyEventsDocument,
      followVariables: (_data, { params, query }) => ({ messageId: params.messageId, afterSeq: query.afterSeq as number | undefined }),
      toEvent: ({ replyStream: e }) => (e.done ? ending(e, (done) => aiData({ sessionId: done.sessionId, messageId: done.messageId, reply: done.message })) : deltaEvent(e)),
      describe: `${DELTA_DATA} after afterSeq; then \`event: done\` (see the summary); or ${ERROR_DATA}.`,
    }),
  });
}

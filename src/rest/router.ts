import type { ApolloServer } from '@apollo/server';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type GraphQLFormattedError, type GraphQLSchema, subscribe, validate } from 'graphql';
import type { AppContext } from '../context';
import { describeError, type ErrorDescription } from '../core/errors';
import { describeFormattedError, describeGraphqlError } from '../graphql/format-error';
import { openEventStream } from '../http/event-stream';
import { sendRestError } from '../http/http-errors';
import { failure, success } from './envelope';
import { readSingleUpload } from './multipart';
import type { RestRequest, RestRoute, RouteStream, StreamEvent } from './route';
import { strictValidatorCompiler } from './validation';

const errorEnvelopeSchema = {
  type: 'object',
  properties: {
    code: { type: 'integer' },
    message: { type: 'string' },
    data: { type: 'null' },
    error: {
      type: 'object',
      properties: {
        code: { type: 'integer' },
        message: { type: 'string' },
        details: { type: 'object', properties: { field: { type: 'string' }, reason: { type: 'string' }, suspendedUntil: { type: 'string' } } },
      },
    },
  },
};

/** Sends the first GraphQL error as a REST error envelope with the matching HTTP status. */
export function sendGraphqlError(reply: FastifyReply, error: GraphQLFormattedError): FastifyReply {
  return sendRestError(reply, describeFormattedError(error));
}

/** What routes with `stream` need: Apollo runs no subscriptions, so they run on the schema itself. */
export interface StreamOptions {
  schema: GraphQLSchema;
  /** A `: ping` comment goes out after this long without an event. */
  keepAliveMs: number;
}

const EVENT_STREAM = 'text/event-stream';

/** A streaming route streams when it only streams, the JSON body says `"stream": true`, or the client accepts an event stream. */
function wantsStream(route: RestRoute, req: FastifyRequest): boolean {
  if (!route.stream) return false;
  const body = req.body;
  const streamFlag = typeof body === 'object' && body !== null && (body as { stream?: unknown }).stream === true;
  return route.stream.only === true || streamFlag || (req.headers.accept ?? '').includes(EVENT_STREAM);
}

/** The 200 response of the OpenAPI description: the envelope, and the event stream a streaming route may answer instead. */
function okResponse(route: RestRoute, envelope: object): object {
  if (!route.stream) return envelope;
  const events = { [EVENT_STREAM]: { schema: { type: 'string', description: route.stream.describe } } };
  return { description: 'OK', content: route.stream.only ? events : { 'application/json': { schema: envelope }, ...events } };
}

/** An `event: error`'s data: the error envelope's `error` object. */
const errorEvent = (d: ErrorDescription): StreamEvent => ({ event: 'error', data: failure(d.status, d.message, d.details).error, last: true });

/**
 * Follows a streaming route's subscription with the request's context (so its resolver checks
 * who may follow what) and answers each result as an event. A refusal before anything was
 * sent is the usual error envelope. The client going away only stops the following: the work
 * behind it (a reply) is not the request's and goes on.
 */
async function sendStream(req: FastifyRequest, reply: FastifyReply, stream: RouteStream, data: unknown, restReq: RestRequest, contextValue: AppContext, opts: StreamOptions): Promise<FastifyReply> {
  const variableValues = stream.followVariables(data, restReq);
  const events = await subscribe({ schema: opts.schema, document: stream.follow, variableValues, contextValue });
  if (!(Symbol.asyncIterator in events)) {
    const d = describeGraphqlError(events.errors?.[0]);
    if (d.internal) req.log.error({ err: events.errors?.[0], requestId: req.id }, 'unexpected error');
    return sendRestError(reply, d);
  }
  const es = openEventStream(reply, { keepAliveMs: opts.keepAliveMs });
  const gone = new Promise<undefined>((resolve) => es.signal.addEventListener('abort', () => resolve(undefined), { once: true }));
  const toEvent = (result: { data?: unknown; errors?: readonly unknown[] }): StreamEvent => {
    if (result.errors?.length) return errorEvent(describeGraphqlError(result.errors[0]));
    try {
      return stream.toEvent(result.data, data, restReq);
    } catch (err) {
      return errorEvent(describeError(err));
    }
  };
  try {
    for (;;) {
      const next = events.next();
      next.catch(() => undefined); // left pending when the client goes away
      const result = await Promise.race([next, gone]);
      if (!result || result.done || es.closed) break;
      const e = toEvent(result.value);
      es.send(e.event, e.data);
      if (e.last) break;
    }
  } catch (err) {
    req.log.error({ err, requestId: req.id }, 'unexpected error while streaming');
    es.send('error', errorEvent(describeError(err)).data);
  } finally {
    es.end();
    // Releases the subscription. Not awaited: a follower waiting for its next event only
    // stops when that event comes (a generator's return() waits for its pending next()).
    void events.return(undefined).catch(() => undefined);
  }
  return reply;
}

/**
 * Mounts the route table: each route runs its GraphQL operation through Apollo (the same
 * pipeline, plugins and formatError as POST /graphql) and wraps the result in the envelope.
 * Routes with `stream` may answer an event stream instead (see RouteStream).
 */
export function registerRestRoutes(
  app: FastifyInstance,
  apollo: ApolloServer<AppContext>,
  routes: readonly RestRoute[],
  buildContext: (req: FastifyRequest) => Promise<AppContext>,
  opts: { maxUploadBytes: number } & StreamOptions,
): void {
  for (const route of routes) {
    // Fails at start, not on a request, when a followed subscription no longer fits the schema.
    const invalid = route.stream && validate(opts.schema, route.stream.follow);
    if (invalid && invalid.length) throw invalid[0];
    app.route({
      method: route.method,
      url: route.path,
      config: { rateLimited: true },
      validatorCompiler: strictValidatorCompiler,
      schema: {
        summary: route.summary,
        tags: ['v1'],
        ...(route.public ? {} : { security: [{ bearerAuth: [] }, { apiKey: [] }] }),
        ...(route.schema?.params ? { params: route.schema.params } : {}),
        ...(route.schema?.querystring ? { querystring: route.schema.querystring } : {}),
        ...(route.schema?.body ? { body: route.schema.body } : {}),
        ...(route.upload ? { consumes: ['multipart/form-data'] } : {}),
        response: {
          200: okResponse(route, {
            type: 'object',
            properties: { code: { type: 'integer' }, message: { type: 'string' }, data: route.schema?.data ?? {} },
          }),
          '4XX': errorEnvelopeSchema,
          '5XX': errorEnvelopeSchema,
        },
      },
      handler: async (req, reply) => {
        const restReq: RestRequest = {
          params: (req.params ?? {}) as Record<string, string>,
          query: (req.query ?? {}) as Record<string, unknown>,
          body: req.body,
          files: {},
          stream: wantsStream(route, req),
        };
        if (route.upload) {
          const { upload, fields, release } = await readSingleUpload(req.raw, route.upload, opts.maxUploadBytes);
          reply.raw.once('close', release);
          restReq.body = fields;
          restReq.files[route.upload] = upload;
        }
        const contextValue = await buildContext(req);
        if (route.stream?.only) return sendStream(req, reply, route.stream, undefined, restReq, contextValue, opts);
        const variables = route.toVariables ? route.toVariables(restReq) : {};
        const res = await apollo.executeOperation({ query: route.operation, variables }, { contextValue });
        if (res.body.kind !== 'single') throw new Error('REST operations must not stream');
        const { data, errors } = res.body.singleResult;
        if (errors?.length) return sendGraphqlError(reply, errors[0]);
        if (route.stream && restReq.stream) return sendStream(req, reply, route.stream, data, restReq, contextValue, opts);
        const headers = route.headers?.(data as never) ?? {};
        for (const [name, value] of Object.entries(headers)) if (value !== undefined) reply.header(name, value);
        return reply.send(success(route.toData(data as never, restReq), route.message));
      },
    });
  }
}

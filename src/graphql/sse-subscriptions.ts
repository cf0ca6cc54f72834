import type { FastifyReply, FastifyRequest } from 'fastify';
import { type ExecutionResult, subscribe } from 'graphql';
import { createHandler } from 'graphql-sse/lib/use/fastify';
import type { AppContext } from '../context';
import { checkParams, formatResult, type HttpSubscriptionOptions, revokedError, watchViewer } from './http-subscriptions';

/*
 * GraphQL over Server-Sent Events (the graphql-sse protocol), distinct connections mode only:
 * each POST with `Accept: text/event-stream` is one operation and one response. Queries and
 * mutations sent so run here too (graphql-sse clients send everything this way). The
 * single-connection mode (a PUT reserving a stream) is not routed: nothing on the server
 * holds streams between requests.
 */

/** Whether the Accept header asks for an event stream. */
export function acceptsEventStream(accept: string | undefined): boolean {
  return !!accept && /(^|,)\s*text\/event-stream\s*(;|,|$)/i.test(accept);
}

/** graphql-sse's context type is an index signature; ours is an interface. */
type SseContext = AppContext & Record<PropertyKey, unknown>;

/**
 * `source`, ending with `{ errors: [revoked] }` when the viewer's credential is revoked. Not a
 * generator: an async generator's `return()` waits for a pending `next()`, and the
 * subscription must be released as soon as the client goes away or the credential goes.
 */
function untilRevoked(opts: HttpSubscriptionOptions, ctx: AppContext, source: AsyncIterator<ExecutionResult>): AsyncGenerator<ExecutionResult> {
  let last: ExecutionResult | undefined;
  let stopped = false;
  let wake = () => {};
  const stop = new Promise<void>((resolve) => (wake = resolve));
  const release = () => {
    if (stopped) return;
    stopped = true;
    unwatch();
    wake();
    void source.return?.();
  };
  const unwatch = watchViewer(opts.deps, ctx, (reason) => {
    last = { errors: [revokedError(reason, opts.schema)] } as unknown as ExecutionResult; // already formatted
    release();
  });
  const ended = async (): Promise<IteratorResult<ExecutionResult, undefined>> => {
    const value = last;
    last = undefined;
    return value ? { done: false, value } : { done: true, value: undefined };
  };
  const iterator: AsyncIterableIterator<ExecutionResult> & Pick<AsyncGenerator<ExecutionResult>, 'return' | 'throw'> = {
    next: async () => {
      if (stopped) return ended();
      const next = await Promise.race([source.next(), stop.then(() => undefined)]);
      if (!next || stopped) return ended();
      if (next.done) release();
      return next;
    },
    return: async () => {
      last = undefined;
      release();
      return { done: true, value: undefined };
    },
    throw: async (err: unknown) => {
      release();
      throw err;
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  // graphql-sse asks for an AsyncGenerator; it uses only next/return/throw and iteration.
  return iterator as AsyncGenerator<ExecutionResult>;
}

/** POST /graphql with `Accept: text/event-stream`: the operation runs through graphql-sse. */
export function sseSubscriptions(opts: HttpSubscriptionOptions): (req: FastifyRequest, reply: FastifyReply) => Promise<void> {
  const handler = createHandler<SseContext>({
    schema: opts.schema,
    onSubscribe: async (req, params) => {
      // Refused operations are one `next` event with the errors, then `complete`, as graphql-sse
      // answers validation errors (it takes a result for one only when it has `data`).
      const checked = checkParams(opts, params);
      if ('errors' in checked) return { data: null, errors: checked.errors };
      const contextValue = (await opts.context(req.raw)) as SseContext;
      return { schema: opts.schema, document: checked.document, operationName: params.operationName, variableValues: params.variables, contextValue };
    },
    subscribe: async (args) => {
      const result = await subscribe(args);
      return Symbol.asyncIterator in result ? untilRevoked(opts, args.contextValue, result) : result;
    },
    onNext: (_ctx, _req, result) => formatResult(result, opts),
  });
  return async (req, reply) => {
    opts.streamed?.(reply);
    reply.hijack();
    // The library takes the stream path only for this exact value (any list of types goes to its single-connection mode).
    req.headers.accept = 'text/event-stream';
    try {
      await handler(req, reply);
    } catch (err) {
      opts.deps.logger.error({ err, requestId: req.id }, 'graphql-sse request failed');
      if (reply.raw.headersSent) return void reply.raw.end(); // mid-stream: the client sees the stream end without `complete`
      reply.raw.writeHead(500, { 'content-type': 'application/json; charset=utf-8' });
      reply.raw.end(JSON.stringify({ errors: [{ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR', status: 500 } }] }));
    }
  };
}

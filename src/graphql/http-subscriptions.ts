import type { FastifyReply, FastifyRequest } from 'fastify';
import { type DocumentNode, type ExecutionResult, getOperationAST, GraphQLError, type GraphQLFormattedError, type GraphQLSchema, subscribe, type ValidationRule } from 'graphql';
import type { AppContext } from '../context';
import { AppError, UnauthenticatedError } from '../core/errors';
import type { AppDeps } from '../deps';
import { watchCredential } from '../sockets/credential-watch';
import { describeGraphqlError, formatError } from './format-error';
import { checkOperationCost, jsonBytes, parseAndValidate, responseTooLarge } from './limits';
import { requestErrors } from './operation-checks';

/*
 * Subscriptions over a plain POST /graphql response, for clients without WebSockets: Apollo's
 * multipart protocol here (what Apollo Client's HttpLink sends for a subscription), and
 * graphql-sse in sse-subscriptions.ts. Both run an operation as graphql-ws does: the same
 * checks and limits, the request's context, error shapes, and the stream ends when the
 * viewer's credential is revoked.
 */

export interface HttpSubscriptionOptions {
  deps: AppDeps;
  schema: GraphQLSchema;
  validationRules: readonly ValidationRule[];
  /** The HTTP request's context (http/identity.ts), as for queries. */
  context: (req: FastifyRequest) => Promise<AppContext>;
  /** Told of each response that becomes a stream (shutdown cuts those still open). */
  streamed?: (reply: FastifyReply) => void;
}

/** The GraphQL parameters of a POST body; undefined when it has no query (Apollo explains what is wrong). */
export interface OperationParams {
  query: string;
  operationName?: string | null;
  variables?: Record<string, unknown> | null;
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

export function paramsOf(body: unknown): OperationParams | undefined {
  if (!isRecord(body) || typeof body.query !== 'string') return undefined;
  const { query, operationName, variables } = body;
  return {
    query,
    operationName: typeof operationName === 'string' ? operationName : undefined,
    variables: isRecord(variables) ? variables : undefined,
  };
}

/**
 * What graphql-ws checks before it runs an operation (parse, validation rules, cost, the
 * operation and variables), in the same order, with the same errors.
 */
export function checkParams(opts: HttpSubscriptionOptions, params: OperationParams): { document: DocumentNode } | { errors: readonly GraphQLError[] } {
  const parsed = parseAndValidate(opts.schema, params.query, opts.validationRules);
  if ('errors' in parsed) return parsed;
  const overBudget = checkOperationCost(opts.schema, parsed.document, params.operationName, params.variables);
  if (overBudget) return { errors: [overBudget] };
  const refused = requestErrors(opts.schema, parsed.document, params.operationName, params.variables);
  return refused ? { errors: refused } : parsed;
}

/**
 * A result as it goes out: errors in our shape, and an error in place of one over the size
 * limit. The formatted errors keep graphql-js's type because graphql-sse types them so; it
 * only serialises them.
 */
export function formatResult<R extends { errors?: readonly GraphQLError[] }>(result: R, opts: HttpSubscriptionOptions): R | ExecutionResult {
  const format = (errors: readonly GraphQLError[]) => errors.map((e) => (e instanceof GraphQLError ? formatError(e.toJSON(), e, opts.schema) : e)) as unknown as GraphQLError[];
  const maxBytes = opts.deps.config.timings.graphql.maxResponseBytes;
  // Clients only see a generic message for these, so the log keeps what happened (as Apollo's plugin does for HTTP).
  for (const e of result.errors ?? []) if (e instanceof GraphQLError && describeGraphqlError(e).internal) opts.deps.logger.error({ err: e.originalError ?? e }, 'unexpected error');
  if (jsonBytes(result, maxBytes) > maxBytes) return { errors: format([responseTooLarge(maxBytes)]) };
  return result.errors?.length ? { ...result, errors: format(result.errors) } : result;
}

/** The error a stream ends with when its credential is revoked or expires (`reason` says which). */
export function revokedError(reason: string, schema: GraphQLSchema): GraphQLFormattedError {
  const error = new GraphQLError(`${reason}: the subscription ended`, { originalError: new UnauthenticatedError(`${reason}: the subscription ended`) });
  return formatError(error.toJSON(), error, schema);
}

/**
 * Calls `onRevoked` when the viewer's credential is revoked (logout, key revocation, on any
 * instance) or expires, as graphql-ws closes its socket; returns the function that stops
 * watching. The credential is checked once more after the watch starts: a revocation between
 * the request's check and now would otherwise be missed.
 */
export function watchViewer(deps: AppDeps, ctx: AppContext, onRevoked: (reason: string) => void): () => void {
  const viewer = ctx.viewer;
  if (!viewer) return () => undefined;
  const unwatch = watchCredential(deps.authenticator.sessions, viewer, onRevoked);
  deps.authenticator.recheck(viewer).catch((err: unknown) => {
    if (err instanceof AppError) onRevoked(err.message); // else the store is down: the watch still holds
  });
  return unwatch;
}

/** The multipart media type of Apollo's subscription protocol; the boundary is ours to pick. */
const MULTIPART_TYPE = 'multipart/mixed;boundary="graphql";subscriptionSpec="1.0"';
const DELIMITER = '\r\n--graphql';
const PART_HEADERS = '\r\ncontent-type: application/json; charset=utf-8\r\n\r\n';

/** Whether the Accept header asks for Apollo's multipart subscriptions (`subscriptionSpec=1.0`, quoted or not). */
export function acceptsMultipartSubscription(accept: string | undefined): boolean {
  return !!accept && /multipart\/mixed[^,]*;\s*subscriptionSpec\s*=\s*"?1\.0"?/i.test(accept);
}

interface MultipartStream {
  /** Sends one part; no-op once closed. */
  part(body: unknown): void;
  /** Sends the closing delimiter and ends the response. */
  end(): void;
  readonly closed: boolean;
  /** Called once, when the response ends or the client goes away. */
  onClose(listener: () => void): void;
}

/**
 * Takes over the response (keeping the headers plugins set: CORS, request id) and writes
 * parts. Each part is followed at once by the next delimiter, so a client reading up to a
 * delimiter gets it without waiting for the next one; `{}` goes out every `keepAliveMs`
 * while nothing else does (Apollo's heartbeat).
 */
function openMultipart(reply: FastifyReply, keepAliveMs: number): MultipartStream {
  const res = reply.raw;
  reply.hijack();
  res.writeHead(200, {
    ...(reply.getHeaders() as Record<string, string>),
    'content-type': MULTIPART_TYPE,
    'cache-control': 'no-cache, no-transform',
    'x-accel-buffering': 'no',
  });
  let closed = false;
  let lastWrite = Date.now();
  const listeners: Array<() => void> = [];
  const write = (chunk: string) => {
    if (closed) return;
    lastWrite = Date.now();
    res.write(chunk);
  };
  const timer = setInterval(() => {
    if (Date.now() - lastWrite >= keepAliveMs - 50) write(`${PART_HEADERS}{}${DELIMITER}`);
  }, Math.max(50, Math.floor(keepAliveMs / 2)));
  const finish = () => {
    if (closed) return;
    closed = true;
    clearInterval(timer);
    for (const listener of listeners) listener();
  };
  res.once('close', finish);
  write(DELIMITER);
  return {
    part: (body) => write(`${PART_HEADERS}${JSON.stringify(body)}${DELIMITER}`),
    end: () => {
      if (closed) return;
      write('--\r\n');
      finish();
      res.end();
    },
    get closed() {
      return closed;
    },
    onClose: (listener) => listeners.push(listener),
  };
}

/**
 * POST /graphql with Apollo's multipart Accept. Resolves false, having sent nothing, when the
 * body is not a subscription that passes the checks: Apollo then runs (or refuses) it as
 * usual, so queries and refused subscriptions get the answers they get today. Otherwise the
 * answer is a 200 stream of `{"payload": result}` parts; an error from the subscription's
 * start (UNAUTHENTICATED, NOT_FOUND) is one payload with errors, which Apollo Client reports
 * as GraphQL errors, as it does over graphql-ws. A revoked credential ends it with Apollo's
 * transport error, `{"payload": null, "errors": [...]}`.
 */
export function multipartSubscriptions(opts: HttpSubscriptionOptions): (req: FastifyRequest, reply: FastifyReply) => Promise<boolean> {
  return async (req, reply) => {
    const params = paramsOf(req.body);
    const checked = params && checkParams(opts, params);
    if (!params || !checked || 'errors' in checked || getOperationAST(checked.document, params.operationName)?.operation !== 'subscription') return false;
    const contextValue = await opts.context(req);
    opts.streamed?.(reply);
    const stream = openMultipart(reply, opts.deps.config.timings.streaming.keepAliveMs);
    const unwatch = watchViewer(opts.deps, contextValue, (reason) => {
      stream.part({ payload: null, errors: [revokedError(reason, opts.schema)] });
      stream.end();
    });
    stream.onClose(unwatch);
    try {
      const result = await subscribe({ schema: opts.schema, document: checked.document, operationName: params.operationName, variableValues: params.variables, contextValue });
      if (!(Symbol.asyncIterator in result)) {
        stream.part({ payload: formatResult(result, opts) });
        return true;
      }
      const iterator = result[Symbol.asyncIterator]();
      // Gone or revoked: release the subscription now, not at its next event.
      const release = () => void iterator.return?.();
      if (stream.closed) release();
      else stream.onClose(release);
      for (;;) {
        const next = await iterator.next();
        if (next.done || stream.closed) break;
        stream.part({ payload: formatResult(next.value, opts) });
      }
    } catch (err) {
      opts.deps.logger.error({ err, requestId: contextValue.requestId }, 'multipart subscription failed');
      const error = new GraphQLError('Internal server error', { originalError: err instanceof Error ? err : undefined });
      stream.part({ payload: null, errors: [formatError(error.toJSON(), error, opts.schema)] });
    } finally {
      stream.end();
    }
    return true;
  };
}

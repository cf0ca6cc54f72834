import type { WebsocketHandler } from '@fastify/websocket';
import { type ExecutionArgs, type GraphQLSchema, GraphQLError, type ValidationRule } from 'graphql';
import { makeHandler, type Extra } from 'graphql-ws/use/@fastify/websocket';
import { type AppContext, type ContextInput, createContext } from '../context';
import type { AppDeps } from '../deps';
import { AppError, BadRequestError } from '../core/errors';
import { limitKey } from '../limits/rate-limits';
import { watchCredential } from './credential-watch';
import { formatError } from '../graphql/format-error';
import { checkOperationCost, jsonBytes, parseAndValidate, responseTooLarge } from '../graphql/limits';
import { requestErrors } from '../graphql/operation-checks';

export interface GraphqlWsOptions {
  schema: GraphQLSchema;
  validationRules: readonly ValidationRule[];
  /** Checks the `connection_init` payload; returns the context input or throws to refuse. */
  connect: (payload: Record<string, unknown> | undefined, extra: Extra) => Promise<Omit<ContextInput, 'requestId'>>;
  createContext: (input: ContextInput) => AppContext;
  /** Runs before each operation (e.g. re-checks the credential); throwing refuses it. */
  beforeOperation?: (input: Omit<ContextInput, 'requestId'>, socket: Extra['socket']) => Promise<void>;
  /** A result larger than this is replaced by an error, as on HTTP. */
  maxResponseBytes: number;
}

/** Operations one socket may have running at once (each subscription holds server resources). */
export const MAX_OPERATIONS_PER_SOCKET = 25;

/** graphql-ws's close code for a refused credential ("Forbidden"). */
export const WS_CREDENTIAL_REFUSED = 4403;

type ConnectionState = {
  input?: Omit<ContextInput, 'requestId'>;
};

const toFormatted = (errors: readonly GraphQLError[], schema: GraphQLSchema) => errors.map((e) => formatError(e.toJSON(), e, schema));

/** graphql-ws on `/graphql`: same schema, limits, context and error shapes as HTTP. */
function createGraphqlWsHandler(opts: GraphqlWsOptions): WebsocketHandler {
  let nextOperation = 0;
  return ignoreClientFrameErrors(makeHandler<Record<string, unknown>, ConnectionState>({
    schema: opts.schema,
    onConnect: async (ctx) => {
      try {
        ctx.extra.input = await opts.connect(ctx.connectionParams, ctx.extra);
        return true;
      } catch {
        return false; // graphql-ws closes with 4403 Forbidden
      }
    },
    onSubscribe: async (ctx, id, payload): Promise<ExecutionArgs | readonly GraphQLError[]> => {
      // The library has already registered this one.
      if (Object.keys(ctx.subscriptions).length > MAX_OPERATIONS_PER_SOCKET) {
        const reason = `At most ${MAX_OPERATIONS_PER_SOCKET} operations at once per socket; complete some or open another socket`;
        return [new GraphQLError(reason, { originalError: new BadRequestError(reason, { reason: 'TOO_MANY_OPERATIONS' }) })];
      }
      const parsed = parseAndValidate(opts.schema, payload.query, opts.validationRules);
      if ('errors' in parsed) return parsed.errors;
      // The cost limit counts page sizes from the variables, so it is checked here, as Apollo does per request.
      const overBudget = checkOperationCost(opts.schema, parsed.document, payload.operationName, payload.variables);
      if (overBudget) return [overBudget];
      const refused = requestErrors(opts.schema, parsed.document, payload.operationName, payload.variables);
      if (refused) return refused;
      const input = ctx.extra.input ?? { viewer: null, ip: ctx.extra.request.ip };
      try {
        await opts.beforeOperation?.(input, ctx.extra.socket);
      } catch (err) {
        return [new GraphQLError(err instanceof Error ? err.message : 'Refused', { originalError: err instanceof Error ? err : undefined })];
      }
      return {
        schema: opts.schema,
        document: parsed.document,
        operationName: payload.operationName,
        variableValues: payload.variables,
        contextValue: opts.createContext({ ...input, requestId: `${ctx.extra.request.id}:${id}:${nextOperation++}` }),
      };
    },
    onError: (_ctx, _id, _payload, errors) => toFormatted(errors, opts.schema),
    onNext: (_ctx, _id, _payload, _args, result) => {
      if (jsonBytes(result, opts.maxResponseBytes) > opts.maxResponseBytes) return { errors: toFormatted([responseTooLarge(opts.maxResponseBytes)], opts.schema) };
      if (!result.errors?.length) return result;
      return { ...result, errors: toFormatted(result.errors as GraphQLError[], opts.schema) };
    },
  }));
}

/**
 * ws emits 'error' for a frame the client got wrong (over maxPayload, bad UTF-8, a protocol
 * violation: codes `WS_ERR_*`) and closes the socket itself with the matching code (1009…).
 * graphql-ws takes every 'error' for an internal one and prints it with console.error; these
 * are the client's, so they stop here. Any other error still reaches graphql-ws.
 */
function ignoreClientFrameErrors(handler: WebsocketHandler): WebsocketHandler {
  return function (this: ThisParameterType<WebsocketHandler>, socket, request) {
    const before = new Set(socket.listeners('error'));
    const result = handler.call(this, socket, request);
    for (const listener of socket.listeners('error')) {
      if (before.has(listener)) continue;
      socket.removeListener('error', listener as (err: Error) => void);
      socket.once('error', (err: Error & { code?: unknown }) => {
        if (!(typeof err.code === 'string' && err.code.startsWith('WS_ERR_'))) (listener as (err: Error) => void)(err);
      });
    }
    return result;
  };
}

/** The keys GraphiQL and clients use for credentials, matched whatever their case (HTTP headers typed in a Headers tab, or our own names). */
const INIT_KEYS = { authorization: ['authorization'], apiKey: ['apikey', 'x-api-key'] } as const;

/** The credentials in a `connection_init` payload: `Authorization`/`authorization`, and `X-API-Key`/`apiKey`, in any case. */
export function credentialsOfInit(payload: Record<string, unknown> | undefined): { authorization?: string; apiKey?: string } {
  const found: { authorization?: string; apiKey?: string } = {};
  for (const [key, value] of Object.entries(payload ?? {})) {
    if (typeof value !== 'string') continue;
    const lower = key.toLowerCase();
    if ((INIT_KEYS.authorization as readonly string[]).includes(lower)) found.authorization ??= value;
    else if ((INIT_KEYS.apiKey as readonly string[]).includes(lower)) found.apiKey ??= value;
  }
  return found;
}

/**
 * graphql-ws for the app: `connection_init` carries `authorization` or `apiKey`; the socket
 * closes (4403) when its credential is revoked or expires; each operation re-checks the
 * credential (it may have been revoked on another instance) and counts as one request.
 */
export function graphqlWsHandler(deps: AppDeps, schema: GraphQLSchema, validationRules: readonly ValidationRule[]): WebsocketHandler {
  return createGraphqlWsHandler({
    schema,
    validationRules,
    maxResponseBytes: deps.config.timings.graphql.maxResponseBytes,
    connect: async (payload, extra) => {
      const who = await deps.authenticator.identify(credentialsOfInit(payload));
      if (who.authError) throw who.authError;
      const socket = extra.socket;
      // Closed while the credential was checked: its 'close' may have fired already, and a
      // watch registered now would then never be removed. Nobody is left to hear the refusal.
      if (socket.readyState !== socket.OPEN) throw new Error('The socket closed during connection_init');
      if (who.viewer) {
        const unwatch = watchCredential(deps.authenticator.sessions, who.viewer, (reason) => socket.close(WS_CREDENTIAL_REFUSED, reason));
        socket.once('close', unwatch);
      }
      return { viewer: who.viewer, ip: extra.request.ip };
    },
    beforeOperation: async (input, socket) => {
      if (input.viewer) {
        try {
          await deps.authenticator.recheck(input.viewer);
        } catch (err) {
          socket.close(WS_CREDENTIAL_REFUSED, err instanceof AppError ? err.message : 'Unauthenticated');
          throw err;
        }
      }
      await deps.rateLimits.consume('request', limitKey({ userId: input.viewer?.userId, ip: input.ip }));
    },
    createContext: (input) => createContext(deps, input),
  });
}

import { randomUUID } from 'node:crypto';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginUsageReportingDisabled } from '@apollo/server/plugin/disabled';
import { fastifyApolloDrainPlugin, fastifyApolloHandler } from '@as-integrations/fastify';
import fastifyCors from '@fastify/cors';
import fastifyHelmet from '@fastify/helmet';
import fastifySwagger from '@fastify/swagger';
import fastifyWebsocket, { type WebSocket } from '@fastify/websocket';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { GraphQLSchema } from 'graphql';
import processRequest from 'graphql-upload/processRequest.mjs';
import Upload from 'graphql-upload/Upload.mjs';
import type { AppConfig } from '../config';
import { type AppContext, createContext, type Viewer } from '../context';
import type { AppDeps } from '../deps';
import { AppError, statusOf, type ErrorDetails } from '../core/errors';
import { registerGraphiqlAssets } from './graphiql';
import { registerHealthRoutes, type ReadinessCheck } from './health';
import { registerPaymentNotifyRoutes } from '../payments/payment-notify.routes';
import { failure } from '../rest/envelope';
import type { RestRoute } from '../rest/route';
import { stopReading } from '../rest/multipart';
import { registerRestRoutes } from '../rest/router';
import { errorHandlingPlugin, formatError } from '../graphql/format-error';
import { createArmor, PARSE_OPTIONS } from '../graphql/limits';
import type { Credentials, Identification } from '../accounts/authenticator';
import { credentialKey } from '../accounts/live-sessions';
import { limitKey } from '../limits/rate-limits';
import { runAt } from '../core/run-at';
import { createGraphqlWsHandler } from '../sockets/graphql-ws';
import { registerLegacySocket } from '../sockets/legacy-socket';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;
const WS_MAX_PAYLOAD_BYTES = 256 * 1024;

/** pino options: JSON logs with the request id, never credentials, codes or query strings. */
export function loggerOptions(config: AppConfig) {
  return {
    level: config.logLevel,
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers["x-api-key"]',
        'req.headers.cookie',
        '*.token',
        '*.code',
        '*.secret',
        '*.apiKey',
        '*.authorization',
        '*.session_key',
        '*.sessionKey',
      ],
      censor: '[redacted]',
    },
    serializers: {
      // Query strings can carry GraphQL documents with login codes: log the path only.
      req: (req: FastifyRequest) => ({ method: req.method, path: req.url.split('?')[0], remoteAddress: req.ip }),
    },
  };
}

export interface ServerParts {
  deps: AppDeps;
  schema: GraphQLSchema;
  restRoutes: readonly RestRoute[];
  readinessChecks: readonly ReadinessCheck[];
  /** Turns the request's credentials into a viewer (or a credential error to report later). */
  identify: (credentials: Credentials) => Promise<Identification>;
}

function sendError(req: FastifyRequest, reply: FastifyReply, code: string, message: string, details?: ErrorDetails, extra?: Record<string, unknown>) {
  const status = statusOf(code);
  if (typeof extra?.retryAfterSeconds === 'number') reply.header('retry-after', String(extra.retryAfterSeconds));
  if (req.url.startsWith('/v1/')) return reply.code(status).send(failure(status, message, details));
  return reply.code(status).send({ errors: [{ message, extensions: { code, status, ...extra, ...(details ? { details } : {}) } }] });
}

/** Maps framework errors (body limits, bad JSON, schema validation) onto the contract's codes. */
function handleHttpError(app: FastifyInstance) {
  return (err: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
    if (err instanceof AppError) return sendError(req, reply, err.code, err.message, err.details, err.extra);
    if (err.validation?.length) {
      const v = err.validation[0];
      const missing = (v.params as { missingProperty?: string } | undefined)?.missingProperty;
      const field = [v.instancePath.replace(/^\//, '').replace(/\//g, '.'), missing].filter(Boolean).join('.');
      return sendError(req, reply, 'BAD_REQUEST', `Invalid ${field || 'request'}: ${v.message ?? 'invalid'}`, { field, reason: v.message ?? 'invalid' });
    }
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || err.statusCode === 413 || (err as { status?: number }).status === 413) {
      return sendError(req, reply, 'PAYLOAD_TOO_LARGE', 'Request body is too large', { reason: 'BODY_TOO_LARGE' });
    }
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      return sendError(req, reply, 'BAD_REQUEST', err.message, { reason: err.code ?? 'BAD_REQUEST' });
    }
    app.log.error({ err, requestId: req.id }, 'unexpected error');
    return sendError(req, reply, 'INTERNAL_SERVER_ERROR', 'Internal server error');
  };
}

const isMultipart = (req: FastifyRequest) => (req.headers['content-type'] ?? '').toLowerCase().startsWith('multipart/form-data');
const hasPreflightHeader = (req: FastifyRequest) => Boolean(req.headers['apollo-require-preflight'] || req.headers['x-apollo-operation-name']);

/** graphql-upload drains the rest of an oversized upload; pause the request instead. */
function pauseWhenAFileIsTooLarge(req: FastifyRequest, body: unknown): void {
  const variables = (body as { variables?: Record<string, unknown> } | undefined)?.variables ?? {};
  for (const value of Object.values(variables)) {
    if (!(value instanceof Upload)) continue;
    value.promise
      .then((file) => {
        const capacitor = (file as { capacitor?: NodeJS.EventEmitter }).capacitor;
        capacitor?.once('error', (err: { status?: number }) => {
          if (err?.status === 413) stopReading(req.raw);
        });
      })
      .catch(() => undefined);
  }
}

/**
 * An upload refused mid-body (too large): stop reading the rest instead of draining it. The
 * response has been written; closing the socket ends the transfer on the client's side too.
 */
function stopReadingRefusedUploads(app: FastifyInstance): void {
  app.addHook('onSend', async (req, reply) => {
    if (reply.statusCode === 413 && !req.raw.complete) reply.header('connection', 'close');
  });
  app.addHook('onResponse', async (req, reply) => {
    if (reply.statusCode === 413 && !req.raw.complete) req.raw.socket?.destroy();
  });
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The credential check, made once per request by the rate-limit hook. */
    identification?: Identification;
  }
  interface FastifyContextConfig {
    /** Counts against the per-user (per-IP when anonymous) request limit. */
    rateLimited?: boolean;
  }
}

const credentialsOf = (req: FastifyRequest): Credentials => {
  const apiKey = req.headers['x-api-key'];
  return { authorization: req.headers.authorization, apiKey: typeof apiKey === 'string' ? apiKey : undefined };
};

/**
 * The request limit, checked before the body is read: identifies the caller (kept on the
 * request for the context) and counts the request against the user, or the address when
 * anonymous. WebSocket upgrades are counted per operation instead.
 */
function limitRequests(app: FastifyInstance, parts: ServerParts): void {
  app.addHook('onRequest', async (req) => {
    if (!req.routeOptions.config?.rateLimited || req.headers.upgrade) return;
    req.identification = await parts.identify(credentialsOf(req));
    await parts.deps.rateLimits.consume('request', limitKey({ userId: req.identification.viewer?.userId, ip: req.ip }));
  });
}

/**
 * TRUST_PROXY: false believes no X-Forwarded-For; a hop count believes that many proxies
 * from our side (so a client cannot pick its own address by sending the header itself);
 * a list believes only those proxy addresses.
 */
function trustProxyOption(trust: false | number | string[]) {
  if (typeof trust !== 'number') return trust;
  return (_address: string, hop: number) => hop < trust;
}

/** graphql-ws's close code for a refused credential ("Forbidden"). */
export const WS_CREDENTIAL_REFUSED = 4403;

/** Composes fastify, Apollo, graphql-ws, GraphiQL, health and /v1 on one port. No business logic. */
export async function buildServer(parts: ServerParts): Promise<{ app: FastifyInstance; apollo: ApolloServer<AppContext> }> {
  const { deps, schema } = parts;
  const { config } = deps;

  const app = Fastify({
    loggerInstance: deps.logger,
    trustProxy: trustProxyOption(config.trustProxy),
    bodyLimit: config.limits.bodyLimitBytes,
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });
  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
  });
  app.setErrorHandler(handleHttpError(app));
  stopReadingRefusedUploads(app);
  limitRequests(app, parts);
  app.setNotFoundHandler((req, reply) => sendError(req, reply, 'NOT_FOUND', `No route ${req.method} ${req.url.split('?')[0]}`));

  await app.register(fastifyHelmet, { global: true });
  await app.register(fastifyCors, {
    origin: config.corsOrigins.includes('*') ? true : config.corsOrigins.length ? config.corsOrigins : false,
    credentials: false,
    exposedHeaders: ['x-request-id', 'x-total-count', 'x-next-cursor', 'retry-after'],
  });
  await app.register(fastifyWebsocket, {
    options: { maxPayload: WS_MAX_PAYLOAD_BYTES },
    // Tell clients to reconnect elsewhere rather than that something broke.
    preClose: async () => {
      for (const client of app.websocketServer.clients) client.close(1001, 'Server shutting down');
    },
  });
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Chat assistant REST compatibility API', version: '1.0.0', description: 'Each route runs the GraphQL operation of the same name; see /graphql.' },
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
          apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
        },
      },
    },
    transform: ({ schema: s, url }) => ({ schema: url.startsWith('/v1/') ? s : { ...s, hide: true }, url }),
  });

  const armor = createArmor();
  const apollo = new ApolloServer<AppContext>({
    schema,
    introspection: !config.production,
    csrfPrevention: true,
    // Shutdown is ours (src/app.ts): Apollo's own handler would re-raise SIGTERM and exit 143.
    stopOnTerminationSignals: false,
    allowBatchedHttpRequests: false,
    includeStacktraceInErrorResponses: false,
    validationRules: armor.validationRules,
    parseOptions: PARSE_OPTIONS,
    formatError,
    plugins: [
      ...armor.plugins,
      errorHandlingPlugin(deps.logger),
      fastifyApolloDrainPlugin(app),
      // Measured: cache control wraps every field resolver (+18 % on a tiny query).
      ApolloServerPluginCacheControlDisabled(),
      ApolloServerPluginUsageReportingDisabled(),
      ApolloServerPluginLandingPageDisabled(),
    ],
  });
  await apollo.start();

  const contextFor = async (req: FastifyRequest): Promise<AppContext> => {
    const who = req.identification ?? (await parts.identify(credentialsOf(req)));
    return { ...createContext(deps, { viewer: who.viewer, requestId: req.id, ip: req.ip }), authError: who.authError };
  };
  const apolloHandler = fastifyApolloHandler(apollo, { context: contextFor });
  // A socket lives as long as its credential: closed on logout/revocation and at expiry.
  const watchCredential = (viewer: Viewer, socket: WebSocket) => {
    const close = (reason: string) => socket.close(WS_CREDENTIAL_REFUSED, reason);
    const unregister = deps.authenticator.sessions.register(credentialKey(viewer.credential), close);
    const cancelExpiry = viewer.credential.kind === 'jwt' ? runAt(viewer.credential.expiresAt, () => close('Token expired')) : undefined;
    socket.once('close', () => {
      unregister();
      cancelExpiry?.();
    });
  };
  const graphiql = config.production ? undefined : registerGraphiqlAssets(app);
  const wsHandler = createGraphqlWsHandler({
    schema,
    validationRules: armor.validationRules,
    connect: async (payload, extra) => {
      const authorization = typeof payload?.authorization === 'string' ? payload.authorization : undefined;
      const apiKey = typeof payload?.apiKey === 'string' ? payload.apiKey : undefined;
      const who = await parts.identify({ authorization, apiKey });
      if (who.authError) throw who.authError;
      if (who.viewer) watchCredential(who.viewer, extra.socket);
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

  const hidden = { hide: true };
  // Multipart bodies are read by graphql-upload (or the REST layer), not by fastify.
  app.addContentTypeParser('multipart/form-data', (_req, _payload, done) => done(null));
  app.post('/graphql', {
    schema: hidden,
    config: { rateLimited: true },
    // Only with a preflight header: Apollo's CSRF check refuses the others before any file is read.
    preValidation: async (req, reply) => {
      if (!isMultipart(req) || !hasPreflightHeader(req)) return;
      const body = await processRequest(req.raw, reply.raw, { maxFileSize: config.stt.maxUploadBytes, maxFiles: 1 });
      pauseWhenAFileIsTooLarge(req, body);
      req.body = body;
    },
  }, apolloHandler);
  app.route({
    method: 'GET',
    url: '/graphql',
    schema: hidden,
    config: { rateLimited: true },
    // A browser without a query gets GraphiQL; everything else is a GraphQL GET request.
    handler: (req, reply) => {
      const hasQuery = typeof (req.query as Record<string, unknown>)?.query === 'string';
      const wantsHtml = (req.headers.accept ?? '').includes('text/html');
      if (graphiql && !hasQuery && wantsHtml) return graphiql(reply);
      return apolloHandler.call(app, req as never, reply as never);
    },
    wsHandler,
  });

  registerLegacySocket(app, deps);
  registerHealthRoutes(app, parts.readinessChecks);
  await registerPaymentNotifyRoutes(app, deps.payments.notifications);
  registerRestRoutes(app, apollo, parts.restRoutes, contextFor, { maxUploadBytes: config.stt.maxUploadBytes });
  app.get('/v1/openapi.json', { schema: hidden }, async () => app.swagger());

  return { app, apollo };
}

import { randomUUID } from 'node:crypto';
import type { ApolloServer } from '@apollo/server';
import fastifyCors from '@fastify/cors';
import fastifyHelmet from '@fastify/helmet';
import fastifyWebsocket from '@fastify/websocket';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { GraphQLSchema } from 'graphql';
import type { AppContext } from '../context';
import type { AppDeps } from '../deps';
import { startApollo } from '../graphql/apollo';
import { createArmor } from '../graphql/limits';
import { registerGraphqlRoutes } from '../graphql/routes';
import { registerOpenAiRoutes } from '../openai/openai.routes';
import { registerPaymentNotifyRoutes } from '../payments/payment-notify.routes';
import { registerWechatPushRoutes } from '../payments/wechat-push.routes';
import type { RestRoute } from '../rest/route';
import { registerRestRoutes } from '../rest/router';
import { graphqlWsHandler } from '../sockets/graphql-ws';
import { registerLegacySocket } from '../sockets/legacy-socket';
import { registerSpeechAudioRoute } from '../speech/speak.routes';
import { registerChatExportRoute } from '../chats/chat-export.routes';
import { registerGraphiqlAssets } from './graphiql';
import { readEmptyJsonAsObject } from './json-body';
import { registerHealthRoutes, type ReadinessCheck } from './health';
import { handleHttpError, sendNotFound } from './http-errors';
import { httpContext, limitRequests } from './identity';
import { registerOpenApi } from './openapi';
import { registerMetrics } from './metrics';
import { metricsPlugin } from '../graphql/metrics-plugin';
import { registerUploadHandling } from './uploads';
import { tagRequest } from '../core/trace';

export { loggerOptions } from './logging';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;
const WS_MAX_PAYLOAD_BYTES = 256 * 1024;

export interface ServerParts {
  deps: AppDeps;
  schema: GraphQLSchema;
  restRoutes: readonly RestRoute[];
  readinessChecks: readonly ReadinessCheck[];
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

/** Composes fastify, Apollo, graphql-ws, GraphiQL, health and /v1 on one port. No business logic. */
export async function buildServer(parts: ServerParts): Promise<{ app: FastifyInstance; apollo: ApolloServer<AppContext> }> {
  const { deps, schema } = parts;
  const { config } = deps;
  const { requests } = config.timings;
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    trustProxy: trustProxyOption(config.trustProxy),
    bodyLimit: config.limits.bodyLimitBytes,
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // A request trickled in slowly (slowloris) is cut with 408. Node stops counting once the
    // request has arrived, so long responses and upgraded WebSockets are not affected. Node
    // swaps the two deadlines when the headers' is the longer, hence the min.
    requestTimeout: requests.requestTimeoutMs,
    http: { headersTimeout: Math.min(requests.headersTimeoutMs, requests.requestTimeoutMs), connectionsCheckingInterval: requests.timeoutCheckIntervalMs },
  });
  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
    tagRequest(req.id);
  });
  app.setErrorHandler(handleHttpError(app));
  app.setNotFoundHandler(sendNotFound);
  registerUploadHandling(app);
  readEmptyJsonAsObject(app);
  limitRequests(app, deps);
  registerMetrics(app, deps);

  await app.register(fastifyHelmet, { global: true });
  await app.register(fastifyCors, {
    // An empty list still answers preflights (without allowing the origin), so a browser
    // reports a CORS refusal rather than a 404.
    origin: config.corsOrigins.includes('*') ? true : config.corsOrigins,
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
  await registerOpenApi(app);

  const armor = createArmor();
  const apollo = await startApollo({ app, schema, armor, production: config.production, logger: deps.logger, maxResponseBytes: config.timings.graphql.maxResponseBytes, plugins: [metricsPlugin(deps.metrics)] });
  const context = httpContext(deps);
  registerGraphqlRoutes(app, {
    apollo,
    context,
    wsHandler: graphqlWsHandler(deps, schema, armor.validationRules),
    graphiql: config.production ? undefined : registerGraphiqlAssets(app),
    maxUploadBytes: config.stt.maxUploadBytes,
    subscriptions: { deps, schema, validationRules: armor.validationRules },
  });
  registerRestRoutes(app, apollo, parts.restRoutes, context, { maxUploadBytes: config.stt.maxUploadBytes, schema, keepAliveMs: config.timings.streaming.keepAliveMs });
  await registerOpenAiRoutes(app, deps);
  registerLegacySocket(app, deps);
  registerSpeechAudioRoute(app, deps);
  registerChatExportRoute(app, deps);
  await registerPaymentNotifyRoutes(app, deps.payments.notifications);
  await registerWechatPushRoutes(app, deps);
  registerHealthRoutes(app, parts.readinessChecks, { timeoutMs: config.timings.dependencies.readinessTimeoutMs });
  return { app, apollo };
}

import type { ApolloServer } from '@apollo/server';
import { fastifyApolloHandler } from '@as-integrations/fastify';
import type { WebsocketHandler } from '@fastify/websocket';
import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { GraphQLSchema, ValidationRule } from 'graphql';
import type { AppContext } from '../context';
import type { AppDeps } from '../deps';
import { readGraphqlUploads } from '../http/uploads';
import { acceptsMultipartSubscription, multipartSubscriptions } from './http-subscriptions';
import { acceptsEventStream, sseSubscriptions } from './sse-subscriptions';

/**
 * `/graphql`: POST runs operations (with uploads), and streams subscriptions to clients that
 * accept Apollo's multipart subscriptions or an event stream (graphql-sse); GET opens
 * GraphiQL in a browser, runs a GraphQL GET request otherwise, and upgrades to graphql-ws on
 * the same URL.
 */
export function registerGraphqlRoutes(
  app: FastifyInstance,
  opts: {
    apollo: ApolloServer<AppContext>;
    context: (req: FastifyRequest) => Promise<AppContext>;
    wsHandler: WebsocketHandler;
    /** Serves the GraphiQL page; absent in production. */
    graphiql?: (reply: FastifyReply) => unknown;
    maxUploadBytes: number;
    /** What subscriptions over HTTP run with (graphql-ws gets the same). */
    subscriptions: { deps: AppDeps; schema: GraphQLSchema; validationRules: readonly ValidationRule[] };
  },
): void {
  const handler = fastifyApolloHandler(opts.apollo, { context: opts.context });
  const hidden = { hide: true };
  const streamOptions = { ...opts.subscriptions, context: opts.context, streamed: trackStreams(app) };
  const multipart = multipartSubscriptions(streamOptions);
  const sse = sseSubscriptions(streamOptions);
  app.post('/graphql', { schema: hidden, config: { rateLimited: true }, preValidation: readGraphqlUploads(opts.maxUploadBytes) }, async function (req, reply) {
    const accept = req.headers.accept;
    // Uploads and text bodies stay with Apollo (its CSRF check covers them); streams take JSON only.
    const json = /^application\/json\b/i.test(req.headers['content-type'] ?? '');
    if (json && acceptsEventStream(accept)) return sse(req, reply);
    if (json && acceptsMultipartSubscription(accept) && (await multipart(req, reply))) return;
    // Everything else, including a subscription without either Accept (refused: operation-checks.ts).
    return handler.call(this, req as never, reply as never);
  });
  app.route({
    method: 'GET',
    url: '/graphql',
    schema: hidden,
    config: { rateLimited: true },
    handler: (req, reply) => {
      const hasQuery = typeof (req.query as Record<string, unknown>)?.query === 'string';
      const wantsHtml = (req.headers.accept ?? '').includes('text/html');
      if (!hasQuery && wantsHtml) {
        if (opts.graphiql) return opts.graphiql(reply);
        // A browser in production: say why there is no page, instead of Apollo's CSRF refusal.
        return reply
          .code(404)
          .type('text/plain; charset=utf-8')
          .send('GraphiQL is turned off in production. Send GraphQL requests to POST /graphql (or subscribe over graphql-ws on this URL).');
      }
      return handler.call(app, req as never, reply as never);
    },
    wsHandler: opts.wsHandler,
  });
}

/**
 * Responses that stream until their subscription ends: shutdown cuts them (as it closes
 * graphql-ws sockets) instead of waiting for them until the shutdown timeout.
 */
function trackStreams(app: FastifyInstance): (reply: FastifyReply) => void {
  const open = new Set<ServerResponse>();
  app.addHook('preClose', async () => {
    for (const res of open) res.destroy();
  });
  return (reply) => {
    const res = reply.raw;
    open.add(res);
    res.once('close', () => open.delete(res));
  };
}

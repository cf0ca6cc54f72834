import type { ApolloServer } from '@apollo/server';
import { fastifyApolloHandler } from '@as-integrations/fastify';
import type { WebsocketHandler } from '@fastify/websocket';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../context';
import { readGraphqlUploads } from '../http/uploads';

/**
 * `/graphql`: POST runs operations (with uploads); GET opens GraphiQL in a browser, runs a
 * GraphQL GET request otherwise, and upgrades to graphql-ws on the same URL.
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
  },
): void {
  const handler = fastifyApolloHandler(opts.apollo, { context: opts.context });
  const hidden = { hide: true };
  app.post('/graphql', { schema: hidden, config: { rateLimited: true }, preValidation: readGraphqlUploads(opts.maxUploadBytes) }, handler);
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

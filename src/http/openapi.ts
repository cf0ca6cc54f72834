import fastifySwagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';

/**
 * The OpenAPI description of the /v1 routes, built from their JSON schemas, served at
 * `/v1/openapi.json`. Routes outside /v1 are left out.
 */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
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
    transform: ({ schema, url }) => ({ schema: url.startsWith('/v1/') ? schema : { ...schema, hide: true }, url }),
  });
  app.get('/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}

import type { ApolloServer } from '@apollo/server';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { GraphQLFormattedError } from 'graphql';
import type { AppContext } from '../context';
import { describeFormattedError } from '../graphql/format-error';
import { sendRestError } from '../http/http-errors';
import { success } from './envelope';
import { readSingleUpload } from './multipart';
import type { RestRequest, RestRoute } from './route';
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

/**
 * Mounts the route table: each route runs its GraphQL operation through Apollo (the same
 * pipeline, plugins and formatError as POST /graphql) and wraps the result in the envelope.
 */
export function registerRestRoutes(
  app: FastifyInstance,
  apollo: ApolloServer<AppContext>,
  routes: readonly RestRoute[],
  buildContext: (req: FastifyRequest) => Promise<AppContext>,
  limits: { maxUploadBytes: number },
): void {
  for (const route of routes) {
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
          200: {
            type: 'object',
            properties: { code: { type: 'integer' }, message: { type: 'string' }, data: route.schema?.data ?? {} },
          },
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
        };
        if (route.upload) {
          const { upload, fields, release } = await readSingleUpload(req.raw, route.upload, limits.maxUploadBytes);
          reply.raw.once('close', release);
          restReq.body = fields;
          restReq.files[route.upload] = upload;
        }
        const variables = route.toVariables ? route.toVariables(restReq) : {};
        const contextValue = await buildContext(req);
        const res = await apollo.executeOperation({ query: route.operation, variables }, { contextValue });
        if (res.body.kind !== 'single') throw new Error('REST operations must not stream');
        const { data, errors } = res.body.singleResult;
        if (errors?.length) return sendGraphqlError(reply, errors[0]);
        const headers = route.headers?.(data as never) ?? {};
        for (const [name, value] of Object.entries(headers)) if (value !== undefined) reply.header(name, value);
        return reply.send(success(route.toData(data as never, restReq), route.message));
      },
    });
  }
}

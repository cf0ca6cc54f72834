import { ModelsDocument } from './generated/graphql';
import { defineRoute, type RestRoute } from './route';

const modelSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    type: { type: 'string' },
    provider: { type: 'string' },
    contextWindow: { type: ['integer', 'null'] },
    isDefault: { type: 'boolean' },
  },
};

/** The `/v1` compatibility layer (contract §2): one GraphQL operation per route. */
export const REST_ROUTES: readonly RestRoute[] = [
  defineRoute({
    method: 'GET',
    path: '/v1/models',
    summary: 'The model catalog',
    operation: ModelsDocument,
    public: true,
    schema: { data: { type: 'array', items: modelSchema } },
    toData: (data) => data.models,
  }),
];

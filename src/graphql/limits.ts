import { ApolloArmor } from '@escape.tech/graphql-armor';
import { type DocumentNode, GraphQLError, type GraphQLSchema, parse, specifiedRules, validate, type ValidationRule } from 'graphql';

/** Query limits, the same on HTTP and on graphql-ws. */
export const QUERY_LIMITS = {
  depth: 15,
  aliases: 15,
  directives: 50,
  tokens: 2000,
  cost: 5000,
} as const;

/** Parser options for Apollo and graphql-ws alike. */
export const PARSE_OPTIONS = { maxTokens: QUERY_LIMITS.tokens } as const;

export function createArmor(): ReturnType<ApolloArmor['protect']> {
  return new ApolloArmor({
    // GraphiQL's own introspection query must pass, so depth counts introspection too.
    maxDepth: { n: QUERY_LIMITS.depth, ignoreIntrospection: false, flattenFragments: true },
    maxAliases: { n: QUERY_LIMITS.aliases },
    maxDirectives: { n: QUERY_LIMITS.directives },
    // armor's Apollo token plugin turns every syntax error into a 500; graphql-js's own
    // parser limit (Apollo `parseOptions`, see PARSE_OPTIONS) reports a 400 instead.
    maxTokens: { enabled: false },
    // A selection costs the same whether or not it is split into fragments (Apollo Client apps use many).
    costLimit: { maxCost: QUERY_LIMITS.cost, flattenFragments: true },
    // Suggestions leak the schema where introspection is off.
    blockFieldSuggestion: { enabled: true },
  }).protect();
}

/**
 * Parses and validates a graphql-ws operation with the same rules Apollo applies on HTTP
 * (armor's token limit is a parser option there, so it is one here too).
 */
export function parseAndValidate(
  schema: GraphQLSchema,
  query: string,
  rules: readonly ValidationRule[],
): { document: DocumentNode } | { errors: readonly GraphQLError[] } {
  let document: DocumentNode;
  try {
    document = parse(query, PARSE_OPTIONS);
  } catch (err) {
    const e = err instanceof GraphQLError ? err : new GraphQLError('Syntax error');
    return { errors: [new GraphQLError(e.message, { nodes: e.nodes, source: e.source, positions: e.positions, extensions: { code: 'GRAPHQL_PARSE_FAILED' } })] };
  }
  const errors = validate(schema, document, [...specifiedRules, ...rules]);
  if (errors.length) {
    return { errors: errors.map((e) => new GraphQLError(e.message, { nodes: e.nodes, source: e.source, positions: e.positions, extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } })) };
  }
  return { document };
}

import type { ApolloServerPlugin } from '@apollo/server';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import {
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  getArgumentValues,
  getNamedType,
  getOperationAST,
  getVariableValues,
  type GraphQLField,
  GraphQLError,
  type GraphQLNamedType,
  type GraphQLSchema,
  isInterfaceType,
  isObjectType,
  Kind,
  parse,
  SchemaMetaFieldDef,
  type SelectionSetNode,
  specifiedRules,
  TypeMetaFieldDef,
  validate,
  type ValidationRule,
} from 'graphql';
import type { Logger } from '../core/logger';
import { formatError } from './format-error';

/** Query limits, the same on HTTP and on graphql-ws. */
export const QUERY_LIMITS = {
  depth: 15,
  aliases: 15,
  directives: 50,
  tokens: 2000,
  /**
   * About the number of values a response may hold (see `operationCost`). The largest page
   * the REST API serves, 100 chats with their last 50 messages, costs 41,500.
   */
  cost: 60_000,
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
    // armor's cost counts only page sizes written into the query, not those in variables or
    // left at their defaults; `checkOperationCost` counts all of them, once variables are known.
    costLimit: { enabled: false },
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

/** Arguments that say how many items a list field returns (chats, searchChats, orders, messages). */
const PAGE_ARGUMENTS = ['first', 'last'];

/**
 * About how many values the operation's response holds: every field counts 1 (and what is
 * selected under it), times its page size (`first`/`last`, from the query, its variables or
 * the schema's default), so nested lists multiply. A selection costs the same inside or
 * outside fragments. Undefined when the operation or its variables are invalid: execution
 * refuses those before any resolver runs.
 */
export function operationCost(schema: GraphQLSchema, document: DocumentNode, operationName?: string | null, variables?: Record<string, unknown> | null): number | undefined {
  const operation = getOperationAST(document, operationName);
  if (!operation) return undefined;
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variables ?? {});
  if (coerced.errors) return undefined;
  const values = coerced.coerced;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  // A fragment costs the same wherever it is spread: count each once.
  const fragmentCosts = new Map<string, number>();

  const fieldOf = (parent: GraphQLNamedType | undefined, node: FieldNode): GraphQLField<unknown, unknown> | undefined => {
    if (node.name.value === '__schema') return SchemaMetaFieldDef;
    if (node.name.value === '__type') return TypeMetaFieldDef;
    return isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[node.name.value] : undefined;
  };
  const pageSize = (field: GraphQLField<unknown, unknown> | undefined, node: FieldNode): number => {
    if (!field?.args.some((a) => PAGE_ARGUMENTS.includes(a.name))) return 1;
    const args = getArgumentValues(field, node, values);
    return Math.max(1, ...PAGE_ARGUMENTS.map((name) => (typeof args[name] === 'number' ? (args[name] as number) : 1)));
  };
  const costOf = (set: SelectionSetNode, parent: GraphQLNamedType | undefined, spreading: ReadonlySet<string>): number => {
    let total = 0;
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        const field = fieldOf(parent, selection);
        const below = selection.selectionSet && field ? costOf(selection.selectionSet, getNamedType(field.type), spreading) : 0;
        total += pageSize(field, selection) * (1 + below);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        total += costOf(selection.selectionSet, selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : parent, spreading);
      } else {
        const name = selection.name.value;
        const fragment = fragments.get(name);
        if (!fragment || spreading.has(name)) continue; // validation refuses cycles; never loop on one
        if (!fragmentCosts.has(name)) fragmentCosts.set(name, costOf(fragment.selectionSet, schema.getType(fragment.typeCondition.name.value), new Set(spreading).add(name)));
        total += fragmentCosts.get(name)!;
      }
    }
    return total;
  };
  try {
    return costOf(operation.selectionSet, schema.getRootType(operation.operation) ?? undefined, new Set());
  } catch {
    return undefined; // an argument execution will refuse
  }
}

/**
 * The cost limit, checked once the variables are known (so after validation, before
 * execution): GRAPHQL_VALIDATION_FAILED (400) over it, as the other query limits.
 */
export function checkOperationCost(schema: GraphQLSchema, document: DocumentNode, operationName?: string | null, variables?: Record<string, unknown> | null): GraphQLError | undefined {
  const cost = operationCost(schema, document, operationName, variables);
  if (cost === undefined || cost <= QUERY_LIMITS.cost) return undefined;
  return new GraphQLError(`Query Cost limit of ${QUERY_LIMITS.cost} exceeded, found ${cost}.`, { extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } });
}

/** The cost limit on Apollo's requests (POST and GET /graphql, and the REST routes, which run through Apollo). */
export function queryCostPlugin<C extends object>(): ApolloServerPlugin<C> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ schema, document, request }) {
          const refused = checkOperationCost(schema, document, request.operationName, request.variables);
          if (refused) throw refused;
        },
      };
    },
  };
}

/**
 * About the size of `value` as JSON, in bytes (escapes aside). Stops counting once past
 * `limit`, so measuring a huge result costs no more than measuring the limit.
 */
export function jsonBytes(value: unknown, limit = Infinity): number {
  let total = 0;
  const visit = (v: unknown): void => {
    if (total > limit) return;
    if (typeof v === 'string') total += Buffer.byteLength(v) + 2;
    else if (typeof v === 'number' || typeof v === 'boolean') total += String(v).length;
    else if (v === null || v === undefined) total += 4;
    else if (Array.isArray(v)) {
      total += 1 + v.length;
      for (const item of v) visit(item);
    } else if (typeof v === 'object') {
      const toJSON = (v as { toJSON?: () => unknown }).toJSON;
      if (typeof toJSON === 'function') return visit(toJSON.call(v));
      const entries = Object.entries(v);
      total += 1 + entries.length;
      for (const [key, item] of entries) {
        total += Buffer.byteLength(key) + 3;
        visit(item);
      }
    }
  };
  visit(value);
  return total;
}

const mib = (bytes: number) => `${Math.round((bytes / (1024 * 1024)) * 10) / 10} MiB`;

/**
 * The response in place of one over the size limit. The cost limit bounds how many values a
 * response holds, not how long each is; this bounds the bytes (BAD_REQUEST, 400).
 */
export function responseTooLarge(maxBytes: number): GraphQLError {
  return new GraphQLError(`The response is over the ${mib(maxBytes)} limit and was not sent; ask for less (smaller first/last, fewer fields or aliases)`, {
    extensions: { code: 'BAD_REQUEST' },
  });
}

/** Replaces an Apollo response over `maxBytes` by the error, before it is serialised. */
export function responseSizePlugin<C extends { requestId?: string }>(maxBytes: number, logger: Logger): ApolloServerPlugin<C> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response, contextValue, operationName }) {
          if (response.body.kind !== 'single' || jsonBytes(response.body.singleResult, maxBytes) <= maxBytes) return;
          logger.warn({ requestId: contextValue.requestId, operationName, maxBytes }, 'response over the size limit replaced by an error');
          const error = responseTooLarge(maxBytes);
          response.body = { kind: 'single', singleResult: { errors: [formatError(error.toJSON(), error)] } };
          response.http.status = 400;
        },
      };
    },
  };
}

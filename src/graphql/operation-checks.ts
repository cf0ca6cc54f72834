import {
  type DocumentNode,
  type FragmentDefinitionNode,
  getArgumentValues,
  getOperationAST,
  getVariableValues,
  GraphQLError,
  type GraphQLFieldResolver,
  type GraphQLResolveInfo,
  type GraphQLSchema,
  Kind,
  type OperationDefinitionNode,
  TypeInfo,
  visit,
  visitWithTypeInfo,
} from 'graphql';
import { BadRequestError } from '../core/errors';
import { findInvalidText, invalidTextError } from '../core/text';

/*
 * What is checked of an operation as a whole before any of its fields runs, on every
 * transport (POST /graphql, the /v1 routes, graphql-ws): every String and ID it passes in,
 * from variables or literals, is valid text (core/text.ts), and a subscription only runs
 * where it can stream. The checks sit on the root fields of the schema, so no transport can
 * skip them; the first root field to run checks the whole operation (nested field
 * arguments included) once, so a refused mutation changes nothing.
 */

/**
 * `details.field` of an argument: its name, or, for the `input` objects of mutations, the
 * path inside the input (`messages.3.content`), as the services name fields.
 */
function fieldOf(path: Array<string | number>): string {
  return (path[0] === 'input' && path.length > 1 ? path.slice(1) : path).join('.');
}

/** The fragments an operation uses, directly or through other fragments. */
function usedFragments(operation: OperationDefinitionNode, fragments: Record<string, FragmentDefinitionNode>): FragmentDefinitionNode[] {
  const found = new Map<string, FragmentDefinitionNode>();
  const walk = (node: OperationDefinitionNode | FragmentDefinitionNode) =>
    visit(node, {
      FragmentSpread(spread) {
        const fragment = fragments[spread.name.value];
        if (fragment && !found.has(fragment.name.value)) {
          found.set(fragment.name.value, fragment);
          walk(fragment);
        }
      },
    });
  walk(operation);
  return [...found.values()];
}

/** The first argument value of the operation that is not valid text, as an error; undefined when all are. */
function invalidTextIn(info: GraphQLResolveInfo): BadRequestError | undefined {
  const typeInfo = new TypeInfo(info.schema);
  let error: BadRequestError | undefined;
  const visitor = visitWithTypeInfo(typeInfo, {
    Field(node) {
      const def = typeInfo.getFieldDef();
      if (error || !def || !node.arguments?.length) return;
      let args: Record<string, unknown>;
      try {
        args = getArgumentValues(def, node, info.variableValues);
      } catch {
        return; // execution reports a bad argument itself
      }
      const path = findInvalidText(args);
      if (path) error = invalidTextError(fieldOf(path));
    },
  });
  for (const node of [info.operation, ...usedFragments(info.operation, info.fragments)]) visit(node, visitor);
  return error;
}

/** Checked once per execution: graphql-js coerces a fresh variables object for each. */
const checked = new WeakMap<object, BadRequestError | null>();

function checkOperation(info: GraphQLResolveInfo): void {
  let outcome = checked.get(info.variableValues);
  if (outcome === undefined) {
    outcome = invalidTextIn(info) ?? null;
    checked.set(info.variableValues, outcome);
  }
  if (outcome) throw outcome;
}

/** Contexts whose subscription was started by `subscribe` (graphql-ws, or a streamed POST), not merely executed. */
const subscribed = new WeakSet<object>();

/** Names every way to subscribe, so a client that picked none learns how. */
const overHttp = () =>
  new BadRequestError(
    'A subscription needs a streaming transport: graphql-ws on this URL (WebSocket, subprotocol graphql-transport-ws), or POST /graphql with Accept: multipart/mixed;subscriptionSpec="1.0" (Apollo Client\'s HttpLink) or Accept: text/event-stream (graphql-sse)',
    { reason: 'UNSUPPORTED' },
  );

/**
 * Puts the checks on every root field of the schema (in place). A subscription executed as
 * a plain request (POST or GET /graphql without a streaming Accept) never had its `subscribe` called, so its resolver
 * would get no event: it is refused with BAD_REQUEST instead of failing inside.
 */
export function guardRootFields(schema: GraphQLSchema): GraphQLSchema {
  for (const type of [schema.getQueryType(), schema.getMutationType()]) {
    for (const field of Object.values(type?.getFields() ?? {})) {
      const resolve: GraphQLFieldResolver<unknown, unknown> | undefined = field.resolve;
      if (!resolve) continue;
      field.resolve = (source, args, context, info) => {
        checkOperation(info);
        return resolve(source, args, context, info);
      };
    }
  }
  for (const field of Object.values(schema.getSubscriptionType()?.getFields() ?? {})) {
    const { subscribe, resolve } = field;
    if (!subscribe || !resolve) continue;
    field.subscribe = (source, args, context: object, info) => {
      checkOperation(info);
      subscribed.add(context);
      return subscribe(source, args, context, info);
    };
    field.resolve = (source, args, context: object, info) => {
      if (!subscribed.has(context)) throw overHttp();
      return resolve(source, args, context, info);
    };
  }
  return schema;
}

/**
 * For graphql-ws, which runs documents itself: what Apollo refuses over HTTP before
 * execution, with Apollo's codes. An operation that cannot be chosen (several without an
 * operationName, or a name the document lacks) is OPERATION_RESOLUTION_FAILURE; variables
 * that do not fit their types are BAD_USER_INPUT. graphql-js would report both as errors
 * without a code, which read as internal. Undefined when the operation can run.
 */
export function requestErrors(schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined, variables: Record<string, unknown> | null | undefined): GraphQLError[] | undefined {
  const operation = getOperationAST(document, operationName);
  if (!operation) {
    const count = document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION).length;
    const message = operationName ? `Unknown operation named "${operationName}".` : count > 1 ? 'Must provide operation name if query contains multiple operations.' : 'Must provide an operation.';
    return [new GraphQLError(message, { extensions: { code: 'OPERATION_RESOLUTION_FAILURE' } })];
  }
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variables ?? {}, { maxErrors: 1 });
  if (coerced.errors) return coerced.errors.map((e) => new GraphQLError(e.message, { nodes: e.nodes, extensions: { code: 'BAD_USER_INPUT' } }));
  return undefined;
}

import { unwrapResolverError } from '@apollo/server/errors';
import type { ApolloServerPlugin } from '@apollo/server';
import type { Logger } from '../core/logger';
import { GraphQLError, type GraphQLFormattedError, type GraphQLSchema, isEnumType } from 'graphql';
import { ArgumentValidationError } from 'type-graphql';
import type { ValidationError } from 'class-validator';
import {
  AppError,
  APOLLO_REQUEST_CODES,
  BadRequestError,
  describeError,
  ERROR_STATUS,
  statusOf,
  type ApolloRequestCode,
  type ErrorCode,
  type ErrorDescription,
  type ErrorDetails,
  type ReasonOf,
} from '../core/errors';
import type { AppContext } from '../context';

/** class-validator constraints with a more telling reason than INVALID. */
const CONSTRAINT_REASONS: Partial<Record<string, ReasonOf<'BAD_REQUEST'>>> = {
  isLength: 'LENGTH',
  minLength: 'LENGTH',
  maxLength: 'TOO_LONG',
  isNotEmpty: 'EMPTY',
};

/** The first failing field of a class-validator tree, as a dotted path, with the constraint it failed. */
function firstViolation(errors: ValidationError[], prefix = ''): { field: string; constraint: string; text: string } | undefined {
  for (const e of errors) {
    const field = prefix ? `${prefix}.${e.property}` : e.property;
    const [first] = Object.entries(e.constraints ?? {});
    if (first) return { field, constraint: first[0], text: first[1] };
    const nested = firstViolation(e.children ?? [], field);
    if (nested) return nested;
  }
  return undefined;
}

function validationError(err: ArgumentValidationError): BadRequestError {
  const violation = firstViolation(err.extensions.validationErrors as ValidationError[]);
  if (!violation) return new BadRequestError('Invalid input');
  // The constraint's own wording stays in the message; the reason is the stable part.
  const reason = (Object.hasOwn(CONSTRAINT_REASONS, violation.constraint) && CONSTRAINT_REASONS[violation.constraint]) || 'INVALID';
  return new BadRequestError(`Invalid ${violation.field}: ${violation.text}`, { field: violation.field, reason });
}

const isApolloRequestCode = (code: unknown): code is ApolloRequestCode => typeof code === 'string' && APOLLO_REQUEST_CODES.has(code);

/**
 * Apollo refuses two persisted-query requests with a bare HTTP 400 and no code: a
 * `persistedQuery.version` other than 1 (or no version), and a `sha256Hash` that does not
 * match the query sent with it. Both are the client's, so they get Apollo's
 * PERSISTED_QUERY_NOT_SUPPORTED, on which Apollo Client's persisted-query link falls back to
 * sending whole documents. Any other bare 400 Apollo may add is BAD_REQUEST.
 */
function apolloBare400(error: GraphQLError): ApolloRequestCode | undefined {
  const http = error.extensions?.http as { status?: unknown } | undefined;
  if (error.extensions?.code !== undefined || http?.status !== 400) return undefined;
  return /persisted query|sha/i.test(error.message) ? 'PERSISTED_QUERY_NOT_SUPPORTED' : 'BAD_REQUEST';
}

/**
 * `describeError` for what GraphQL hands over: our errors come wrapped by resolvers or by a
 * GraphQLError (e.g. a refused graphql-ws operation), argument validation and Apollo's
 * request errors (parse, validation, variables) are the client's, and the rest is internal.
 */
export function describeGraphqlError(error: unknown): ErrorDescription {
  const unwrapped = unwrapResolverError(error);
  const original = unwrapped instanceof GraphQLError && unwrapped.originalError instanceof AppError ? unwrapped.originalError : unwrapped;
  if (original instanceof ArgumentValidationError) return describeError(validationError(original));
  if (!(original instanceof AppError) && original instanceof GraphQLError) {
    const code = original.extensions?.code;
    if (isApolloRequestCode(code)) return { code, status: statusOf(code), message: original.message, internal: false };
    const bare = apolloBare400(original);
    if (bare) return { code: bare, status: 400, message: original.message, internal: false };
  }
  return describeError(original);
}

/** `extensions` of a GraphQL error; HTTP errors answered outside Apollo use the same shape. */
export function errorExtensions(d: ErrorDescription): Record<string, unknown> {
  return {
    code: d.code,
    status: d.status,
    ...(d.retryAfterSeconds !== undefined ? { retryAfterSeconds: d.retryAfterSeconds } : {}),
    // ACCOUNT_SUSPENDED: also at the top, beside retryAfterSeconds, where clients look for when to come back.
    ...(d.details?.suspendedUntil ? { suspendedUntil: d.details.suspendedUntil } : {}),
    ...(d.details ? { details: d.details } : {}),
  };
}

/** Reads the description back from a formatted error (REST answers with Apollo's results). */
export function describeFormattedError(error: GraphQLFormattedError): ErrorDescription {
  const ext = error.extensions ?? {};
  const code = typeof ext.code === 'string' && (ext.code in ERROR_STATUS || isApolloRequestCode(ext.code)) ? (ext.code as ErrorCode | ApolloRequestCode) : 'INTERNAL_SERVER_ERROR';
  return {
    code,
    status: typeof ext.status === 'number' ? ext.status : statusOf(code),
    message: error.message,
    ...(ext.details ? { details: ext.details as ErrorDetails } : {}),
    ...(typeof ext.retryAfterSeconds === 'number' ? { retryAfterSeconds: ext.retryAfterSeconds } : {}),
    internal: code === 'INTERNAL_SERVER_ERROR',
  };
}

/** graphql-js's wording for an unknown enum value, in variables and in literals alike. */
const UNKNOWN_ENUM_VALUE = /Value "(?:[^"\\]|\\.)*" does not exist in "(\w+)" enum(?=\.)/;

/**
 * graphql-js names the enum but not its values (at best it guesses one with "Did you mean"),
 * so a client with a typo in `paymentMethod` or a role would have to read the schema: the
 * message lists them, e.g. `…does not exist in "PaymentMethod" enum; expected one of: WECHAT, ALIPAY.`
 */
export function withEnumValues(message: string, schema: GraphQLSchema): string {
  const match = UNKNOWN_ENUM_VALUE.exec(message);
  const type = match && schema.getType(match[1]);
  if (!match || !isEnumType(type)) return message;
  const end = match.index + match[0].length;
  const values = type.getValues().map((v) => v.name).join(', ');
  return `${message.slice(0, end)}; expected one of: ${values}${message.slice(end)}`;
}

/**
 * Apollo's `formatError` and the graphql-ws error path: the one place GraphQL errors are
 * shaped. With the schema, an unknown enum value's message lists the allowed ones.
 */
export function formatError(formatted: GraphQLFormattedError, error: unknown, schema?: GraphQLSchema): GraphQLFormattedError {
  const d = describeGraphqlError(error);
  return {
    message: schema && !d.internal ? withEnumValues(d.message, schema) : d.message,
    ...(formatted.locations ? { locations: formatted.locations } : {}),
    ...(formatted.path ? { path: formatted.path } : {}),
    extensions: errorExtensions(d),
  };
}

/**
 * Logs unexpected errors with their stack (clients only see a generic message), and makes
 * the HTTP status follow the error when the response carries no data.
 */
export function errorHandlingPlugin(logger: Logger): ApolloServerPlugin<AppContext> {
  return {
    async requestDidStart() {
      return {
        async didEncounterErrors({ errors, contextValue, operationName }) {
          for (const err of errors) {
            if (describeGraphqlError(err).internal) {
              logger.error({ err: unwrapResolverError(err), requestId: contextValue.requestId, operationName }, 'unexpected error');
            }
          }
        },
        async willSendResponse({ response }) {
          if (response.body.kind !== 'single') return;
          const { data, errors } = response.body.singleResult;
          if (data == null && errors?.length) {
            const status = errors[0].extensions?.status;
            if (typeof status === 'number') response.http.status = status;
          }
        },
      };
    },
  };
}

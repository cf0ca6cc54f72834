import { unwrapResolverError } from '@apollo/server/errors';
import type { ApolloServerPlugin } from '@apollo/server';
import type { Logger } from '../core/logger';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { ArgumentValidationError } from 'type-graphql';
import type { ValidationError } from 'class-validator';
import { APOLLO_REQUEST_CODES, AppError, statusOf } from '../core/errors';
import type { AppContext } from '../context';

interface Classified {
  code: string;
  message: string;
  details?: { field?: string; reason?: string };
  extra?: Record<string, unknown>;
  /** Not something the client caused: log the original with its stack. */
  internal: boolean;
}

/** The first failing field of a class-validator tree, as a dotted path, and its reason. */
function firstViolation(errors: ValidationError[], prefix = ''): { field: string; reason: string } | undefined {
  for (const e of errors) {
    const field = prefix ? `${prefix}.${e.property}` : e.property;
    if (e.constraints) {
      const [reason] = Object.values(e.constraints);
      return { field, reason };
    }
    const nested = firstViolation(e.children ?? [], field);
    if (nested) return nested;
  }
  return undefined;
}

export function classifyError(error: unknown): Classified {
  const unwrapped = unwrapResolverError(error);
  // Errors raised outside resolvers (e.g. refusing a graphql-ws operation) wrap ours too.
  const original = unwrapped instanceof GraphQLError && unwrapped.originalError instanceof AppError ? unwrapped.originalError : unwrapped;
  if (original instanceof AppError) {
    return { code: original.code, message: original.message, details: original.details, extra: original.extra, internal: false };
  }
  if (original instanceof ArgumentValidationError) {
    const violation = firstViolation(original.extensions.validationErrors as ValidationError[]);
    return {
      code: 'BAD_REQUEST',
      message: violation ? `Invalid ${violation.field}: ${violation.reason}` : 'Invalid input',
      details: violation,
      internal: false,
    };
  }
  if (original instanceof GraphQLError) {
    const code = original.extensions?.code;
    if (typeof code === 'string' && APOLLO_REQUEST_CODES.has(code)) {
      return { code, message: original.message, internal: false };
    }
  }
  return { code: 'INTERNAL_SERVER_ERROR', message: 'Internal server error', internal: true };
}

/** Apollo's `formatError` and the graphql-ws error path: the one place errors are shaped. */
export function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const c = classifyError(error);
  const extensions: Record<string, unknown> = { code: c.code, status: statusOf(c.code), ...c.extra };
  if (c.details) extensions.details = c.details;
  return {
    message: c.message,
    ...(formatted.locations ? { locations: formatted.locations } : {}),
    ...(formatted.path ? { path: formatted.path } : {}),
    extensions,
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
            if (classifyError(err).internal) {
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

import type { TypedDocumentNode } from '@graphql-typed-document-node/core';

/** What a REST handler sees of the HTTP request. */
export interface RestRequest {
  params: Record<string, string>;
  query: Record<string, unknown>;
  body: unknown;
  /** Routes with `upload`: the file, ready to pass as an Upload variable. */
  files: Record<string, unknown>;
}

/** JSON schemas for fastify validation and the OpenAPI description. */
export interface RouteSchema {
  params?: object;
  querystring?: object;
  body?: object;
  /** The shape of `data` in a successful envelope (documentation only). */
  data?: object;
}

/**
 * One `/v1` route: the GraphQL operation it runs, how the request becomes variables and how
 * the operation's data becomes the REST-shaped `data`. Nothing else: REST re-implements
 * no logic, so it shares the resolvers' authorization, validation and errors.
 */
export interface RestRoute<TData = unknown, TVars = Record<string, unknown>> {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  summary: string;
  operation: TypedDocumentNode<TData, TVars>;
  /** Public routes need no credential (documentation; the resolvers enforce it). */
  public?: boolean;
  schema?: RouteSchema;
  toVariables?: (req: RestRequest) => TVars;
  toData: (data: TData, req: RestRequest) => unknown;
  /** Response headers computed from the data (e.g. X-Total-Count). */
  headers?: (data: TData) => Record<string, string | undefined>;
  /** A multipart route: the form field holding the one file (text fields become `body`). */
  upload?: string;
  /** The envelope's `message` on success. */
  message?: string;
}

/** Keeps each route's data and variable types while collecting routes in one table. */
export function defineRoute<TData, TVars>(route: RestRoute<TData, TVars>): RestRoute<unknown, Record<string, unknown>> {
  return route as unknown as RestRoute<unknown, Record<string, unknown>>;
}

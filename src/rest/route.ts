import type { TypedDocumentNode } from '@graphql-typed-document-node/core';

/** What a REST handler sees of the HTTP request. */
export interface RestRequest {
  params: Record<string, string>;
  query: Record<string, unknown>;
  body: unknown;
  /** Routes with `upload`: the file, ready to pass as an Upload variable. */
  files: Record<string, unknown>;
  /** Routes with `stream`: the caller asked for an event stream (its operation should not wait). */
  stream: boolean;
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
  /** The route can answer a `text/event-stream` (see RouteStream). */
  stream?: RouteStream;
}

/** One event of a streamed route: sent as `event: <event>` with `data` as JSON. */
export interface StreamEvent {
  event: string;
  data: unknown;
  /** The stream ends after this event. */
  last?: boolean;
}

/**
 * A route that streams: when the body has `"stream": true` or the request accepts
 * `text/event-stream` (or always, with `only`), the router runs the route's operation
 * (`req.stream` is true for its variables), then the subscription `follow`, and sends each of
 * its results as the event `toEvent` makes. Errors before the first event are the usual error
 * envelope; later ones, and an `Error` from `toEvent`, are `event: error` with the envelope's
 * `error` object, ending the stream. REST still re-implements nothing: the subscription's
 * resolver checks who may follow what.
 */
export interface RouteStream<TData = unknown, TEvent = unknown, TFollowVars = Record<string, unknown>> {
  /** Only a stream: `operation` is not run, `follow` is, with `followVariables(undefined, req)`. */
  only?: boolean;
  follow: TypedDocumentNode<TEvent, TFollowVars>;
  followVariables: (data: TData | undefined, req: RestRequest) => TFollowVars;
  /** A result of `follow` as an event; `data` is the operation's (undefined with `only`). Throw an AppError for `event: error`. */
  toEvent: (event: TEvent, data: TData | undefined, req: RestRequest) => StreamEvent;
  /** The events and their `data`, in words, for the OpenAPI description (documentation only). */
  describe: string;
}

/** Keeps a stream's types (its operation's data, the followed events) while it joins a route. */
export function defineStream<TData, TEvent, TFollowVars>(stream: RouteStream<TData, TEvent, TFollowVars>): RouteStream {
  return stream as unknown as RouteStream;
}

/** Keeps each route's data and variable types while collecting routes in one table. */
export function defineRoute<TData, TVars>(route: RestRoute<TData, TVars>): RestRoute<unknown, Record<string, unknown>> {
  return route as unknown as RestRoute<unknown, Record<string, unknown>>;
}

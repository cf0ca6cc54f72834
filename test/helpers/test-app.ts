import { randomUUID } from 'node:crypto';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { createClient, type Client, type FormattedExecutionResult } from 'graphql-ws';
import pino from 'pino';
import WebSocket from 'ws';
import { createApp, type App } from '../../src/app';
import { type AppConfig, parseConfig } from '../../src/config';
import { openOrm } from '../../src/db/orm';
import type { AppDeps } from '../../src/deps';
import { freshDatabaseUrl } from './database';

/** One entry of a GraphQL response's `errors`, with the app's extensions. */
export interface GqlError {
  message: string;
  path?: Array<string | number>;
  extensions: { code: string; status: number; details?: { field?: string; reason?: string }; [k: string]: unknown };
}

export interface GqlResult<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: {
    data?: T | null;
    errors?: GqlError[];
  };
}

export interface RestResult<T = unknown> {
  status: number;
  headers: Headers;
  body: { code: number; message: string; data: T; error?: { code: number; message: string; details?: { field?: string; reason?: string } } };
}

export interface Credentials {
  token?: string;
  apiKey?: string;
  headers?: Record<string, string>;
}

/** A document from test/generated/graphql.ts, or a raw query (for deliberately odd or hostile ones). */
type Query = string | TypedDocumentNode<unknown, unknown>;
const queryText = (query: Query): string => (typeof query === 'string' ? query : print(query));

/**
 * Variables that deliberately break a typed document's variable types, to see how the server
 * refuses them: `t.gql(UpdateSettingsDocument, invalidVariables({ input: { isDarkMode: 'yes' } }))`.
 */
export const invalidVariables = (variables: Record<string, unknown>) => variables as never;

export interface TestApp {
  app: App;
  config: AppConfig;
  url: string;
  wsUrl: string;
  /** POST /graphql with JSON: a typed document (typed result and variables)... */
  gql<R, V>(document: TypedDocumentNode<R, V>, variables?: V, creds?: Credentials): Promise<GqlResult<R>>;
  /** ...or a raw query string, for queries a test sends malformed or hostile on purpose. */
  gql<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>, creds?: Credentials): Promise<GqlResult<T>>;
  /** A /v1 request; `body` is sent as JSON. */
  rest<T = unknown>(method: string, path: string, opts?: Credentials & { body?: unknown }): Promise<RestResult<T>>;
  /** A graphql-ws client on /graphql (closed by `close()`). */
  ws(connectionParams?: Record<string, unknown>): Client;
  close(): Promise<void>;
}

function authHeaders(creds: Credentials = {}): Record<string, string> {
  return {
    ...(creds.token ? { authorization: `Bearer ${creds.token}` } : {}),
    ...(creds.apiKey ? { 'x-api-key': creds.apiKey } : {}),
    ...creds.headers,
  };
}

/** With TEST_REDIS_URL, each app gets the shared Redis under its own key prefix. */
export function testRedisEnv(prefix = `test:${randomUUID()}:`): Record<string, string> {
  return process.env.TEST_REDIS_URL ? { REDIS_URL: process.env.TEST_REDIS_URL, REDIS_PREFIX: prefix } : {};
}

/**
 * Starts the real app on a random port with a fresh database (SQLite, or MySQL when
 * TEST_DATABASE_URL is set). `env` adds settings; `overrides` substitutes dependencies.
 */
export async function startTestApp(
  opts: { env?: Record<string, string>; overrides?: Partial<AppDeps>; onQuery?: (sql: string) => void; timings?: (timings: AppConfig['timings']) => void } = {},
): Promise<TestApp> {
  const config = parseConfig({
    NODE_ENV: 'test',
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: freshDatabaseUrl(),
    JWT_SECRET: 'test-secret-that-is-long-enough-for-hs256-signing',
    // Tests log in and send freely; the rate-limit tests set their own numbers.
    RATE_LIMIT_PER_MINUTE: '100000',
    AI_RATE_LIMIT_PER_MINUTE: '100000',
    LOGIN_RATE_LIMIT_PER_MINUTE: '100000',
    // Replies still running when a test closes its app are stopped soon.
    SHUTDOWN_TIMEOUT_MS: '1000',
    ...testRedisEnv(),
    ...opts.env,
  });
  // Timings have no environment variables; a test shortens them here.
  opts.timings?.(config.timings);
  const app = await createApp(config, { logger: pino({ level: 'silent' }), ...opts.overrides }, { onQuery: opts.onQuery });
  const url = await app.listen();
  const wsUrl = `${url.replace(/^http/, 'ws')}/graphql`;
  const clients: Client[] = [];

  return {
    app,
    config,
    url,
    wsUrl,
    async gql(query: Query, variables?: unknown, creds?: Credentials) {
      const res = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...authHeaders(creds) },
        body: JSON.stringify({ query: queryText(query), variables }),
      });
      // The response is JSON the test asserts on; its type comes from the document (or the caller).
      return { status: res.status, headers: res.headers, body: (await res.json()) as GqlResult['body'] } as never;
    },
    async rest(method, path, o = {}) {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: { ...(o.body !== undefined ? { 'content-type': 'application/json' } : {}), ...authHeaders(o) },
        body: o.body !== undefined ? JSON.stringify(o.body) : undefined,
      });
      const text = await res.text();
      return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined } as never;
    },
    ws(connectionParams) {
      const client = createClient({ url: wsUrl, webSocketImpl: WebSocket, connectionParams, retryAttempts: 0, lazy: true });
      clients.push(client);
      return client;
    },
    /** Shuts the app down (if a test has not already) and drops its MySQL database. */
    async close() {
      await Promise.all(clients.map((c) => c.dispose()));
      await app.shutdown('test finished');
      if (config.database.kind === 'mysql') {
        const orm = await openOrm(config.database, { migrate: false });
        await orm.schema.dropDatabase(config.database.dbName);
        await orm.close(true);
      }
    },
  };
}

/** A running subscription: the results so far, how it ended, and a way to wait for more. */
export interface Subscription<T> {
  results: T[];
  /** Set when the server ended it with an error (or the socket failed). */
  error?: unknown;
  /** True once it completed or failed. */
  ended: boolean;
  /** The first result (received so far or later) that matches; rejects when it ends without one, or after `ms`. */
  until(match: (result: T) => boolean, ms?: number): Promise<T>;
  dispose(): void;
}

/** Starts one subscription and keeps what it receives, for a test that acts while it runs. */
export function subscribe<R, V>(client: Client, document: TypedDocumentNode<R, V>, variables?: V): Subscription<FormattedExecutionResult<R>>;
export function subscribe<T = unknown>(client: Client, query: string, variables?: Record<string, unknown>): Subscription<T>;
export function subscribe(client: Client, query: Query, variables?: unknown): Subscription<unknown> {
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const w of [...waiters]) w();
  };
  const sub: Subscription<unknown> = {
    results: [],
    ended: false,
    until: (match, ms = 5000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const found = sub.results.find(match);
          if (found === undefined && !sub.ended) return;
          waiters.delete(check);
          clearTimeout(timer);
          if (found !== undefined) resolve(found);
          else reject(new Error(`subscription ended without a matching result: ${JSON.stringify({ results: sub.results, error: sub.error })}`));
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no matching result in ${ms} ms: ${JSON.stringify(sub.results)}`));
        }, ms);
        waiters.add(check);
        check();
      }),
    dispose: () => dispose(),
  };
  const dispose = client.subscribe(
    { query: queryText(query), variables: variables as Record<string, unknown> | undefined },
    {
      next: (value) => {
        sub.results.push(value);
        wake();
      },
      error: (error) => {
        sub.error = error;
        sub.ended = true;
        wake();
      },
      complete: () => {
        sub.ended = true;
        wake();
      },
    },
  );
  return sub;
}

/** Runs one subscription and collects up to `count` results (or until it completes/errors). */
export function collect<R, V>(
  client: Client,
  document: TypedDocumentNode<R, V>,
  variables?: V,
  count?: number,
  timeoutMs?: number,
): Promise<{ results: Array<FormattedExecutionResult<R>>; error?: unknown }>;
export function collect<T = unknown>(client: Client, query: string, variables?: Record<string, unknown>, count?: number, timeoutMs?: number): Promise<{ results: T[]; error?: unknown }>;
export async function collect(client: Client, query: Query, variables?: unknown, count = Infinity, timeoutMs = 10_000): Promise<{ results: unknown[]; error?: unknown }> {
  const results: unknown[] = [];
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      dispose();
      resolve({ results, error: new Error('timeout') });
    }, timeoutMs);
    const dispose = client.subscribe(
      { query: queryText(query), variables: variables as Record<string, unknown> | undefined },
      {
        next: (value) => {
          results.push(value);
          if (results.length >= count) {
            clearTimeout(timer);
            dispose();
            resolve({ results });
          }
        },
        error: (error) => {
          clearTimeout(timer);
          resolve({ results, error });
        },
        complete: () => {
          clearTimeout(timer);
          resolve({ results });
        },
      },
    );
  });
}

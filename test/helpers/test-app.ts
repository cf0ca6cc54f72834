import { randomUUID } from 'node:crypto';
import { createClient, type Client } from 'graphql-ws';
import pino from 'pino';
import WebSocket from 'ws';
import { createApp, type App } from '../../src/app';
import { type AppConfig, parseConfig } from '../../src/config';
import { openOrm } from '../../src/db/orm';
import type { AppDeps } from '../../src/deps';
import { freshDatabaseUrl } from './database';

export interface GqlResult<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: {
    data?: T | null;
    errors?: Array<{ message: string; path?: string[]; extensions: { code: string; status: number; details?: { field?: string; reason?: string }; [k: string]: unknown } }>;
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

export interface TestApp {
  app: App;
  config: AppConfig;
  url: string;
  wsUrl: string;
  /** POST /graphql with JSON. */
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
    async gql(query, variables, creds) {
      const res = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...authHeaders(creds) },
        body: JSON.stringify({ query, variables }),
      });
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

/** Runs one subscription and collects up to `count` results (or until it completes/errors). */
export async function collect<T = unknown>(client: Client, query: string, variables?: Record<string, unknown>, count = Infinity, timeoutMs = 10_000): Promise<{ results: T[]; error?: unknown }> {
  const results: T[] = [];
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      dispose();
      resolve({ results, error: new Error('timeout') });
    }, timeoutMs);
    const dispose = client.subscribe<T>(
      { query, variables },
      {
        next: (value) => {
          results.push(value as T);
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

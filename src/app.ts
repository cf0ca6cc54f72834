import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import type { AppConfig } from './config';
import { isDatabaseReachable, openOrm } from './db/orm';
import type { AppDeps } from './deps';
import { REST_ROUTES } from './rest/routes';
import { buildAppSchema } from './schema/build-schema';
import { buildServer, loggerOptions } from './server';
import { ECHO_MODEL, ModelCatalog } from './services/ai/model-catalog';

export interface App {
  deps: AppDeps;
  server: FastifyInstance;
  /** Listens on the configured host and port (0 = any free port); returns the base URL. */
  listen(): Promise<string>;
  /**
   * Stops accepting, lets running requests finish (up to SHUTDOWN_TIMEOUT_MS), closes
   * sockets with 1001 and the database. Resolves with the process exit code.
   */
  shutdown(reason: string): Promise<number>;
}

/** Builds the whole app from a config; `overrides` lets tests substitute dependencies. */
export async function createApp(config: AppConfig, overrides: Partial<AppDeps> = {}): Promise<App> {
  const logger = overrides.logger ?? pino(loggerOptions(config));
  const orm = overrides.orm ?? (await openOrm(config.database, { migrate: config.migrateOnStart }));
  const deps: AppDeps = {
    config,
    orm,
    logger,
    catalog: overrides.catalog ?? new ModelCatalog([ECHO_MODEL]),
  };

  const { app: server } = await buildServer({
    deps,
    schema: await buildAppSchema(),
    restRoutes: REST_ROUTES,
    readinessChecks: [{ name: 'database', check: () => isDatabaseReachable(orm) }],
    identify: async () => ({ viewer: null }),
  });

  let shuttingDown: Promise<number> | undefined;
  const shutdown = (reason: string) =>
    (shuttingDown ??= (async () => {
      logger.info({ reason }, 'shutting down');
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), config.shutdownTimeoutMs);
        timer.unref();
      });
      const closed = await Promise.race([server.close().then(() => 'closed' as const), timedOut]);
      clearTimeout(timer);
      if (closed === 'timeout') {
        logger.warn('requests still running after the shutdown timeout; closing them');
        server.server.closeAllConnections();
      }
      await orm.close(true);
      logger.info('stopped');
      return 0;
    })());

  return {
    deps,
    server,
    listen: async () => {
      await server.listen({ port: config.port, host: config.host });
      const address = server.server.address();
      const port = typeof address === 'object' && address ? address.port : config.port;
      return `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
    },
    shutdown,
  };
}

import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import type { AppConfig } from './config';
import { isDatabaseReachable, openOrm } from './db/orm';
import { stdoutSink } from './core/stdout';
import { shutdownTracing } from './core/trace';
import { createDeps, type AppDeps } from './deps';
import { buildAppSchema } from './graphql/build-schema';
import { buildServer, loggerOptions } from './http/server';
import type { Job } from './jobs/job';
import { purgeJob } from './jobs/purge';
import { reconcileJob } from './jobs/reconcile';
import { billReconcileJob } from './jobs/bill-reconcile';
import { sweepJob } from './jobs/sweep';
import { connectSharedState } from './redis/shared-state';
import { REST_ROUTES } from './rest/routes';

export interface App {
  deps: AppDeps;
  server: FastifyInstance;
  /** Listens on the configured host and port (0 = any free port); returns the base URL. */
  listen(): Promise<string>;
  /**
   * Stops accepting, lets running requests finish (up to SHUTDOWN_TIMEOUT_MS), closes
   * sockets with 1001, stores the replies still running, then closes the database.
   * Resolves with the process exit code.
   */
  shutdown(reason: string): Promise<number>;
}

export interface AppOptions {
  /** Called with every SQL statement (tests count statements with it). */
  onQuery?: (sql: string) => void;
}

/** The composition root: the whole app from a config; `overrides` lets tests substitute parts. */
export async function createApp(config: AppConfig, overrides: Partial<AppDeps> = {}, options: AppOptions = {}): Promise<App> {
  const logger = overrides.logger ?? pino(loggerOptions(config), stdoutSink());
  const deadlines = config.timings.dependencies;
  const orm =
    overrides.orm ??
    (await openOrm(config.database, {
      migrate: config.migrateOnStart,
      onQuery: options.onQuery,
      log: (message) => logger.info({ component: 'orm' }, message),
      deadlines,
      warn: (message) => logger.warn({ component: 'orm' }, message),
    }));
  const shared = config.redisUrl ? await connectSharedState({ url: config.redisUrl, prefix: config.redisPrefix, orm, logger, commandTimeoutMs: deadlines.redisCommandTimeoutMs }) : undefined;
  const background = new AbortController();
  const deps = createDeps(config, { orm, logger, shared, background: background.signal }, overrides);

  const { app: server } = await buildServer({
    deps,
    schema: await buildAppSchema(),
    restRoutes: REST_ROUTES,
    readinessChecks: [
      { name: 'database', check: () => isDatabaseReachable(orm) },
      ...(shared ? [{ name: 'redis', check: () => shared.reachable() }] : []),
    ],
  });

  const jobs: Job[] = [
    purgeJob(orm, { everyMs: config.timings.jobs.purgeIntervalMs, listCursorTtlMs: config.timings.chats.listCursorTtlMs, chatRetentionDays: config.chatRetentionDays }, logger),
    reconcileJob(deps.payments, config.timings.jobs.reconcileIntervalMs, logger),
    ...(config.reconcileBills ? [billReconcileJob(deps.payments.reconciliation, config.timings.jobs.billReconcileIntervalMs, logger)] : []),
    sweepJob(orm, deps.replies, { everyMs: config.timings.replies.sweepIntervalMs, minAgeMs: config.timings.replies.sweepMinAgeMs, holdMaxAgeMs: holdMaxAgeMs(config) }, logger, deps.billing),
  ];
  for (const job of jobs) job.start();

  let shuttingDown: Promise<number> | undefined;
  const shutdown = (reason: string) =>
    (shuttingDown ??= (async () => {
      logger.info({ reason }, 'shutting down');
      for (const job of jobs) job.stop();
      const started = Date.now();
      await closeServer(server, config.shutdownTimeoutMs, logger);
      // Replies outlive their requests: give them what is left of the timeout, then stop and store them.
      await deps.replies.drain(Math.max(0, config.shutdownTimeoutMs - (Date.now() - started)));
      await orm.close(true);
      background.abort();
      deps.replies.state.close();
      deps.moderation.close();
      shared?.close();
      // Last, so the spans of the shutdown's own work are sent too.
      await shutdownTracing().catch((err: unknown) => logger.warn({ err }, 'sending the last traces failed'));
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

/** A reply hold open longer than the slowest model's timeout (plus the dead-instance grace) has no live reply left. */
function holdMaxAgeMs(config: AppConfig): number {
  return Math.max(config.ai.timeoutMs, ...config.ai.models.map((m) => m.timeoutMs ?? 0)) + config.timings.replies.deadInstanceGraceMs;
}

/** Closes the server, cutting the connections still open after `timeoutMs`. */
async function closeServer(server: FastifyInstance, timeoutMs: number, logger: AppDeps['logger']): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
    timer.unref();
  });
  const closed = await Promise.race([server.close().then(() => 'closed' as const), timedOut]);
  clearTimeout(timer);
  if (closed === 'timeout') {
    logger.warn('requests still running after the shutdown timeout; closing them');
    server.server.closeAllConnections();
  }
}

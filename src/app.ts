import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import type { AppConfig } from './config';
import { isDatabaseReachable, openOrm } from './db/orm';
import { ChatActivity } from './db/entities/chat-activity.entity';
import { RevokedToken } from './db/entities/revoked-token.entity';
import type { AppDeps } from './deps';
import { REST_ROUTES } from './rest/routes';
import { buildAppSchema } from './graphql/build-schema';
import { buildServer, loggerOptions } from './http/server';
import { EchoProvider, OpenAICompatibleProvider } from './replies/providers/chat-provider';
import { ModelCatalog } from './models/model-catalog';
import { ReplyHub } from './replies/reply-hub';
import { SpeechService } from './speech/speech.service';
import { RateLimits } from './limits/rate-limits';
import { MemoryThrottle, RedisThrottle } from './limits/throttle';
import { createPayments, paymentProviders } from './payments';
import { Billing } from './payments/billing';
import { createPubSub } from '@graphql-yoga/subscription';
import { connectSharedState } from './redis/shared-state';
import { shareSessionRevocations } from './accounts/live-sessions';
import { Authenticator } from './accounts/authenticator';
import { TokenService } from './accounts/token.service';
import { LIST_CURSOR_TTL_MS } from './chats/chat.service';
import { LocalWechatLogin, WechatLoginClient } from './accounts/wechat-login.client';

/**
 * Revoked tokens are kept until they would have expired, chat activity as long as a list
 * cursor lives; then both are deleted.
 */
const PURGE_INTERVAL_MS = 60 * 60 * 1000;

/** Pending orders are checked with their provider, and expired ones closed, this often. */
const RECONCILE_INTERVAL_MS = 60 * 1000;
const PAYMENT_TIMEOUT_MS = 10_000;

/** How long a finished reply's events stay replayable (and ephemeral idempotency keys held). */
const REPLY_RETAIN_MS = 5 * 60 * 1000;

/** The first token must come sooner than the whole reply (AI_TIMEOUT_MS). */
const FIRST_TOKEN_TIMEOUT_MS = 20_000;

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
export interface AppOptions {
  /** Called with every SQL statement (tests count statements with it). */
  onQuery?: (sql: string) => void;
}

export async function createApp(config: AppConfig, overrides: Partial<AppDeps> = {}, options: AppOptions = {}): Promise<App> {
  const logger = overrides.logger ?? pino(loggerOptions(config));
  const orm = overrides.orm ?? (await openOrm(config.database, { migrate: config.migrateOnStart, onQuery: options.onQuery, log: (message) => logger.info({ component: 'orm' }, message) }));
  const tokens = overrides.tokens ?? new TokenService(config.jwt.secret, config.jwt.ttlSeconds);
  const wechatLogin =
    overrides.wechatLogin ??
    (config.wechat.login
      ? new WechatLoginClient({ ...config.wechat.login, apiBase: config.wechat.apiBase, timeoutMs: config.wechat.timeoutMs })
      : new LocalWechatLogin());
  if (wechatLogin.local) logger.warn('WeChat login is in local mode: any code logs in as a local user derived from it (development only)');
  const catalog = overrides.catalog ?? new ModelCatalog(config.ai.models);
  const billing = new Billing(orm, logger);
  const shared = config.redisUrl ? await connectSharedState({ url: config.redisUrl, prefix: config.redisPrefix, orm, logger, replyRetainMs: REPLY_RETAIN_MS }) : undefined;
  const redis = shared?.redis;
  // One transport for every PubSub: in-process, or Redis so events reach every instance.
  const eventTarget = shared?.eventTarget;
  const deps: AppDeps = {
    redis,
    rateLimits: overrides.rateLimits ?? new RateLimits(config.limits, redis ? { redis, prefix: config.redisPrefix } : undefined),
    payments:
      overrides.payments ??
      createPayments({
        orm,
        logger,
        providers: paymentProviders(config, PAYMENT_TIMEOUT_MS),
        throttle: redis ? new RedisThrottle(redis, config.redisPrefix) : new MemoryThrottle(),
        pubsub: createPubSub({ eventTarget }),
      }),
    config,
    orm,
    logger,
    catalog,
    replyHub:
      overrides.replyHub ??
      new ReplyHub({
        orm,
        logger,
        providers: { builtin: new EchoProvider(), openai: new OpenAICompatibleProvider() },
        timeoutMs: config.ai.timeoutMs,
        firstTokenTimeoutMs: Math.min(config.ai.timeoutMs, FIRST_TOKEN_TIMEOUT_MS),
        retainMs: REPLY_RETAIN_MS,
        pubsub: eventTarget ? createPubSub({ eventTarget }) : undefined,
        relay: shared?.relay,
        charge: (reply) => billing.chargeReply(reply),
      }),
    speech:
      overrides.speech ??
      new SpeechService({ model: config.stt.model, baseUrl: config.stt.baseUrl, apiKey: config.stt.apiKey, maxUploadBytes: config.stt.maxUploadBytes, timeoutMs: config.ai.timeoutMs }),
    tokens,
    wechatLogin,
    authenticator: overrides.authenticator ?? new Authenticator(orm, tokens, shared?.revocations),
  };
  const background = new AbortController();
  if (eventTarget) {
    deps.replyHub.listenForStops(background.signal).catch((err) => logger.error({ err }, 'listening for stop requests failed'));
    shareSessionRevocations(deps.authenticator.sessions, createPubSub({ eventTarget }), background.signal, logger);
  }

  const { app: server } = await buildServer({
    deps,
    schema: await buildAppSchema(),
    restRoutes: REST_ROUTES,
    readinessChecks: [
      { name: 'database', check: () => isDatabaseReachable(orm) },
      ...(shared ? [{ name: 'redis', check: () => shared.reachable() }] : []),
    ],
    identify: (credentials) => deps.authenticator.identify(credentials),
  });

  const purge = setInterval(() => {
    const em = orm.em.fork();
    Promise.all([
      em.nativeDelete(RevokedToken, { expiresAt: { $lt: new Date() } }),
      em.nativeDelete(ChatActivity, { changedAt: { $lt: new Date(Date.now() - LIST_CURSOR_TTL_MS) } }),
    ]).catch((err) => logger.warn({ err }, 'purging expired rows failed'));
  }, PURGE_INTERVAL_MS);
  purge.unref();
  const reconciler = setInterval(() => {
    deps.payments.settlement.reconcile().catch((err) => logger.warn({ err }, 'payment reconciliation failed'));
  }, RECONCILE_INTERVAL_MS);
  reconciler.unref();

  let shuttingDown: Promise<number> | undefined;
  const shutdown = (reason: string) =>
    (shuttingDown ??= (async () => {
      logger.info({ reason }, 'shutting down');
      clearInterval(purge);
      clearInterval(reconciler);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), config.shutdownTimeoutMs);
        timer.unref();
      });
      const started = Date.now();
      const closed = await Promise.race([server.close().then(() => 'closed' as const), timedOut]);
      clearTimeout(timer);
      if (closed === 'timeout') {
        logger.warn('requests still running after the shutdown timeout; closing them');
        server.server.closeAllConnections();
      }
      // Replies outlive their requests: give them what is left of the timeout, then stop and store them.
      await deps.replyHub.drain(Math.max(0, config.shutdownTimeoutMs - (Date.now() - started)));
      await orm.close(true);
      background.abort();
      shared?.close();
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

import { newId } from './core/ids';
import type { Redis } from 'ioredis';
import { Authenticator } from './accounts/authenticator';
import { shareSessionRevocations } from './accounts/live-sessions';
import { TokenService } from './accounts/token.service';
import { LocalWechatLogin, type WechatLogin, WechatLoginClient } from './accounts/wechat-login.client';
import type { AppConfig } from './config';
import type { Logger } from './core/logger';
import type { Orm } from './db/orm';
import { createTopics } from './events';
import { RateLimits } from './limits/rate-limits';
import { MemoryThrottle, RedisThrottle } from './limits/throttle';
import { ModelCatalog } from './models/model-catalog';
import { createModeration, type ModerationService } from './moderation';
import { createPayments, paymentProviders, type Payments, virtualPayProviders } from './payments';
import { Billing } from './payments/billing';
import { PromMetrics } from './metrics/prom-metrics';
import { UsageLog } from './usage/usage-log';
import type { SharedState } from './redis/shared-state';
import { EchoProvider } from './replies/providers/echo';
import { OpenAICompatibleProvider } from './replies/providers/openai-compatible';
import { ReplyRecorder } from './replies/recording';
import { ReplyRunner } from './replies/reply-runner';
import { MemoryReplyState } from './replies/state/memory-reply-state';
import { RedisReplyState } from './replies/state/redis-reply-state';
import type { ReplyState, ReplyTopics } from './replies/state/reply-state';
import { OpenAITranscriber } from './speech/speech.client';
import { SpeechService } from './speech/speech.service';
import type { SpeakSetup } from './speech/speak.service';
import { SpeechLinks } from './speech/speech-link';
import { OpenAISynthesizer } from './speech/tts.client';
import { EchoTranscriber } from './speech/transcriber';

/** The long-lived parts of the app, made once at start and shared by every request. */
export interface AppDeps {
  config: AppConfig;
  orm: Orm;
  logger: Logger;
  catalog: ModelCatalog;
  tokens: TokenService;
  wechatLogin: WechatLogin;
  authenticator: Authenticator;
  replies: ReplyRunner;
  recorder: ReplyRecorder;
  speech: SpeechService;
  /** Text to speech (speakMessage): the provider, the default voice, the signed audio links. */
  tts: SpeakSetup;
  /** Content security: input checks, the output filter, suspensions. */
  moderation: ModerationService;
  rateLimits: RateLimits;
  payments: Payments;
  /** Holds and charges of priced replies (the recorder's ReplyCharges); the sweep releases stale holds through it. */
  billing: Billing;
  /** One usage row per billable call (replies, speech). */
  usage: UsageLog;
  /** The Prometheus registry behind GET /metrics, and the port features report through. */
  metrics: PromMetrics;
  /** Set when REDIS_URL is: state shared by every instance. */
  redis?: Redis;
}

/**
 * Makes every long-lived part from the config, in dependency order. `overrides` lets tests
 * substitute one part; `shared` is the Redis connection set when REDIS_URL is configured.
 * `background` ends the listeners started here (stop requests, session revocations).
 */
export function createDeps(config: AppConfig, base: { orm: Orm; logger: Logger; shared?: SharedState; background: AbortSignal }, overrides: Partial<AppDeps> = {}): AppDeps {
  const { orm, logger, shared, background } = base;
  const redis = shared?.redis;
  const transport = shared?.eventTarget;
  const t = config.timings;

  const tokens = overrides.tokens ?? new TokenService(config.jwt.secret, config.jwt.ttlSeconds);
  const wechatLogin = overrides.wechatLogin ?? (config.wechat.login ? new WechatLoginClient({ ...config.wechat.login, apiBase: config.wechat.apiBase, timeoutMs: config.wechat.timeoutMs }) : new LocalWechatLogin());
  if (wechatLogin.local) logger.warn('WeChat login is in local mode: any code logs in as a local user derived from it (development only)');
  const authenticator = overrides.authenticator ?? new Authenticator(orm, tokens, shared?.revocations, t.accounts.apiKeyLastUsedResolutionMs);
  if (transport) shareSessionRevocations(authenticator.sessions, createTopics(transport), background, logger);

  const rateLimits = overrides.rateLimits ?? new RateLimits(config.limits, redis ? { redis, prefix: config.redisPrefix } : undefined);
  const payments =
    overrides.payments ??
    createPayments({
      orm,
      logger,
      providers: { ...paymentProviders(config, t.payments.providerTimeoutMs), ...virtualPayProviders(config, { orm, logger, redis, timeoutMs: t.payments.providerTimeoutMs }) },
      virtualPay: config.virtualPay,
      throttle: redis ? new RedisThrottle(redis, config.redisPrefix) : new MemoryThrottle(),
      pubsub: createTopics(transport),
      checkIntervalMs: { poll: t.payments.pollCheckIntervalMs, reconcile: t.payments.reconcileCheckIntervalMs },
      refundRepeatWindowMs: t.payments.refundRepeatWindowMs,
    });

  const replyState: ReplyState = redis
    ? new RedisReplyState({
        redis,
        prefix: config.redisPrefix,
        topics: createTopics<ReplyTopics>(transport),
        logger,
        retainMs: t.replies.retainMs,
        localRetainMs: t.replies.localRetainWithRedisMs,
        slotMaxAgeMs: config.ai.timeoutMs + t.replies.deadInstanceGraceMs,
        instanceId: newId(),
        heartbeatMs: t.replies.heartbeatMs,
        heartbeatTtlMs: t.replies.heartbeatTtlMs,
      })
    : new MemoryReplyState(createTopics<ReplyTopics>(), t.replies.retainMs);
  const metrics = overrides.metrics ?? new PromMetrics();
  const usage = overrides.usage ?? new UsageLog(orm, logger);
  const billing = overrides.billing ?? new Billing(orm, logger);
  const recorder = overrides.recorder ?? new ReplyRecorder(orm, billing, logger, usage);
  const moderation = overrides.moderation ?? createModeration(config, { orm, logger, redis, metrics });
  const replies =
    overrides.replies ??
    new ReplyRunner({
      state: replyState,
      recorder,
      providers: { builtin: new EchoProvider(), openai: new OpenAICompatibleProvider() },
      filters: [moderation.outputFilters()],
      metrics,
      timings: {
        timeoutMs: config.ai.timeoutMs,
        firstTokenTimeoutMs: Math.min(config.ai.timeoutMs, t.replies.firstTokenTimeoutMs),
        retriesBeforeFirstToken: t.replies.retriesBeforeFirstToken,
        retryBaseDelayMs: t.replies.retryBaseDelayMs,
        recheckLocalMs: t.replies.recheckLocalMs,
        recheckRemoteMs: t.replies.recheckRemoteMs,
        giveUpAfterMs: config.ai.timeoutMs + t.replies.deadInstanceGraceMs,
        stopGraceMs: t.replies.stopGraceMs,
      },
      logger,
    });
  if (transport) replies.listenForStops(background).catch((err) => logger.error({ err }, 'listening for stop requests failed'));

  const tts = overrides.tts ?? {
    // Without a provider (config.ts says what configures one): a placeholder tone outside
    // production, and none in production, so speakMessage answers SERVICE_NOT_CONFIGURED.
    synthesizer: config.tts.configured ? new OpenAISynthesizer({ model: config.tts.model, baseUrl: config.tts.baseUrl, apiKey: config.tts.apiKey, timeoutMs: config.ai.timeoutMs }) : undefined,
    placeholder: !config.tts.configured && !config.production,
    defaultVoice: config.tts.voice,
    links: new SpeechLinks(config.jwt.secret, Math.round(t.speech.audioLinkTtlMs / 1000)),
    logger,
    usage,
  };
  if (tts.placeholder) logger.warn('Text to speech has no provider: speakMessage answers a placeholder tone, not speech (development only)');

  return {
    config,
    orm,
    tts,
    logger,
    redis,
    catalog: overrides.catalog ?? new ModelCatalog(config.ai.models),
    tokens,
    wechatLogin,
    authenticator,
    rateLimits,
    payments,
    recorder,
    billing,
    usage,
    metrics,
    replies,
    moderation,
    speech:
      overrides.speech ??
      new SpeechService({
        // Without a provider (config.ts says what configures one): the offline echo outside
        // production, and none in production, so speechToText answers SERVICE_NOT_CONFIGURED.
        transcriber: config.stt.configured
          ? new OpenAITranscriber({ model: config.stt.model, baseUrl: config.stt.baseUrl, apiKey: config.stt.apiKey, timeoutMs: config.ai.timeoutMs })
          : config.production
            ? undefined
            : new EchoTranscriber(),
        maxUploadBytes: config.stt.maxUploadBytes,
        logger,
        moderation,
        usage,
      }),
  };
}

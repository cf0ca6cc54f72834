import { randomBytes } from 'node:crypto';
import { accessSync, constants as fsConstants, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { buildCatalog, type ModelConfig } from './models/catalog-config';
import { type VirtualPaySettings, virtualPaySettings } from './payments/virtual-pay.config';

/**
 * Every setting the server reads, parsed and checked in one place. `parseConfig` lists
 * every problem at once so an operator fixes a bad deployment in one pass.
 *
 * Longer than 300 lines on purpose: every variable, default and cross-field rule stays in
 * one file, so whoever configures a deployment reads the whole of it in one place.
 */

const emptyToUndefined = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);
const optionalString = z.preprocess(emptyToUndefined, z.string().optional());
const int = (def: number, min: number, max: number) =>
  z.preprocess(emptyToUndefined, z.coerce.number().int().min(min).max(max).default(def));
const bool = (def: boolean) =>
  z.preprocess(
    emptyToUndefined,
    z
      .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
      .default(def ? 'true' : 'false')
      .transform((v) => v === 'true' || v === '1' || v === 'yes'),
  );
const url = () => z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' });
const httpUrl = (def: string) => z.preprocess(emptyToUndefined, url().default(def));
const optionalHttpUrl = () => z.preprocess(emptyToUndefined, url().optional());
/** A PEM setting holds the PEM text itself or a path to a PEM file. */
const pem = z.preprocess(
  emptyToUndefined,
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.includes('-----BEGIN') || /^[A-Za-z0-9+/=\s]{100,}$/.test(v)) return v;
      try {
        return readFileSync(v, 'utf8');
      } catch {
        ctx.addIssue({ code: 'custom', message: `is neither PEM text nor a readable file: ${v}` });
        return z.NEVER;
      }
    }),
);

const durationPattern = /^(\d+)\s*(s|m|h|d)?$/;
/** "7d", "12h", "30m", "3600" (seconds) -> seconds. */
function parseDuration(v: string): number | undefined {
  const m = durationPattern.exec(v.trim());
  if (!m) return undefined;
  const unit = { s: 1, m: 60, h: 3600, d: 86400 }[(m[2] ?? 's') as 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * unit;
}

/**
 * OpenTelemetry traces (the standard variable names). Parsed on their own as well, by
 * `parseTracingConfig`, because src/tracing.ts reads them before anything else loads.
 */
const tracingSchema = z.object({
  // Unset: no tracing SDK loads at all. Else spans go to <endpoint>/v1/traces over OTLP/HTTP (JSON).
  OTEL_EXPORTER_OTLP_ENDPOINT: optionalHttpUrl(),
  OTEL_SERVICE_NAME: z.preprocess(emptyToUndefined, z.string().max(200).default('chat-assistant-server')),
});

const envSchema = z.object({
  ...tracingSchema.shape,
  PORT: int(4000, 0, 65535),
  HOST: z.preprocess(emptyToUndefined, z.string().default('127.0.0.1')),
  NODE_ENV: z.preprocess(emptyToUndefined, z.enum(['development', 'production', 'test']).default('development')),
  LOG_LEVEL: z.preprocess(
    emptyToUndefined,
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ),
  DATABASE_URL: z.preprocess(emptyToUndefined, z.string().default('sqlite:./data/app.db')),
  DB_MIGRATE_ON_START: bool(true),
  REDIS_URL: z.preprocess(emptyToUndefined, z.url({ protocol: /^rediss?$/, message: 'must be a redis:// URL' }).optional()),
  // Lets several deployments (or test runs) share one Redis without sharing keys.
  REDIS_PREFIX: z.preprocess(emptyToUndefined, z.string().regex(/^[\w:.-]{1,64}$/, 'must be 1-64 of letters, digits, _ : . -').default('chat:')),
  JWT_SECRET: optionalString,
  JWT_TTL: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .default('7d')
      .transform((v, ctx) => {
        const seconds = parseDuration(v);
        if (!seconds) {
          ctx.addIssue({ code: 'custom', message: 'must be a duration like 7d, 12h, 30m or a number of seconds' });
          return z.NEVER;
        }
        return seconds;
      }),
  ),
  OPENAI_API_KEY: optionalString,
  OPENAI_BASE_URL: httpUrl('https://api.openai.com/v1'),
  AI_MODELS: optionalString,
  ALLOW_ECHO_IN_PRODUCTION: bool(false),
  DEFAULT_MODEL: optionalString,
  STT_MODEL: z.preprocess(emptyToUndefined, z.string().default('whisper-1')),
  STT_BASE_URL: optionalHttpUrl(),
  STT_API_KEY: optionalString,
  TTS_MODEL: z.preprocess(emptyToUndefined, z.string().default('tts-1')),
  TTS_BASE_URL: optionalHttpUrl(),
  TTS_API_KEY: optionalString,
  // Providers' voice names are short tokens (alloy, nova, zh-CN-XiaoxiaoNeural).
  TTS_VOICE: z.preprocess(emptyToUndefined, z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'must be 1-32 of letters, digits, _ and -').default('alloy')),
  WECHAT_APP_ID: optionalString,
  WECHAT_APP_SECRET: optionalString,
  WECHAT_API_BASE: httpUrl('https://api.weixin.qq.com'),
  WECHAT_TIMEOUT_MS: int(5000, 100, 60_000),
  WECHATPAY_MCHID: optionalString,
  WECHATPAY_APP_ID: optionalString,
  WECHATPAY_SERIAL_NO: optionalString,
  WECHATPAY_PRIVATE_KEY: pem,
  WECHATPAY_PUBLIC_KEY: pem,
  WECHATPAY_PUBLIC_KEY_ID: optionalString,
  WECHATPAY_APIV3_KEY: z.preprocess(emptyToUndefined, z.string().length(32, 'must be 32 characters').optional()),
  WECHATPAY_NOTIFY_URL: optionalHttpUrl(),
  WECHATPAY_BASE_URL: httpUrl('https://api.mch.weixin.qq.com'),
  WECHATPAY_H5_ENABLED: bool(false),
  WECHATPAY_PLATFORM_CERT_SERIAL: optionalString,
  WECHATPAY_PLATFORM_CERT: pem,
  // Mini-program virtual payment and message push (src/payments/virtual-pay.config.ts checks them together).
  WECHAT_XPAY_OFFER_ID: optionalString,
  WECHAT_XPAY_APP_KEY: optionalString,
  WECHAT_XPAY_ENV: z.preprocess(emptyToUndefined, z.enum(['0', '1'], { message: 'must be 0 (production) or 1 (sandbox)' }).default('0')),
  WECHAT_XPAY_PRODUCTS: optionalString,
  WECHAT_PUSH_TOKEN: optionalString,
  WECHAT_PUSH_AES_KEY: optionalString,
  DATA_ENCRYPTION_KEY: optionalString,
  ALIPAY_APP_ID: optionalString,
  ALIPAY_PRIVATE_KEY: pem,
  ALIPAY_PUBLIC_KEY: pem,
  ALIPAY_NOTIFY_URL: optionalHttpUrl(),
  ALIPAY_RETURN_URL: optionalHttpUrl(),
  ALIPAY_GATEWAY: httpUrl('https://openapi.alipay.com/gateway.do'),
  ALIPAY_SELLER_ID: optionalString,
  RATE_LIMIT_PER_MINUTE: int(300, 1, 1_000_000),
  AI_RATE_LIMIT_PER_MINUTE: int(30, 1, 1_000_000),
  LOGIN_RATE_LIMIT_PER_MINUTE: int(20, 1, 1_000_000),
  // Per user: redeem codes are unguessable, and this keeps it so.
  REDEEM_RATE_LIMIT_PER_MINUTE: int(10, 1, 1_000_000),
  MAX_CONCURRENT_STREAMS: int(3, 1, 1000),
  AI_TIMEOUT_MS: int(60_000, 100, 3_600_000),
  // true = one proxy hop (the load balancer); a number = that many hops; else addresses/CIDRs.
  TRUST_PROXY: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .default('false')
      .transform((v, ctx): false | number | string[] => {
        const text = v.trim().toLowerCase();
        if (['false', '0', 'no'].includes(text)) return false;
        if (['true', 'yes'].includes(text)) return 1;
        if (/^\d{1,2}$/.test(text)) return Number(text);
        const list = text.split(',').map((s) => s.trim()).filter(Boolean);
        if (list.length && list.every((s) => /^[0-9a-f.:]+(\/\d{1,3})?$/.test(s))) return list;
        ctx.addIssue({ code: 'custom', message: 'must be true, false, a hop count, or comma-separated proxy addresses/CIDRs' });
        return false;
      }),
  ),
  MAX_UPLOAD_MB: int(25, 1, 1024),
  BODY_LIMIT_KB: int(1024, 16, 102_400),
  SHUTDOWN_TIMEOUT_MS: int(10_000, 0, 600_000),
  // GET /metrics (Prometheus): on the main port behind this bearer token, and/or without one on
  // METRICS_PORT (bound to HOST, meant for a private network); neither set: off (404).
  METRICS_TOKEN: z.preprocess(emptyToUndefined, z.string().min(16, 'must be at least 16 characters').optional()),
  METRICS_PORT: z.preprocess(emptyToUndefined, z.coerce.number().int().min(1).max(65535).optional()),
  // Unset: chats are kept. Else chats untouched for longer are deleted by the purge job.
  CHAT_RETENTION_DAYS: z.preprocess(emptyToUndefined, z.coerce.number().int().min(1).max(36_500).optional()),
  RECONCILE_BILLS: bool(true),
  // Content security (src/moderation): each engine is optional; docs/operations.md says how to set them up.
  MODERATION_KEYWORDS_FILE: optionalString,
  MODERATION_WECHAT: z.preprocess(emptyToUndefined, z.enum(['on', 'off'], { message: 'must be on or off' }).optional()),
  MODERATION_WEBHOOK_URL: optionalHttpUrl(),
  MODERATION_WEBHOOK_SECRET: optionalString,
  MODERATION_WEBHOOK_TIMEOUT_MS: int(3000, 100, 60_000),
  MODERATION_ON_ERROR: z.preprocess(emptyToUndefined, z.enum(['allow', 'block'], { message: 'must be allow or block' }).default('allow')),
  // 0 = hits are recorded but nobody is suspended.
  MODERATION_STRIKES: int(5, 0, 10_000),
  MODERATION_STRIKE_WINDOW_HOURS: int(24, 1, 24 * 366),
  MODERATION_SUSPEND_HOURS: int(24, 1, 24 * 366),
  CORS_ORIGINS: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .optional()
      .transform((v, ctx) => {
        const origins = (v ?? '').split(',').map((o) => o.trim()).filter(Boolean);
        for (const o of origins) {
          if (o !== '*' && !/^https?:\/\/[^/\s]+$/.test(o)) {
            ctx.addIssue({ code: 'custom', message: `has an origin that is not scheme://host[:port]: ${o}` });
          }
        }
        return origins;
      }),
  ),
});

type Env = z.infer<typeof envSchema>;

/** Every environment variable the server reads (besides the catalog's `apiKeyEnv` names). */
export const ENV_VARIABLES = Object.keys(envSchema.shape);

export interface TracingConfig {
  /** Where spans are POSTed: the endpoint's `/v1/traces`. */
  tracesUrl: string;
  serviceName: string;
}

/**
 * The tracing settings, or undefined when tracing is off. A bad value is left to
 * `parseConfig`, which reports it with every other problem moments later.
 */
export function parseTracingConfig(env: Record<string, string | undefined>): TracingConfig | undefined {
  const parsed = tracingSchema.safeParse(env);
  if (!parsed.success || !parsed.data.OTEL_EXPORTER_OTLP_ENDPOINT) return undefined;
  const base = parsed.data.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '');
  return { tracesUrl: `${base}/v1/traces`, serviceName: parsed.data.OTEL_SERVICE_NAME };
}

/** `parseTracingConfig` over the process's environment (and `.env`, as `loadConfig` reads it). */
export function loadTracingConfig(): TracingConfig | undefined {
  if (existsSync('.env')) process.loadEnvFile('.env');
  return parseTracingConfig(process.env);
}

/**
 * Timeouts, intervals and retention that need no environment variable: all in one place, to
 * read and to tune. Durations in milliseconds.
 */
export const TIMINGS = {
  replies: {
    /** The first text must come sooner than the whole reply (AI_TIMEOUT_MS, the smaller wins). */
    firstTokenTimeoutMs: 20_000,
    /** Provider failures before any text are tried again this often, after 150 ms, then 300 ms. */
    retriesBeforeFirstToken: 2,
    retryBaseDelayMs: 150,
    /** How long a finished reply stays replayable (and an unstored reply's client key is held). */
    retainMs: 5 * 60_000,
    /** With Redis, how long an instance also keeps its own finished replies in memory. */
    localRetainWithRedisMs: 10_000,
    /** A follower re-reads the record after this long without a live event: local, remote. */
    recheckLocalMs: 500,
    recheckRemoteMs: 2_000,
    /** Past AI_TIMEOUT_MS, when a reply whose instance went quiet is given up on. */
    deadInstanceGraceMs: 60_000,
    /** At shutdown, how long stopped replies get to store themselves. */
    stopGraceMs: 5_000,
    /** With Redis, each instance refreshes its liveness key this often; it lapses this long after the last refresh. */
    heartbeatMs: 5_000,
    heartbeatTtlMs: 15_000,
    /**
     * Replies left STREAMING by a crash or a failed final write are finished this often (and
     * at start); a reply is only looked at once it is this old, so one just opened is left alone.
     */
    sweepIntervalMs: 10_000,
    sweepMinAgeMs: 10_000,
  },
  jobs: {
    /** Expired revoked tokens and old chat activity are deleted this often. */
    purgeIntervalMs: 60 * 60_000,
    /** Pending orders are checked with their provider, and expired ones closed, this often. */
    reconcileIntervalMs: 60_000,
    /** How often the bill reconciliation looks for a day that is due (it runs each day once). */
    billReconcileIntervalMs: 30 * 60_000,
  },
  payments: {
    /** One call to WeChat Pay or Alipay. */
    providerTimeoutMs: 10_000,
    /** An unpaid order expires (and its QR code or page stops being offered) after this long. */
    orderTtlMs: 2 * 60 * 60_000,
    /** At most one provider query per order this often: when a client polls its status... */
    pollCheckIntervalMs: 5_000,
    /** ...and when the reconcile job checks it. */
    reconcileCheckIntervalMs: 50_000,
    /** The same refund (order, amount, reason) asked for again within this long is answered with the first one, not made twice. */
    refundRepeatWindowMs: 10 * 60_000,
  },
  chats: {
    /** How long a chat list cursor stays valid (and chat activity is kept for it). */
    listCursorTtlMs: 24 * 60 * 60_000,
  },
  moderation: {
    /** The keyword file is also checked for changes this often, for file systems where fs.watch misses them. */
    keywordsCheckIntervalMs: 5_000,
    /** A WeChat access token is refreshed this long before WeChat says it expires. */
    wechatTokenMarginMs: 5 * 60_000,
  },
  accounts: {
    /** An API key's lastUsedAt is written at most this often (not on every request). */
    apiKeyLastUsedResolutionMs: 60_000,
  },
  sockets: {
    /** How long a legacy socket may take to send its auth frame. */
    legacyAuthTimeoutMs: 10_000,
  },
  streaming: {
    /**
     * Streamed HTTP responses (SSE, multipart subscriptions, REST and OpenAI-compatible
     * streams) send a keep-alive this often while nothing else is sent, so proxies and
     * mini-program clients do not cut a reply while a reasoning model thinks.
     */
    keepAliveMs: 10_000,
  },
  speech: {
    /** How long speakMessage's audio URL (its signed token) plays; players cannot send a credential of their own. */
    audioLinkTtlMs: 60 * 60_000,
  },
  graphql: {
    /**
     * A size, not a time: a GraphQL (or REST) response, or a graphql-ws message, over this many
     * bytes is replaced by a BAD_REQUEST error instead of being sent. 100 chats with their last
     * 50 messages of a few KB each fit; a request built to copy stored text many times does not.
     */
    maxResponseBytes: 16 * 1024 * 1024,
  },
  dependencies: {
    /**
     * A Redis command unanswered this long fails, and the connection is rebuilt so that the
     * next ones fail at once while Redis hangs. Redis answers in microseconds; this is slack.
     */
    redisCommandTimeoutMs: 2_000,
    /**
     * MySQL/MariaDB: the longest a statement may run, lock waits included (the server stops it).
     * Far above anything the app runs, far below a client's patience, and it frees the connection.
     */
    databaseStatementTimeoutMs: 5_000,
    /** The longest a request waits for a free database connection. */
    databaseAcquireTimeoutMs: 5_000,
    /** SQLite: how long to wait for another process's write lock; the wait blocks the event loop. */
    sqliteBusyTimeoutMs: 1_000,
    /** /readyz answers within this; a dependency that has not answered by then counts as failing. */
    readinessTimeoutMs: 2_000,
  },
  requests: {
    /**
     * A request, body included, must arrive within this, or it gets 408 and its connection is
     * closed (a body trickled byte by byte). Room for a 25 MB upload at about 200 KB/s.
     * Not for WebSockets or responses: it stops counting once the request has arrived.
     */
    requestTimeoutMs: 120_000,
    /** Its headers within this (or within requestTimeoutMs, when that is shorter). */
    headersTimeoutMs: 60_000,
    /** How often both are checked (Node's connectionsCheckingInterval): a cut comes up to this late. */
    timeoutCheckIntervalMs: 1_000,
  },
} as const;

export type Timings = { -readonly [K in keyof typeof TIMINGS]: { -readonly [P in keyof (typeof TIMINGS)[K]]: number } };

export type DatabaseConfig =
  | { kind: 'sqlite'; path: string }
  | { kind: 'mysql'; url: string; dbName: string };

/** The server's settings, as `parseConfig` returns them. Secrets are never logged. */
export interface AppConfig extends VirtualPaySettings {
  production: boolean;
  nodeEnv: 'development' | 'production' | 'test';
  port: number;
  host: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Where development keeps generated state (the JWT secret). */
  dataDir: string;
  database: DatabaseConfig;
  migrateOnStart: boolean;
  redisUrl?: string;
  redisPrefix: string;
  /** `secret` is '' until `withDevJwtSecret` fills it in development. */
  jwt: { secret: string; ttlSeconds: number };
  /** loadModels: reads the catalog again with the same settings (adminReloadModels); problems as at start. */
  ai: { openaiApiKey?: string; openaiBaseUrl: string; models: ModelConfig[]; loadModels: () => { models: ModelConfig[]; problems: string[] }; timeoutMs: number; maxConcurrentStreams: number };
  stt: { configured: boolean; model: string; baseUrl: string; apiKey?: string; maxUploadBytes: number };
  tts: { configured: boolean; model: string; baseUrl: string; apiKey?: string; voice: string };
  wechat: { login?: { appId: string; appSecret: string }; apiBase: string; timeoutMs: number };
  /** Content security: which engines check text, and what happens to repeat offenders. */
  moderation: ModerationConfig;
  /** h5Enabled: WeChat H5 payments (a product the merchant must apply for); platformCert: a second verification key while WeChat Pay moves from platform certificates to its public key. */
  wechatPay?: { mchId: string; appId: string; serialNo: string; privateKey: string; publicKey: string; publicKeyId: string; apiV3Key: string; notifyUrl: string; baseUrl: string; h5Enabled: boolean; platformCert?: { serial: string; pem: string } };
  /** sellerId: when set, a notification must name this seller (the 2088... merchant PID). */
  alipay?: { appId: string; privateKey: string; publicKey: string; notifyUrl: string; returnUrl?: string; gateway: string; sellerId?: string };
  limits: { perMinute: number; aiPerMinute: number; loginPerMinute: number; redeemPerMinute: number; bodyLimitBytes: number };
  /** false, a number of proxy hops, or trusted addresses/CIDRs. */
  trustProxy: false | number | string[];
  corsOrigins: string[];
  shutdownTimeoutMs: number;
  /** GET /metrics: on the main port with this bearer token, and/or tokenless on its own port. */
  metrics: { token?: string; port?: number };
  /** Chats untouched for more days than this are deleted; undefined keeps them. */
  chatRetentionDays?: number;
  /** Compare each day's WeChat Pay and Alipay trade bills with our orders (after 10:00 Beijing time). */
  reconcileBills: boolean;
  timings: Timings;
}

export interface ModerationConfig {
  keywordsFile?: string;
  /** msgSecCheck for users with a mini-program openid (needs WECHAT_APP_ID/SECRET). */
  wechat: boolean;
  webhook?: { url: string; secret: string; timeoutMs: number };
  /** A checker that is down or times out: let the text through (logged at error) or refuse it. */
  onError: 'allow' | 'block';
  /** Hits within the window that suspend a user (0: never), and for how long. */
  strikes: number;
  strikeWindowMs: number;
  suspendMs: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * A JDBC URL names its user and password in the query (`?user=app&password=secret`) next to
 * options only Java's driver reads (`useUnicode`, `serverTimezone`...): the credentials move
 * into the URL, the rest is dropped.
 */
function fromJdbcQuery(url: URL): void {
  const user = url.searchParams.get('user');
  const password = url.searchParams.get('password');
  if (user !== null && !url.username) url.username = encodeURIComponent(user);
  if (password !== null && !url.password) url.password = encodeURIComponent(password);
  url.search = '';
}

function parseDatabaseUrl(raw: string, problems: string[]): DatabaseConfig {
  if (raw.startsWith('sqlite:')) {
    const path = raw.slice('sqlite:'.length).replace(/^\/\/(?=\/|\.)/, '');
    if (!path) problems.push('DATABASE_URL: sqlite: needs a file path, e.g. sqlite:./data/app.db');
    return { kind: 'sqlite', path: path === ':memory:' ? path : resolve(path) };
  }
  // JDBC-style URLs are common in Java shops' deployment templates.
  const jdbc = raw.startsWith('jdbc:');
  const url = raw.replace(/^jdbc:/, '');
  if (/^(mysql|mariadb):\/\//.test(url)) {
    try {
      const parsed = new URL(url.replace(/^mariadb:/, 'mysql:'));
      if (jdbc) fromJdbcQuery(parsed);
      const dbName = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
      if (!dbName) problems.push('DATABASE_URL: the MySQL URL must name a database, e.g. mysql://user:pass@host:3306/app');
      parsed.pathname = '/';
      return { kind: 'mysql', url: parsed.toString().replace(/\/$/, ''), dbName };
    } catch {
      problems.push('DATABASE_URL: not a valid mysql:// URL');
    }
  } else {
    problems.push('DATABASE_URL: must start with sqlite: or mysql:// (or jdbc:mysql://)');
  }
  return { kind: 'sqlite', path: '' };
}

/**
 * Development without JWT_SECRET: a random secret kept in the data directory, so tokens
 * survive restarts. Called at startup, not while parsing, so parsing writes nothing.
 */
export function withDevJwtSecret(config: AppConfig): AppConfig {
  if (config.jwt.secret || config.production) return config;
  const file = resolve(config.dataDir, 'jwt-secret');
  let secret = existsSync(file) ? readFileSync(file, 'utf8').trim() : '';
  if (!secret) {
    secret = randomBytes(48).toString('base64url');
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, secret, { mode: 0o600 });
  }
  return { ...config, jwt: { ...config.jwt, secret } };
}

function build(env: Env, problems: string[], dataDir: string, rawEnv: Record<string, string | undefined> = {}): AppConfig {
  const production = env.NODE_ENV === 'production';
  const database = parseDatabaseUrl(env.DATABASE_URL, problems);
  const catalogSettings = { file: env.AI_MODELS, openaiApiKey: env.OPENAI_API_KEY, openaiBaseUrl: env.OPENAI_BASE_URL, defaultModel: env.DEFAULT_MODEL };
  const models = buildCatalog(catalogSettings, rawEnv, problems);
  if (production && models.length === 0 && !env.AI_MODELS && !env.ALLOW_ECHO_IN_PRODUCTION) {
    problems.push('AI_MODELS / OPENAI_API_KEY: production needs a real AI provider (only the built-in echo model would answer); set ALLOW_ECHO_IN_PRODUCTION=true to run on echo anyway');
  }

  const jwtSecret = env.JWT_SECRET;
  if (production) {
    if (!jwtSecret) problems.push('JWT_SECRET: required in production');
    else if (jwtSecret.length < 32) problems.push('JWT_SECRET: must be at least 32 characters in production');
  }

  const wechatLogin = env.WECHAT_APP_ID && env.WECHAT_APP_SECRET ? { appId: env.WECHAT_APP_ID, appSecret: env.WECHAT_APP_SECRET } : undefined;
  if (!!env.WECHAT_APP_ID !== !!env.WECHAT_APP_SECRET) problems.push('WECHAT_APP_ID and WECHAT_APP_SECRET: set both or neither');
  if (production && !wechatLogin) problems.push('WECHAT_APP_ID / WECHAT_APP_SECRET: required in production (local login is for development only)');

  const moderation = moderationConfig(env, wechatLogin !== undefined, problems);
  const virtualPay = virtualPaySettings(env, { loginAppId: wechatLogin?.appId, production }, problems);

  const wechatPayKeys = [
    'WECHATPAY_MCHID', 'WECHATPAY_APP_ID', 'WECHATPAY_SERIAL_NO', 'WECHATPAY_PRIVATE_KEY',
    'WECHATPAY_PUBLIC_KEY', 'WECHATPAY_PUBLIC_KEY_ID', 'WECHATPAY_APIV3_KEY', 'WECHATPAY_NOTIFY_URL',
  ] as const;
  const wechatPaySet = wechatPayKeys.filter((k) => env[k] !== undefined);
  if (wechatPaySet.length > 0 && wechatPaySet.length < wechatPayKeys.length) {
    problems.push(`WeChat Pay is partly configured; missing ${wechatPayKeys.filter((k) => env[k] === undefined).join(', ')}`);
  }
  const alipayKeys = ['ALIPAY_APP_ID', 'ALIPAY_PRIVATE_KEY', 'ALIPAY_PUBLIC_KEY', 'ALIPAY_NOTIFY_URL'] as const;
  const alipaySet = alipayKeys.filter((k) => env[k] !== undefined);
  if (alipaySet.length > 0 && alipaySet.length < alipayKeys.length) {
    problems.push(`Alipay is partly configured; missing ${alipayKeys.filter((k) => env[k] === undefined).join(', ')}`);
  }
  if (!!env.WECHATPAY_PLATFORM_CERT_SERIAL !== !!env.WECHATPAY_PLATFORM_CERT) problems.push('WECHATPAY_PLATFORM_CERT_SERIAL and WECHATPAY_PLATFORM_CERT: set both or neither');
  // WeChat Pay only calls https notify URLs; an http one in production would never be called back.
  if (production && env.WECHATPAY_NOTIFY_URL && !env.WECHATPAY_NOTIFY_URL.startsWith('https://')) problems.push('WECHATPAY_NOTIFY_URL: must be an https URL in production');

  return {
    production,
    nodeEnv: env.NODE_ENV,
    port: env.PORT,
    host: env.HOST,
    logLevel: env.LOG_LEVEL,
    dataDir,
    database,
    migrateOnStart: env.DB_MIGRATE_ON_START,
    redisUrl: env.REDIS_URL,
    redisPrefix: env.REDIS_PREFIX,
    jwt: { secret: jwtSecret ?? '', ttlSeconds: env.JWT_TTL },
    ai: {
      openaiApiKey: env.OPENAI_API_KEY,
      openaiBaseUrl: env.OPENAI_BASE_URL,
      models,
      loadModels: () => {
        const found: string[] = [];
        return { models: buildCatalog(catalogSettings, rawEnv, found), problems: found };
      },
      timeoutMs: env.AI_TIMEOUT_MS,
      maxConcurrentStreams: env.MAX_CONCURRENT_STREAMS,
    },
    stt: {
      // A speech provider is configured by STT_BASE_URL (a keyless local whisper server is a
      // real deployment) or by a key (STT_API_KEY, else OPENAI_API_KEY). OPENAI_BASE_URL alone
      // does not count: it defaults to api.openai.com, and as for the chat catalog nothing is
      // sent there without a key. Unconfigured, speech to text answers with the echo
      // transcriber outside production and SERVICE_NOT_CONFIGURED in production.
      configured: env.STT_BASE_URL !== undefined || (env.STT_API_KEY ?? env.OPENAI_API_KEY) !== undefined,
      model: env.STT_MODEL,
      baseUrl: env.STT_BASE_URL ?? env.OPENAI_BASE_URL,
      apiKey: env.STT_API_KEY ?? env.OPENAI_API_KEY,
      maxUploadBytes: env.MAX_UPLOAD_MB * 1024 * 1024,
    },
    tts: {
      // Configured as speech to text is (TTS_BASE_URL, or a key): unconfigured, speakMessage
      // answers a placeholder tone outside production and SERVICE_NOT_CONFIGURED in production.
      configured: env.TTS_BASE_URL !== undefined || (env.TTS_API_KEY ?? env.OPENAI_API_KEY) !== undefined,
      model: env.TTS_MODEL,
      baseUrl: env.TTS_BASE_URL ?? env.OPENAI_BASE_URL,
      apiKey: env.TTS_API_KEY ?? env.OPENAI_API_KEY,
      voice: env.TTS_VOICE,
    },
    wechat: { login: wechatLogin, apiBase: env.WECHAT_API_BASE, timeoutMs: env.WECHAT_TIMEOUT_MS },
    moderation,
    wechatPay:
      wechatPaySet.length === wechatPayKeys.length
        ? {
            mchId: env.WECHATPAY_MCHID!,
            appId: env.WECHATPAY_APP_ID!,
            serialNo: env.WECHATPAY_SERIAL_NO!,
            privateKey: env.WECHATPAY_PRIVATE_KEY!,
            publicKey: env.WECHATPAY_PUBLIC_KEY!,
            publicKeyId: env.WECHATPAY_PUBLIC_KEY_ID!,
            apiV3Key: env.WECHATPAY_APIV3_KEY!,
            notifyUrl: env.WECHATPAY_NOTIFY_URL!,
            baseUrl: env.WECHATPAY_BASE_URL,
            h5Enabled: env.WECHATPAY_H5_ENABLED,
            ...(env.WECHATPAY_PLATFORM_CERT_SERIAL && env.WECHATPAY_PLATFORM_CERT ? { platformCert: { serial: env.WECHATPAY_PLATFORM_CERT_SERIAL, pem: env.WECHATPAY_PLATFORM_CERT } } : {}),
          }
        : undefined,
    alipay:
      alipaySet.length === alipayKeys.length
        ? {
            appId: env.ALIPAY_APP_ID!,
            privateKey: env.ALIPAY_PRIVATE_KEY!,
            publicKey: env.ALIPAY_PUBLIC_KEY!,
            notifyUrl: env.ALIPAY_NOTIFY_URL!,
            returnUrl: env.ALIPAY_RETURN_URL,
            gateway: env.ALIPAY_GATEWAY,
            sellerId: env.ALIPAY_SELLER_ID,
          }
        : undefined,
    limits: {
      perMinute: env.RATE_LIMIT_PER_MINUTE,
      aiPerMinute: env.AI_RATE_LIMIT_PER_MINUTE,
      loginPerMinute: env.LOGIN_RATE_LIMIT_PER_MINUTE,
      redeemPerMinute: env.REDEEM_RATE_LIMIT_PER_MINUTE,
      bodyLimitBytes: env.BODY_LIMIT_KB * 1024,
    },
    trustProxy: env.TRUST_PROXY,
    corsOrigins: env.CORS_ORIGINS,
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
    metrics: { token: env.METRICS_TOKEN, port: env.METRICS_PORT },
    chatRetentionDays: env.CHAT_RETENTION_DAYS,
    reconcileBills: env.RECONCILE_BILLS,
    ...virtualPay,
    timings: structuredClone(TIMINGS) as Timings,
  };
}

function moderationConfig(env: Env, wechatLogin: boolean, problems: string[]): ModerationConfig {
  const file = env.MODERATION_KEYWORDS_FILE;
  if (file) {
    try {
      accessSync(file, fsConstants.R_OK);
    } catch {
      problems.push(`MODERATION_KEYWORDS_FILE: cannot read ${file}`);
    }
  }
  // On by default wherever the server is a mini-program's backend.
  const wechat = (env.MODERATION_WECHAT ?? (env.WECHAT_APP_ID ? 'on' : 'off')) === 'on';
  // Only when asked for explicitly: a half-set WeChat login is reported on its own.
  if (env.MODERATION_WECHAT === 'on' && !wechatLogin) problems.push('MODERATION_WECHAT: on needs WECHAT_APP_ID and WECHAT_APP_SECRET');
  const { MODERATION_WEBHOOK_URL: url, MODERATION_WEBHOOK_SECRET: secret } = env;
  if (!!url !== !!secret) problems.push('MODERATION_WEBHOOK_URL and MODERATION_WEBHOOK_SECRET: set both or neither (every call is signed)');
  const hour = 3_600_000;
  return {
    keywordsFile: file ? resolve(file) : undefined,
    wechat: wechat && wechatLogin,
    webhook: url && secret ? { url, secret, timeoutMs: env.MODERATION_WEBHOOK_TIMEOUT_MS } : undefined,
    onError: env.MODERATION_ON_ERROR,
    strikes: env.MODERATION_STRIKES,
    strikeWindowMs: env.MODERATION_STRIKE_WINDOW_HOURS * hour,
    suspendMs: env.MODERATION_SUSPEND_HOURS * hour,
  };
}

/**
 * Parses the environment into a typed config. Throws `ConfigError` listing every problem.
 * `dataDir` is where development keeps generated state (the JWT secret).
 */
export function parseConfig(env: Record<string, string | undefined>, dataDir = resolve('data')): AppConfig {
  const problems: string[] = [];
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const bad = new Set<string>();
    for (const issue of parsed.error.issues) {
      bad.add(String(issue.path[0]));
      problems.push(`${issue.path.join('.')}: ${issue.message}`);
    }
    // Check the cross-field rules too, with the bad fields left at their defaults, so
    // every problem shows up at once.
    const rest = Object.fromEntries(Object.entries(env).filter(([k]) => !bad.has(k)));
    build(envSchema.parse(rest), problems, dataDir, env);
    throw new ConfigError(problems);
  }
  const config = build(parsed.data, problems, dataDir, env);
  if (problems.length) throw new ConfigError(problems);
  return config;
}

/** Reads `.env` when present (without overriding the real environment), then parses. */
export function loadConfig(): AppConfig {
  if (existsSync('.env')) process.loadEnvFile('.env');
  return withDevJwtSecret(parseConfig(process.env));
}

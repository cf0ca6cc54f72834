import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';
import type { AppConfig } from './config';
import type { Orm } from './db/orm';
import type { ModelCatalog } from './models/model-catalog';
import type { ReplyHub } from './replies/reply-hub';
import type { Payments } from './payments';
import type { RateLimits } from './limits/rate-limits';
import type { SpeechService } from './speech/speech.service';
import type { Authenticator } from './accounts/authenticator';
import type { TokenService } from './accounts/token.service';
import type { WechatLogin } from './accounts/wechat-login.client';

/** The long-lived parts of the app, made once at start and shared by every request. */
export interface AppDeps {
  config: AppConfig;
  orm: Orm;
  logger: FastifyBaseLogger;
  catalog: ModelCatalog;
  tokens: TokenService;
  wechatLogin: WechatLogin;
  authenticator: Authenticator;
  replyHub: ReplyHub;
  speech: SpeechService;
  rateLimits: RateLimits;
  payments: Payments;
  /** Set when REDIS_URL is: state shared by every instance. */
  redis?: Redis;
}

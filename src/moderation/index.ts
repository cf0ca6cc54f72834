import type { MikroORM } from '@mikro-orm/core';
import type { Redis } from 'ioredis';
import type { AppConfig } from '../config';
import type { Logger } from '../core/logger';
import type { Metrics } from '../metrics/metrics';
import { KeywordList } from './keyword-list';
import { ModerationRecords } from './moderation-records';
import { ModerationService } from './moderation.service';
import type { RemoteEngine } from './types';
import { WebhookCheck } from './webhook.client';
import { CallBudget, MSG_SEC_CHECK_PER_MINUTE, WechatContentCheck } from './wechat-security.client';
import { MemoryTokenStore, RedisTokenStore, WechatAccessTokens } from './wechat-token';

export { ModerationService, authorOf } from './moderation.service';

/**
 * Content security as configured (MODERATION_*): the keyword list (watched for changes),
 * the webhook, and WeChat's msgSecCheck with its access token and call budget shared through
 * Redis when there is one.
 */
export function createModeration(config: AppConfig, base: { orm: MikroORM; logger: Logger; redis?: Redis; metrics?: Metrics }): ModerationService {
  const { orm, logger, redis } = base;
  const m = config.moderation;
  const keywords = m.keywordsFile ? new KeywordList(m.keywordsFile, logger) : undefined;
  keywords?.watch(config.timings.moderation.keywordsCheckIntervalMs);
  const engines: RemoteEngine[] = [];
  if (m.webhook) engines.push(new WebhookCheck(m.webhook));
  const login = config.wechat.login;
  if (m.wechat && login) {
    const shared = redis ? { redis, prefix: config.redisPrefix } : undefined;
    const tokens = new WechatAccessTokens({
      ...login,
      apiBase: config.wechat.apiBase,
      timeoutMs: config.wechat.timeoutMs,
      marginMs: config.timings.moderation.wechatTokenMarginMs,
      store: redis ? new RedisTokenStore(redis, config.redisPrefix, login.appId) : new MemoryTokenStore(),
      logger,
    });
    engines.push(new WechatContentCheck({ appId: login.appId, apiBase: config.wechat.apiBase, timeoutMs: config.wechat.timeoutMs, tokens, budget: new CallBudget(login.appId, MSG_SEC_CHECK_PER_MINUTE, shared) }));
  }
  const records = new ModerationRecords(orm, { strikes: m.strikes, windowMs: m.strikeWindowMs, suspendMs: m.suspendMs }, logger, base.metrics);
  if (keywords || engines.length) logger.info({ component: 'moderation', keywords: keywords?.current.size ?? null, engines: engines.map((e) => e.name), onError: m.onError }, 'content security on');
  return new ModerationService({ keywords, engines, onError: m.onError, records, orm, logger });
}

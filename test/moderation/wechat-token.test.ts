import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import pino from 'pino';
import { CallBudget } from '../../src/moderation/wechat-security.client';
import { MemoryTokenStore, RedisTokenStore, WechatAccessTokens } from '../../src/moderation/wechat-token';
import { startPrivateRedis } from '../helpers/redis-server';
import { dataOf } from '../helpers/replies';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { fakeWechatSecurity, type FakeWechatSecurity } from '../fakes/wechat-security';
import { FAKE_WECHAT_APP_ID, FAKE_WECHAT_SECRET, startFakeWechat } from '../fakes/wechat';
import { ModeratedLoginDocument, ModeratedSendDocument } from '../generated/graphql';

/*
 * The WeChat access token is shared: one stable_token call however many checks want it at
 * once, on one instance or several (through Redis, with a lock), and refreshed once when
 * WeChat stops accepting it. Redis is TEST_REDIS_URL when set, else a private redis-server.
 */
describe('content security: the WeChat access token and call budget', () => {
  let security: FakeWechatSecurity;
  let wechat: Awaited<ReturnType<typeof startFakeWechat>>;
  let redisUrl: string;
  let privateRedis: Awaited<ReturnType<typeof startPrivateRedis>> | undefined;
  const clients: Redis[] = [];
  beforeAll(async () => {
    security = fakeWechatSecurity();
    wechat = await startFakeWechat({ extra: security.handle });
    if (process.env.TEST_REDIS_URL) redisUrl = process.env.TEST_REDIS_URL;
    else {
      privateRedis = await startPrivateRedis();
      redisUrl = privateRedis.url;
    }
  });
  beforeEach(() => {
    security.revokeToken();
    security.tokenCalls.length = 0;
    // Long enough that every concurrent caller asks while the first refresh is under way.
    security.tokenDelayMs = 200;
  });
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    security.close();
    await wechat.close();
    await privateRedis?.stop();
  });

  const redis = () => {
    const client = new Redis(redisUrl);
    clients.push(client);
    return client;
  };
  const tokens = (store: MemoryTokenStore | RedisTokenStore) =>
    new WechatAccessTokens({ appId: FAKE_WECHAT_APP_ID, appSecret: FAKE_WECHAT_SECRET, apiBase: wechat.url, timeoutMs: 5000, marginMs: 300_000, store, logger: pino({ level: 'silent' }) });

  it('one instance: 20 concurrent callers, one stable_token call, one token', async () => {
    const one = tokens(new MemoryTokenStore());
    const got = await Promise.all(Array.from({ length: 20 }, () => one.get()));
    expect(security.tokenCalls.length).toBe(1);
    expect(new Set(got)).toEqual(new Set([security.current!.token]));
    // Cached afterwards: no more calls.
    await one.get();
    expect(security.tokenCalls.length).toBe(1);
  });

  it('two instances on one Redis: 20 concurrent callers across both, one call; a refused token is refreshed once for both', async () => {
    const prefix = `test:${randomUUID()}:`;
    const a = tokens(new RedisTokenStore(redis(), prefix, FAKE_WECHAT_APP_ID));
    const b = tokens(new RedisTokenStore(redis(), prefix, FAKE_WECHAT_APP_ID));
    const got = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).get()));
    expect(security.tokenCalls.length).toBe(1);
    expect(new Set(got)).toEqual(new Set([security.current!.token]));
    expect(a.refreshes + b.refreshes).toBe(1);

    // WeChat stops accepting it; both instances find out (each has it cached).
    const old = security.current!.token;
    security.revokeToken();
    await Promise.all([a.invalidate(old), b.invalidate(old)]);
    const again = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).get()));
    expect(security.tokenCalls.length).toBe(2);
    expect(new Set(again)).toEqual(new Set([security.current!.token]));
    expect(security.current!.token).not.toBe(old);
  });

  it('the call budget is counted across instances', async () => {
    const shared = { prefix: `test:${randomUUID()}:` };
    const first = new CallBudget('app', 5, { redis: redis(), ...shared });
    const second = new CallBudget('app', 5, { redis: redis(), ...shared });
    const taken = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? first : second).take()));
    expect(taken.filter(Boolean).length).toBe(5);
    expect(await new CallBudget('app', 5).take()).toBe(true); // in memory: a count of its own
  });

  describe('two apps sharing Redis', () => {
    let ai: FakeOpenAI;
    let apps: TestApp[] = [];
    beforeAll(async () => {
      ai = await startFakeOpenAI();
      const prefix = `test:${randomUUID()}:`;
      const env = { ...ai.env(), DEFAULT_MODEL: 'gpt-test', ...wechat.env(), REDIS_URL: redisUrl, REDIS_PREFIX: prefix };
      apps = [await startTestApp({ env }), await startTestApp({ env })];
    });
    afterAll(async () => {
      await Promise.all(apps.map((t) => t.close()));
      await ai.close();
    });

    it('20 concurrent messages across both instances need one stable_token call', async () => {
      const users = await Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          const t = apps[i % 2];
          const res = await t.gql(ModeratedLoginDocument, { input: { code: wechat.code(`o-${randomUUID()}`) } });
          return { t, token: dataOf(res).wechatLogin.token };
        }),
      );
      const checks = security.checks.length;
      const sent = await Promise.all(users.map(({ t, token }, i) => t.gql(ModeratedSendDocument, { input: { content: `hello ${i}` } }, { token })));
      expect(sent.map((r) => dataOf(r).sendMessage.reply.status)).toEqual(Array(20).fill('COMPLETE'));
      expect(security.tokenCalls.length).toBe(1);
      // Each message and each reply was checked, all with that one token.
      expect(security.checks.length - checks).toBe(40);
      expect(new Set(security.checks.slice(checks).map((c) => c.token))).toEqual(new Set([security.current!.token]));
    });
  });
});

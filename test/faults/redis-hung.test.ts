import { login } from '../helpers/accounts';
import { saveChat } from '../helpers/chats';
import { startPrivateRedis } from '../helpers/redis-server';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { waitFor } from '../helpers/wait';
import { ChatSummaryDocument, LogoutDocument, MeDocument, SendMessageDocument as SEND } from '../generated/graphql';

/*
 * A Redis that hangs (SIGSTOP: connections stay open, nothing is answered) rather than goes
 * away. Before commands had a deadline, every request that touched Redis (each counts against
 * the rate limit there) waited for as long as Redis was frozen.
 */

// Needs a redis-server binary, as the CI machine has (it runs the Redis suites).
const onRedis = process.env.TEST_REDIS_URL ? describe : describe.skip;

onRedis('when Redis hangs and comes back', () => {
  let redis: Awaited<ReturnType<typeof startPrivateRedis>>;
  let t: TestApp;
  beforeAll(async () => {
    redis = await startPrivateRedis();
    t = await startTestApp({
      env: { REDIS_URL: redis.url, REDIS_PREFIX: 'hung:' },
      timings: (timings) => {
        timings.dependencies.redisCommandTimeoutMs = 500;
        timings.dependencies.readinessTimeoutMs = 1000;
      },
    });
  });
  afterAll(async () => {
    redis.resume();
    await t.close();
    await redis.stop();
  });

  const readiness = async () => {
    const res = await fetch(`${t.url}/readyz`);
    return { status: res.status, body: (await res.json()) as { status: string; failing?: string[] } };
  };

  it('fails what needs Redis with SHARED_STATE_UNAVAILABLE, serves the rest, turns /readyz 503, and recovers', async () => {
    const user = await login(t);
    await waitFor(async () => (await readiness()).status === 200, 10_000, '/readyz 200 to begin with', 50);

    redis.pause();
    try {
      // /readyz answers (within its own deadline) and names Redis.
      await waitFor(async () => (await readiness()).status === 503, 10_000, '/readyz turning 503', 50);
      expect((await readiness()).body).toEqual({ status: 'unavailable', failing: ['redis'] });

      // Starting a reply needs the shared running count: refused clearly instead of hanging.
      const refused = await t.gql(SEND, { input: { content: 'hi', stream: true } }, user);
      expect(refused.body.errors![0].extensions).toMatchObject({ code: 'UPSTREAM_ERROR', details: { reason: 'SHARED_STATE_UNAVAILABLE' } });

      // Everything that only needs the database keeps working, many requests at once (each
      // consults the rate limit and the revocation list in Redis first, and falls back).
      const answers = await Promise.all(Array.from({ length: 20 }, () => t.gql(MeDocument, {}, user)));
      expect(answers.map((a) => a.body.data?.me.id)).toEqual(Array(20).fill(user.userId));
      const newcomer = await login(t);
      expect((await t.gql(MeDocument, {}, newcomer)).body.data!.me.id).toBe(newcomer.userId);
      const saved = await saveChat(t, user.token, { title: 'written while Redis hung' });
      expect((await t.gql(ChatSummaryDocument, { id: saved.id }, user)).body.data!.chat.title).toBe('written while Redis hung');
      expect((await readiness()).status).toBe(503);
    } finally {
      redis.resume();
    }

    await waitFor(async () => (await readiness()).status === 200, 10_000, '/readyz turning 200 again', 50);
    expect((await readiness()).body).toEqual({ status: 'ok' });
    const sent = await t.gql(SEND, { input: { content: 'back again' } }, user);
    expect(sent.body.data!.sendMessage.reply).toMatchObject({ status: 'COMPLETE', content: 'back again' });
    expect((await t.gql(LogoutDocument, {}, user)).body.data!.logout).toBe(true);
    expect((await t.gql(MeDocument, {}, user)).body.errors![0].extensions.code).toBe('UNAUTHENTICATED');
  });
});

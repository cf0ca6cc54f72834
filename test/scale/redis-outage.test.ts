import { login } from '../helpers/accounts';
import { saveChat } from '../helpers/chats';
import { startPrivateRedis } from '../helpers/redis-server';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { waitFor } from '../helpers/wait';
import { ChatSummaryDocument, LogoutDocument, MeDocument, SendMessageDocument as SEND } from '../generated/graphql';

// Needs a redis-server binary, as the CI machine has (it runs the Redis suites).
const onRedis = process.env.TEST_REDIS_URL ? describe : describe.skip;

onRedis('when Redis goes away and comes back', () => {
  let redis: Awaited<ReturnType<typeof startPrivateRedis>>;
  let t: TestApp;
  beforeAll(async () => {
    redis = await startPrivateRedis();
    t = await startTestApp({ env: { REDIS_URL: redis.url, REDIS_PREFIX: 'outage:' } });
  });
  afterAll(async () => {
    await t.close();
    await redis.stop();
  });

  const readiness = async () => {
    const res = await fetch(`${t.url}/readyz`);
    return { status: res.status, body: (await res.json()) as { status: string; failing?: string[] } };
  };

  it('turns /readyz 503, fails what needs Redis with a clear error, keeps the database, and recovers', async () => {
    const user = await login(t);
    expect((await readiness()).status).toBe(200);

    await redis.stop();
    await waitFor(async () => (await readiness()).status === 503, 10_000, '/readyz turning 503', 100);
    expect((await readiness()).body).toEqual({ status: 'unavailable', failing: ['redis'] });

    // What needs only the database still works (limits fall back to this instance's count).
    expect((await t.gql(MeDocument, {}, user)).body.data!.me.id).toBe(user.userId);
    const saved = await saveChat(t, user.token, { title: 'written while Redis was down' });

    // Starting a reply needs the shared running count: a clear, retryable refusal.
    const refused = await t.gql(SEND, { input: { content: 'hi', stream: true } }, user);
    expect(refused.body.errors![0].extensions).toMatchObject({ code: 'UPSTREAM_ERROR', details: { reason: 'SHARED_STATE_UNAVAILABLE' } });
    expect(refused.body.errors![0].message).toMatch(/Redis/);

    await redis.start();
    await waitFor(async () => (await readiness()).status === 200, 10_000, '/readyz turning 200 again', 100);
    const sent = await t.gql(SEND, { input: { content: 'back again' } }, user);
    expect(sent.body.data!.sendMessage.reply).toMatchObject({ status: 'COMPLETE', content: 'back again' });
    const chat = await t.gql(ChatSummaryDocument, { id: saved.id }, user);
    expect(chat.body.data!.chat.title).toBe('written while Redis was down');

    // The restarted Redis came back empty: revocation checks work again once reloaded.
    expect((await t.gql(LogoutDocument, {}, user)).body.data!.logout).toBe(true);
    expect((await t.gql(MeDocument, {}, user)).body.errors![0].extensions.code).toBe('UNAUTHENTICATED');
  });
});

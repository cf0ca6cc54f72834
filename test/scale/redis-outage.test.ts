import { login } from '../helpers/accounts';
import { SEND } from '../helpers/replies';
import { saveChat } from '../helpers/chats';
import { startPrivateRedis } from '../helpers/redis-server';
import { startTestApp, type TestApp } from '../helpers/test-app';

/** Polls until `check` is true (or fails after `ms`). */
async function eventually(what: string, check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not happen within ${ms} ms`);
}

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
    await eventually('/readyz turning 503', async () => (await readiness()).status === 503);
    expect((await readiness()).body).toEqual({ status: 'unavailable', failing: ['redis'] });

    // What needs only the database still works (limits fall back to this instance's count).
    expect((await t.gql<any>('{ me { id } }', {}, user)).body.data.me.id).toBe(user.userId);
    const saved = await saveChat(t, user.token, { title: 'written while Redis was down' });

    // Starting a reply needs the shared running count: a clear, retryable refusal.
    const refused = await t.gql<any>(SEND, { input: { content: 'hi', stream: true } }, user);
    expect(refused.body.errors![0].extensions).toMatchObject({ code: 'UPSTREAM_ERROR', details: { reason: 'SHARED_STATE_UNAVAILABLE' } });
    expect(refused.body.errors![0].message).toMatch(/Redis/);

    await redis.start();
    await eventually('/readyz turning 200 again', async () => (await readiness()).status === 200);
    const sent = await t.gql<any>(SEND, { input: { content: 'back again' } }, user);
    expect(sent.body.data.sendMessage.reply).toMatchObject({ status: 'COMPLETE', content: 'back again' });
    const chat = await t.gql<any>('query($id: ID!) { chat(id: $id) { title } }', { id: saved.id }, user);
    expect(chat.body.data.chat.title).toBe('written while Redis was down');

    // The restarted Redis came back empty: revocation checks work again once reloaded.
    expect((await t.gql<any>('mutation { logout }', {}, user)).body.data.logout).toBe(true);
    expect((await t.gql<any>('{ me { id } }', {}, user)).body.errors![0].extensions.code).toBe('UNAUTHENTICATED');
  });
});

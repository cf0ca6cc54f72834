import { connect, createServer, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { login } from '../helpers/accounts';
import { freshDatabaseUrl } from '../helpers/database';
import { startPrivateRedis } from '../helpers/redis-server';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { waitFor } from '../helpers/wait';
import { LogoutDocument, MeDocument } from '../generated/graphql';

/*
 * A logout while the Redis connection is gone must still end the token on every instance
 * within seconds, and keep it ended when Redis is back. Two instances share one database
 * and a private redis-server (never the shared one); instance A reaches Redis through a
 * link the test can cut, like a network partition: Redis keeps its data, A just cannot
 * reach it.
 */

/** A TCP proxy to Redis whose link can be cut (connections dropped, new ones closed at once) and restored. */
async function startLink(redisPort: number) {
  let cut = false;
  const open = new Set<Socket>();
  const track = (socket: Socket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
  };
  const server = createServer((client) => {
    if (cut) return void client.destroy();
    const upstream = connect(redisPort, '127.0.0.1');
    track(client);
    track(upstream);
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ]) {
      from.pipe(to);
      from.once('error', () => to.destroy());
      from.once('close', () => to.destroy());
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `redis://127.0.0.1:${port}`,
    cut: () => {
      cut = true;
      for (const socket of open) socket.destroy();
    },
    restore: () => {
      cut = false;
    },
    close: async () => {
      for (const socket of open) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

const jtiOf = (token: string): string => (JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as { jti: string }).jti;

// Needs a redis-server binary, as the CI machine has (it runs the Redis suites).
const onRedis = process.env.TEST_REDIS_URL ? describe : describe.skip;

onRedis('logout while Redis is unreachable', () => {
  const prefix = 'logout-fault:';
  let redis: Awaited<ReturnType<typeof startPrivateRedis>>;
  let link: Awaited<ReturnType<typeof startLink>>;
  let admin: Redis;
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    redis = await startPrivateRedis();
    link = await startLink(redis.port);
    const database = freshDatabaseUrl();
    a = await startTestApp({ env: { DATABASE_URL: database, REDIS_URL: link.url, REDIS_PREFIX: prefix } });
    b = await startTestApp({ env: { DATABASE_URL: database, REDIS_URL: redis.url, REDIS_PREFIX: prefix } });
    admin = new Redis(redis.url);
  });
  // A failed test must not leave the next one cut off.
  afterEach(() => link.restore());
  afterAll(async () => {
    admin.disconnect();
    await b.close();
    await a.close();
    await link.close();
    await redis.stop();
  });

  /** What each instance answers to the token: its `me`, or the error code and message. */
  const answers = (user: { token: string }) =>
    Promise.all(
      [a, b].map(async (t) => {
        const res = await t.gql(MeDocument, {}, user);
        return res.body.data ? res.body.data.me.id : `${res.body.errors![0].extensions.code}: ${res.body.errors![0].message}`;
      }),
    );
  const bothRefuse = async (user: { token: string }) => (await answers(user)).every((answer) => answer === 'UNAUTHENTICATED: Token revoked');
  const connected = (t: TestApp) => t.app.deps.redis!.status === 'ready';

  it('a logout on an instance that lost Redis ends the token on both instances, and it stays ended once Redis is back', async () => {
    const user = await login(a);
    expect(await answers(user)).toEqual([user.userId, user.userId]);
    // Both instances answer revocation checks from Redis: it holds the complete set.
    expect(await admin.exists(`${prefix}revoked:complete`)).toBe(1);

    link.cut();
    await waitFor(() => !connected(a), 5000, 'instance A losing its Redis connection');
    expect((await a.gql(LogoutDocument, {}, user)).body).toEqual({ data: { logout: true } });
    await waitFor(() => bothRefuse(user), 10_000, 'both instances refusing the logged-out token');

    link.restore();
    await waitFor(() => connected(a), 10_000, 'instance A reconnecting to Redis');
    expect(await answers(user)).toEqual(['UNAUTHENTICATED: Token revoked', 'UNAUTHENTICATED: Token revoked']);
    // The cache was repaired, not merely bypassed: Redis itself now lists the token.
    expect(await admin.exists(`${prefix}revoked:${jtiOf(user.token)}`)).toBe(1);
  });

  it('a logout while Redis itself is down ends the token on both instances, also after Redis restarts', async () => {
    const user = await login(b);
    expect(await answers(user)).toEqual([user.userId, user.userId]);

    await redis.stop();
    await waitFor(() => !connected(a) && !connected(b), 5000, 'both instances losing Redis');
    expect((await b.gql(LogoutDocument, {}, user)).body).toEqual({ data: { logout: true } });
    await waitFor(() => bothRefuse(user), 10_000, 'both instances refusing the logged-out token');

    await redis.start();
    await waitFor(() => connected(a) && connected(b), 10_000, 'both instances reconnecting to Redis');
    expect(await answers(user)).toEqual(['UNAUTHENTICATED: Token revoked', 'UNAUTHENTICATED: Token revoked']);
    await waitFor(async () => (await admin.exists(`${prefix}revoked:${jtiOf(user.token)}`)) === 1, 10_000, 'the restarted Redis listing the token again');
  });

  it('a Redis that lost revocations but still claims to hold them all (an old snapshot) is repaired from the database', async () => {
    const user = await login(a);
    expect((await a.gql(LogoutDocument, {}, user)).body).toEqual({ data: { logout: true } });
    expect(await answers(user)).toEqual(['UNAUTHENTICATED: Token revoked', 'UNAUTHENTICATED: Token revoked']);

    const jti = jtiOf(user.token);
    await admin.multi().del(`${prefix}revoked:${jti}`).zrem(`${prefix}revoked:index`, jti).exec();
    expect(await admin.exists(`${prefix}revoked:complete`)).toBe(1);
    await waitFor(async () => (await admin.exists(`${prefix}revoked:${jti}`)) === 1, 10_000, 'the audit copying the revocation back into Redis');
    expect(await answers(user)).toEqual(['UNAUTHENTICATED: Token revoked', 'UNAUTHENTICATED: Token revoked']);
  });
});

import { print } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { openOrm } from '../../src/db/orm';
import { parseConfig } from '../../src/config';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { LoginDocument, ProviderChatDocument, ProviderReplyDocument, ProviderReplyStreamDocument, StopGenerationDocument } from '../generated/graphql';
import { type ChildServer, startChildServer } from '../helpers/child-server';
import { freshDatabaseUrl } from '../helpers/database';
import { startPrivateRedis } from '../helpers/redis-server';
import { subscribe } from '../helpers/test-app';
import { waitFor } from '../helpers/wait';

/*
 * A server killed with SIGKILL in the middle of a reply, then started again: the reply must
 * not stay STREAMING, its followers must get a done event, its slot must come free, and a
 * retry of the same request must generate it again. The server runs as a real process.
 */

/** Short timings, so the sweep and the liveness key act within a test's patience. */
const TIMINGS = { replies: { sweepIntervalMs: 200, sweepMinAgeMs: 300, heartbeatMs: 100, heartbeatTtlMs: 600 } };

type Child = ChildServer;

const startChild = (env: Record<string, string>): Promise<Child> => startChildServer({ JWT_SECRET: 'kill-test-secret-long-enough-for-hs256', CHILD_TIMINGS: JSON.stringify(TIMINGS), ...env });

async function gql<R, V>(url: string, document: import('@graphql-typed-document-node/core').TypedDocumentNode<R, V>, variables: V, token?: string) {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query: print(document), variables }),
  });
  return (await res.json()) as { data?: R | null; errors?: Array<{ message: string; extensions: { code: string; details?: { reason?: string } } }> };
}

const wsClient = (url: string, token: string): Client =>
  createClient({ url: `${url.replace(/^http/, 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${token}` }, retryAttempts: 0, lazy: true });

async function dropDatabase(databaseUrl: string): Promise<void> {
  const config = parseConfig({ DATABASE_URL: databaseUrl, JWT_SECRET: 'x'.repeat(40) });
  if (config.database.kind !== 'mysql') return;
  const orm = await openOrm(config.database, { migrate: false });
  await orm.schema.dropDatabase(config.database.dbName);
  await orm.close(true);
}

describe('a server killed mid-reply', () => {
  let ai: FakeOpenAI;
  const children: Child[] = [];
  const clients: Client[] = [];
  const databases: string[] = [];

  beforeAll(async () => {
    ai = await startFakeOpenAI({ chunkSize: 1 });
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.dispose()));
    await Promise.all(children.map((c) => c.kill9()));
    await ai.close();
    for (const db of databases) await dropDatabase(db);
  });

  const child = async (env: Record<string, string>) => {
    const started = await startChild({ ...ai.env(), DEFAULT_MODEL: 'gpt-test', ...env });
    children.push(started);
    return started;
  };
  const login = async (url: string) => {
    const res = await gql(url, LoginDocument, { input: { code: `killed-${Math.random()}` } });
    return res.data!.wechatLogin.token;
  };
  /** Starts a long reply (one character every 100 ms) and waits until part of it has streamed. */
  const startLongReply = async (url: string, token: string, clientMessageId: string) => {
    ai.delayMs = 100;
    ai.reply = () => '一二三四五六七八九十'.repeat(30);
    const calls = ai.calls.length;
    const res = await gql(url, ProviderReplyDocument, { input: { content: 'tell me a long story', stream: true, clientMessageId } }, token);
    const started = res.data!.sendMessage;
    await waitFor(() => ai.calls.length > calls, 5000, 'the provider being called');
    return started;
  };

  it('without Redis: the restarted server finishes the reply FAILED, replays it as done, and a retry generates it again', async () => {
    const databaseUrl = freshDatabaseUrl();
    databases.push(databaseUrl);
    const first = await child({ DATABASE_URL: databaseUrl });
    const token = await login(first.url);
    const reply = await startLongReply(first.url, token, 'killed-1');
    const sub = subscribe(wsClient(first.url, token), ProviderReplyStreamDocument, { messageId: reply.messageId });
    await sub.until((r) => (r.data?.replyStream.seq ?? 0) >= 3);
    await first.kill9();

    ai.delayMs = 0;
    const second = await child({ DATABASE_URL: databaseUrl });
    const stored = async () => (await gql(second.url, ProviderChatDocument, { id: reply.sessionId }, token)).data!.chat.messages[1];
    await waitFor(async () => (await stored()).status !== 'STREAMING', 10_000, 'the sweep finishing the reply');
    expect(await stored()).toMatchObject({ id: reply.messageId, status: 'FAILED', finishReason: 'ERROR', usage: { estimated: true } });

    // A follower now gets the finished reply at once.
    const late = subscribe(wsClient(second.url, token), ProviderReplyStreamDocument, { messageId: reply.messageId });
    const done = await late.until((r) => r.data?.replyStream.done === true);
    expect(done.data!.replyStream.message).toMatchObject({ status: 'FAILED' });

    // The same request again generates the reply anew, in the same message.
    const retried = await gql(second.url, ProviderReplyDocument, { input: { content: 'tell me a long story', clientMessageId: 'killed-1' } }, token);
    expect(retried.errors).toBeUndefined();
    expect(retried.data!.sendMessage).toMatchObject({ messageId: reply.messageId, reply: { status: 'COMPLETE', content: '一二三四五六七八九十'.repeat(30) } });
    await second.stop();
  });

  it('with Redis: another instance ends the followers with a done event keeping what streamed, frees the slot, and stops an orphan at once', async () => {
    const redis = await startPrivateRedis();
    const databaseUrl = freshDatabaseUrl();
    databases.push(databaseUrl);
    const env = { DATABASE_URL: databaseUrl, REDIS_URL: redis.url, REDIS_PREFIX: 'kill:', MAX_CONCURRENT_STREAMS: '1' };
    try {
      const a = await child(env);
      // B finishes orphans only as their follower or stopper here: its sweep waits, so which of
      // the two finishes the stopped orphan below is not a race.
      const b = await child({ ...env, DB_MIGRATE_ON_START: 'false', CHILD_TIMINGS: JSON.stringify({ replies: { ...TIMINGS.replies, sweepIntervalMs: 600_000 } }) });
      const token = await login(a.url);
      const reply = await startLongReply(a.url, token, 'killed-2');
      // Followed on B, running on A.
      const sub = subscribe(wsClient(b.url, token), ProviderReplyStreamDocument, { messageId: reply.messageId });
      await sub.until((r) => (r.data?.replyStream.seq ?? 0) >= 3);
      await a.kill9();

      const done = await sub.until((r) => r.data?.replyStream.done === true, 10_000);
      const streamed = sub.results.map((r) => r.data?.replyStream.delta ?? '').join('');
      expect(streamed.length).toBeGreaterThanOrEqual(3);
      expect(done.data!.replyStream).toMatchObject({ error: { code: 'UPSTREAM_ERROR', reason: 'REPLY_INTERRUPTED' }, message: { status: 'FAILED', content: streamed } });

      // The dead reply's slot is free: with one reply allowed at once, a new one starts.
      ai.delayMs = 0;
      const next = await gql(b.url, ProviderReplyDocument, { input: { content: 'and now?' } }, token);
      expect(next.errors).toBeUndefined();
      expect(next.data!.sendMessage.reply.status).toBe('COMPLETE');

      // stopGeneration on a reply whose instance died answers at once, STOPPED.
      const c = await child(env);
      const orphan = await startLongReply(c.url, token, 'killed-3');
      await waitFor(async () => ((await gql(b.url, ProviderChatDocument, { id: orphan.sessionId }, token)).data?.chat.messages.length ?? 0) === 2, 5000, 'the reply row');
      await c.kill9();
      const stopped = await gql(b.url, StopGenerationDocument, { id: orphan.messageId }, token);
      expect(stopped.errors).toBeUndefined();
      expect(stopped.data!.stopGeneration).toMatchObject({ id: orphan.messageId, status: 'STOPPED' });
      await b.stop();
    } finally {
      await redis.stop();
    }
  });
});

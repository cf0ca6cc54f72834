import { ApolloClient, HttpLink, InMemoryCache } from '@apollo/client';
import { print } from 'graphql';
import { createClient, type ExecutionResult } from 'graphql-sse';
import { ApolloFollowDocument, type ApolloFollowSubscription, LogoutDocument, ReplyStreamDocument, SendMessageDocument as SEND } from '../generated/graphql';
import { login } from '../helpers/accounts';
import { freshDatabaseUrl } from '../helpers/database';
import { startTestApp, testRedisEnv, type TestApp } from '../helpers/test-app';
import { waitFor } from '../helpers/wait';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';

/** Subscriptions over POST /graphql with two instances on one database and one Redis. */
const onRedis = process.env.TEST_REDIS_URL ? describe : describe.skip;

onRedis('HTTP subscriptions across two instances', () => {
  let ai: FakeOpenAI;
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    ai = await startFakeOpenAI({ chunkSize: 3 });
    const shared = { DATABASE_URL: freshDatabaseUrl(), ...testRedisEnv(), ...ai.env(), DEFAULT_MODEL: 'gpt-test' };
    a = await startTestApp({ env: shared });
    b = await startTestApp({ env: shared });
  });
  afterAll(async () => {
    await b.close();
    await a.close();
    await ai.close();
  });
  afterEach(() => {
    ai.delayMs = 0;
  });

  it('Apollo Client (multipart) on A follows a reply that runs on B, in order, to the end', async () => {
    const user = await login(a);
    const text = 'The quick brown fox jumps over the lazy dog.';
    ai.delayMs = 25;
    ai.nextReplies.push(text);
    const sent = (await b.gql(SEND, { input: { content: 'go', stream: true } }, user)).body.data!.sendMessage;
    expect(b.app.deps.replies.state.isLocal(sent.messageId)).toBe(true);
    expect(a.app.deps.replies.state.isLocal(sent.messageId)).toBe(false);
    const client = new ApolloClient({ link: new HttpLink({ uri: `${a.url}/graphql`, headers: { authorization: `Bearer ${user.token}` } }), cache: new InMemoryCache() });
    try {
      const events: Array<ApolloFollowSubscription['replyStream']> = [];
      await new Promise<void>((resolve, reject) => {
        client.subscribe({ query: ApolloFollowDocument, variables: { messageId: sent.messageId } }).subscribe({
          next: (result) => (result.error ? reject(result.error) : events.push(result.data!.replyStream)),
          error: reject,
          complete: resolve,
        });
      });
      const deltas = events.filter((e) => !e.done);
      expect(deltas.map((e) => e.seq)).toEqual(deltas.map((_, i) => i + 1));
      expect(deltas.map((e) => e.delta).join('')).toBe(text);
      expect(events.at(-1)).toMatchObject({ done: true, message: { id: sent.messageId, content: text, status: 'COMPLETE' } });
    } finally {
      client.stop();
    }
  });

  it('a logout on B ends a graphql-sse subscription on A with the revocation error', async () => {
    const user = await login(a);
    ai.nextModes.push('hangAfterFirstChunk');
    const sent = (await a.gql(SEND, { input: { content: 'wait here', stream: true } }, user)).body.data!.sendMessage;
    const client = createClient({ url: `${a.url}/graphql`, singleConnection: false, headers: { authorization: `Bearer ${user.token}` }, retryAttempts: 0 });
    const results: ExecutionResult[] = [];
    let ended: string | undefined;
    client.subscribe({ query: print(ReplyStreamDocument), variables: { messageId: sent.messageId } }, { next: (r) => void results.push(r as ExecutionResult), error: () => (ended = 'error'), complete: () => (ended ??= 'complete') });
    await waitFor(() => results.length === 1, 5000, 'the first delta on A');

    expect((await b.gql(LogoutDocument, {}, user)).body.data).toEqual({ logout: true });
    await waitFor(() => ended, 5000, 'the subscription on A to end');
    expect(ended).toBe('complete');
    expect(results.at(-1)).toEqual({ errors: [{ message: 'Token revoked: the subscription ended', extensions: { code: 'UNAUTHENTICATED', status: 401 } }] });
    expect(a.app.deps.authenticator.sessions.count()).toBe(0);
    client.dispose();
  });
});

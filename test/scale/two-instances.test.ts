import { login, rows } from '../helpers/accounts';
import { freshDatabaseUrl } from '../helpers/database';
import { balanceOf, createOrder, outTradeNoOf, postWechatNotification, untilSubscribed } from '../helpers/payments';
import { openGraphqlWs } from '../helpers/raw-ws';
import { collect, subscribe, startTestApp, testRedisEnv, type TestApp } from '../helpers/test-app';
import { waitFor } from '../helpers/wait';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { startFakeWechatPay, type FakeWechatPay } from '../fakes/wechat-pay';
import {
  ChatEventsDocument as CHAT_EVENTS,
  LogoutDocument,
  MeDocument,
  PaymentStatusChangedDocument as STATUS_CHANGED,
  ReplyStreamDocument as REPLY_STREAM,
  type ReplyStreamSubscription,
  SendMessageDocument as SEND,
  StopGenerationDocument,
} from '../generated/graphql';

/** Two instances on one database and one Redis (same key prefix), as behind a load balancer. */
async function startPair(env: Record<string, string>) {
  const shared = { DATABASE_URL: freshDatabaseUrl(), ...testRedisEnv(), ...env };
  const a = await startTestApp({ env: shared });
  const b = await startTestApp({ env: shared });
  return {
    a,
    b,
    close: async () => {
      await b.close();
      await a.close();
    },
  };
}

const eventsOf = (results: Array<{ data?: ReplyStreamSubscription | null }>) => results.map((r) => r.data!.replyStream);

const onRedis = process.env.TEST_REDIS_URL ? describe : describe.skip;

onRedis('two instances sharing the database and Redis', () => {
  let ai: FakeOpenAI;
  let pay: FakeWechatPay;
  let a: TestApp;
  let b: TestApp;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ai = await startFakeOpenAI({ chunkSize: 3 });
    pay = await startFakeWechatPay();
    ({ a, b, close } = await startPair({ ...ai.env(), ...pay.env(), DEFAULT_MODEL: 'gpt-test' }));
  });
  afterAll(async () => {
    await close();
    await ai.close();
    await pay.close();
  });

  const slowReply = (text: string, delayMs = 25) => {
    ai.delayMs = delayMs;
    ai.nextReplies.push(text);
  };
  afterEach(() => {
    ai.delayMs = 0;
  });

  it('a reply started on B streams to a subscriber on A, in order, to the end', async () => {
    const user = await login(a);
    const text = 'The quick brown fox jumps over the lazy dog. '.repeat(2);
    slowReply(text);
    const sent = (await b.gql(SEND, { input: { content: 'go', stream: true } }, user)).body.data!.sendMessage;
    const { results, error } = await collect(a.ws({ authorization: `Bearer ${user.token}` }), REPLY_STREAM, { messageId: sent.messageId });
    expect(error).toBeUndefined();
    const events = eventsOf(results);
    const deltas = events.filter((e) => !e.done);
    expect(deltas.map((e) => e.seq)).toEqual(deltas.map((_, i) => i + 1));
    expect(deltas.map((e) => e.delta).join('')).toBe(text);
    expect(events.at(-1)).toMatchObject({ done: true, message: { content: text, status: 'COMPLETE' } });
  });

  it('a subscriber that reconnects to B with afterSeq gets exactly the missing deltas', async () => {
    const user = await login(a);
    const text = 'abcdefghijklmnopqrstuvwxyz0123456789'.repeat(2);
    slowReply(text, 30);
    const sent = (await a.gql(SEND, { input: { content: 'go', stream: true } }, user)).body.data!.sendMessage;
    const first = await collect(a.ws({ authorization: `Bearer ${user.token}` }), REPLY_STREAM, { messageId: sent.messageId }, 3);
    const seen = eventsOf(first.results);
    expect(seen.map((e) => e.seq)).toEqual([1, 2, 3]);
    const rest = await collect(b.ws({ authorization: `Bearer ${user.token}` }), REPLY_STREAM, { messageId: sent.messageId, afterSeq: 3 });
    const resumed = eventsOf(rest.results);
    const deltas = resumed.filter((e) => !e.done);
    expect(deltas.map((e) => e.seq)).toEqual(deltas.map((_, i) => i + 4));
    expect([...seen, ...deltas].map((e) => e.delta).join('')).toBe(text);
    expect(resumed.at(-1)!.done).toBe(true);
  });

  it('chatEvents on A hears a reply generated on B', async () => {
    const user = await login(a);
    const chat = (await b.gql(SEND, { input: { content: 'first' } }, user)).body.data!.sendMessage;
    const heard = subscribe(a.ws({ authorization: `Bearer ${user.token}` }), CHAT_EVENTS, { sessionId: chat.sessionId });
    // The subscription sends nothing until a reply runs: it is live once it hears one started on B.
    await waitFor(
      async () => {
        const probe = (await b.gql(SEND, { input: { content: 'are you listening?', sessionId: chat.sessionId } }, user)).body.data!.sendMessage;
        return heard.until((r) => r.data?.chatEvents.messageId === probe.messageId, 1000).then(
          () => true,
          () => false,
        );
      },
      10_000,
      'chatEvents on A hearing replies from B',
    );
    slowReply('second answer', 10);
    const second = (await b.gql(SEND, { input: { content: 'second', sessionId: chat.sessionId } }, user)).body.data!.sendMessage;
    // 'second answer' in chunks of 3: five deltas and the done event.
    await heard.until((r) => r.data?.chatEvents.messageId === second.messageId && r.data.chatEvents.done);
    heard.dispose();
    const mine = heard.results.map((r) => r.data!.chatEvents).filter((e) => e.messageId === second.messageId);
    expect(mine.map((e) => e.delta).join('')).toBe('second answer');
    expect(mine.at(-1)!.done).toBe(true);
  });

  it('stopGeneration on A stops a reply running on B and returns what was generated', async () => {
    const user = await login(a);
    slowReply('y'.repeat(300), 40);
    const sent = (await b.gql(SEND, { input: { content: 'long', stream: true } }, user)).body.data!.sendMessage;
    await collect(a.ws({ authorization: `Bearer ${user.token}` }), REPLY_STREAM, { messageId: sent.messageId }, 2);
    const stopped = (await a.gql(StopGenerationDocument, { id: sent.messageId }, user)).body.data!.stopGeneration;
    expect(stopped.status).toBe('STOPPED');
    expect(stopped.content.length).toBeGreaterThan(0);
    expect(stopped.content.length).toBeLessThan(300);
    const [row] = await rows(a, 'select status, content from messages where id = ?', [sent.messageId]);
    expect(row).toEqual({ status: 'STOPPED', content: stopped.content });
    // Someone else's reply is NOT_FOUND from either instance.
    const stranger = await login(b);
    const refused = await b.gql(StopGenerationDocument, { id: sent.messageId }, stranger);
    expect(refused.body.errors![0].extensions.code).toBe('NOT_FOUND');
  });

  it('a token revoked on A is refused on B, and B closes the sockets that used it', async () => {
    const user = await login(a);
    expect((await b.gql(MeDocument, {}, user)).body.data!.me.id).toBe(user.userId);
    const socket = await openGraphqlWs(b.wsUrl, { authorization: `Bearer ${user.token}` });
    expect(socket.acked).toBe(true);
    expect((await a.gql(LogoutDocument, {}, user)).body.data!.logout).toBe(true);
    const refused = await b.gql(MeDocument, {}, user);
    expect(refused.body.errors![0].extensions.code).toBe('UNAUTHENTICATED');
    expect((await socket.closed).code).toBe(4403);
  });

  it('a payment notification handled on A fires paymentStatusChanged on B and credits once', async () => {
    const user = await login(a);
    await createOrder(b, user, 'WECHAT', { amount: 6, orderId: 'pair-1' });
    const outTradeNo = await outTradeNoOf(b, user.userId, 'pair-1');
    const heard = subscribe(b.ws({ authorization: `Bearer ${user.token}` }), STATUS_CHANGED, { orderId: 'pair-1' });
    await untilSubscribed(a, heard, user.userId, 'pair-1'); // published on A, heard on B
    const n = pay.notification(outTradeNo);
    const answers = await Promise.all([postWechatNotification(a, n), postWechatNotification(b, n), postWechatNotification(a, n)]);
    expect(answers.map((x) => x.status)).toEqual([204, 204, 204]);
    const paid = await heard.until((r) => r.data?.paymentStatusChanged.status === 'SUCCESS');
    heard.dispose();
    expect(heard.error).toBeUndefined();
    expect(paid.data!.paymentStatusChanged).toMatchObject({ orderId: 'pair-1', status: 'SUCCESS', paidAmount: 6 });
    expect(await balanceOf(b, user)).toBe(600);
  });
});

onRedis('limits shared by two instances', () => {
  let ai: FakeOpenAI;
  let pair: Awaited<ReturnType<typeof startPair>>;
  beforeAll(async () => {
    ai = await startFakeOpenAI({ chunkSize: 3 });
    pair = await startPair({ ...ai.env(), DEFAULT_MODEL: 'gpt-test', RATE_LIMIT_PER_MINUTE: '8', MAX_CONCURRENT_STREAMS: '1' });
  });
  afterAll(async () => {
    await pair.close();
    await ai.close();
  });

  it('counts one user’s requests across both instances', async () => {
    const { a, b } = pair;
    const user = await login(a);
    for (let i = 0; i < 8; i++) expect((await (i % 2 ? b : a).gql(MeDocument, {}, user)).status).toBe(200);
    const refused = await b.gql(MeDocument, {}, user);
    expect(refused.status).toBe(429);
    expect(refused.body.errors![0].extensions.code).toBe('RATE_LIMITED');
  });

  it('caps concurrent streaming replies per user across instances', async () => {
    const { a, b } = pair;
    const user = await login(b);
    ai.delayMs = 40;
    ai.nextReplies.push('z'.repeat(200));
    const first = await a.gql(SEND, { input: { content: 'one', stream: true } }, user);
    expect(first.body.data!.sendMessage.reply.status).toBe('STREAMING');
    const second = await b.gql(SEND, { input: { content: 'two', stream: true } }, user);
    expect(second.body.errors![0].extensions.code).toBe('RATE_LIMITED');
    ai.delayMs = 0;
  });
});

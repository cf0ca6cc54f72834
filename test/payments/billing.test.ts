import { PRICES, pricedModelsFile } from '../helpers/replies';
import { login, rows } from '../helpers/accounts';
import { balanceOf, createOrder, ledgerOf, outTradeNoOf, postWechatNotification } from '../helpers/payments';
import { collect, startTestApp, type TestApp } from '../helpers/test-app';
import { ReplyStreamDocument, SendMessageDocument as SEND, StopGenerationDocument } from '../generated/graphql';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { startFakeWechatPay, type FakeWechatPay } from '../fakes/wechat-pay';

/** Fen per 1,000 tokens: a reply costs ceil((prompt * 30 + completion * 70) / 1000). */

describe('balance and priced models', () => {
  let ai: FakeOpenAI;
  let pay: FakeWechatPay;
  let t: TestApp;
  beforeAll(async () => {
    ai = await startFakeOpenAI({ chunkSize: 4 });
    pay = await startFakeWechatPay();
    const file = pricedModelsFile(ai.baseURL);
    t = await startTestApp({ env: { AI_MODELS: file, FAKE_AI_KEY: ai.apiKey, ...pay.env() } });
  });
  afterAll(async () => {
    await t.close();
    await ai.close();
    await pay.close();
  });

  /** Tops up through the real path: an order and its paid notification. */
  async function topUp(user: { token: string; userId: string }, yuan: number) {
    const orderId = `top-${Math.random().toString(36).slice(2)}`;
    await createOrder(t, user, 'WECHAT', { amount: yuan, orderId });
    const outTradeNo = await outTradeNoOf(t, user.userId, orderId);
    expect((await postWechatNotification(t, pay.notification(outTradeNo))).status).toBe(204);
  }

  it('refuses a priced model with FORBIDDEN / INSUFFICIENT_BALANCE before calling the provider, and stores nothing', async () => {
    const user = await login(t);
    const calls = ai.calls.length;
    const res = await t.gql(SEND, { input: { content: 'hello', modelId: 'paid' } }, user);
    expect(res.body.errors![0].extensions).toMatchObject({ code: 'FORBIDDEN', status: 403, details: { reason: 'INSUFFICIENT_BALANCE' } });
    expect(ai.calls.length).toBe(calls);
    expect(Number((await rows(t, 'select count(*) as n from messages where user_id = ?', [user.userId]))[0].n)).toBe(0);
    const rest = await t.rest('POST', '/v1/ai/message', { ...user, body: { message: 'hello', modelId: 'paid' } });
    expect(rest.status).toBe(403);
  });

  it('lets a user with no balance use a free model', async () => {
    const user = await login(t);
    const res = await t.gql(SEND, { input: { content: 'hello', modelId: 'free' } }, user);
    expect(res.body.data!.sendMessage.reply.status).toBe('COMPLETE');
    expect(await balanceOf(t, user)).toBe(0);
    expect(await ledgerOf(t, user.userId)).toEqual([]);
  });

  it('debits exactly the cost of the reply from the provider’s usage, once, with a ledger entry', async () => {
    const user = await login(t);
    // 500 fen: a priced reply first holds its maximum cost (4,096 completion tokens here, 295 fen).
    await topUp(user, 5);
    const res = await t.gql(SEND, { input: { content: 'Tell me something long enough to cost a few fen. '.repeat(20), modelId: 'paid' } }, user);
    const usage = res.body.data!.sendMessage.reply.usage!;
    expect(usage.totalTokens).toBe(ai.calls.at(-1)!.usage!.total_tokens);
    const cost = Math.ceil((usage.promptTokens * PRICES.prompt + usage.completionTokens * PRICES.completion) / 1000);
    expect(cost).toBeGreaterThan(1);
    expect(await balanceOf(t, user)).toBe(500 - cost);
    const ledger = await ledgerOf(t, user.userId);
    expect(ledger.map((e) => [e.kind, e.amount, e.balanceAfter])).toEqual([
      ['TOPUP', 500, 500],
      ['AI_USAGE', -cost, 500 - cost],
    ]);
    expect(ledger[1].reference).toBe(res.body.data!.sendMessage.messageId);
  });

  it('debits a stopped reply for what it used', async () => {
    const user = await login(t);
    await topUp(user, 5);
    ai.nextModes.push('slow');
    const started = await t.gql(SEND, { input: { content: 'stream slowly please', modelId: 'paid', stream: true } }, user);
    const messageId = started.body.data!.sendMessage.messageId;
    // Stopped once it is under way: after its first delta.
    const first = await collect(t.ws({ authorization: `Bearer ${user.token}` }), ReplyStreamDocument, { messageId }, 1);
    expect(first.results[0].data!.replyStream.done).toBe(false);
    const stopped = await t.gql(StopGenerationDocument, { id: messageId }, user);
    expect(stopped.body.data!.stopGeneration.status).toBe('STOPPED');
    const u = stopped.body.data!.stopGeneration.usage!;
    const cost = Math.ceil((u.promptTokens * PRICES.prompt + u.completionTokens * PRICES.completion) / 1000);
    expect(await balanceOf(t, user)).toBe(500 - cost);
    expect((await ledgerOf(t, user.userId)).filter((e) => e.kind === 'AI_USAGE')).toEqual([{ kind: 'AI_USAGE', reference: messageId, amount: -cost, balanceAfter: 500 - cost }]);
  });
});

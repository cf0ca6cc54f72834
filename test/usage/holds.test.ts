import { estimateTokens } from '../../src/models/context-window';
import { maxReplyCost } from '../../src/models/pricing';
import { SendMessageFullDocument as SEND, StopGenerationDocument } from '../generated/graphql';
import { login, rows } from '../helpers/accounts';
import { freshDatabaseUrl, onMysql } from '../helpers/database';
import { startTestApp, testRedisEnv, type TestApp } from '../helpers/test-app';
import { waitFor } from '../helpers/wait';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { costOf, grant, modelsFile, moneyOf, usageDebits, usageOf } from './setup';

/*
 * A priced reply holds its maximum cost (prompt estimate + maxTokens at the completion price)
 * before the provider is called, in the database; it settles once to the real cost when it
 * ends. Concurrent replies therefore never overdraw, and the ledger equals the usage.
 */
const CONTENT = 'go';
const MAX_TOKENS = 100;

async function holdingApp(ai: FakeOpenAI, env: Record<string, string> = {}): Promise<TestApp> {
  return startTestApp({ env: { AI_MODELS: modelsFile(ai.baseURL, { maxTokens: MAX_TOKENS }), FAKE_AI_KEY: ai.apiKey, MAX_CONCURRENT_STREAMS: '50', ...env } });
}

const holdOf = (t: TestApp) => maxReplyCost(t.app.deps.catalog.find('paid')!, estimateTokens(CONTENT));
const openHolds = async (t: TestApp, userId: string) => Number((await rows(t, 'select count(*) as n from reply_holds where user_id = ? and settled_at is null', [userId]))[0].n);

/** Sends `n` priced replies at once (streaming: each answers as soon as it started); the ids started and the refusals. */
async function race(ts: TestApp[], user: { token: string }, n: number) {
  const results = await Promise.all(Array.from({ length: n }, (_, i) => ts[i % ts.length].gql(SEND, { input: { content: CONTENT, modelId: 'paid', stream: true } }, user)));
  const started = results.filter((r) => r.body.data).map((r) => r.body.data!.sendMessage.messageId);
  const refusals = results.filter((r) => !r.body.data).map((r) => [r.body.errors![0].extensions.code, r.body.errors![0].extensions.details?.reason]);
  return { started, refusals };
}

/** Stops each reply and waits until every hold is settled; returns the final money. */
async function stopAll(t: TestApp, user: { token: string; userId: string }, ids: string[]) {
  for (const id of ids) expect((await t.gql(StopGenerationDocument, { id }, user)).body.data?.stopGeneration.status).toBe('STOPPED');
  await waitFor(async () => (await openHolds(t, user.userId)) === 0, 5000, 'every hold settled');
  return moneyOf(t, user.userId);
}

describe('holds on priced replies', () => {
  let ai: FakeOpenAI;
  let t: TestApp;
  beforeAll(async () => {
    ai = await startFakeOpenAI({ chunkSize: 4 });
    t = await holdingApp(ai);
  });
  afterAll(async () => {
    await t.close();
    await ai.close();
  });
  afterEach(() => {
    ai.mode = 'ok';
    ai.nextModes.length = 0;
  });

  it('lets 20 concurrent replies start only as far as the balance covers 3 holds; the rest are refused and the balance never goes below 0', async () => {
    const hold = holdOf(t);
    const user = await login(t);
    const start = 3 * hold + hold - 1;
    await grant(t, user.userId, start);
    ai.mode = 'hangAfterFirstChunk';
    const { started, refusals } = await race([t], user, 20);
    expect(started).toHaveLength(3);
    expect(refusals).toEqual(Array.from({ length: 17 }, () => ['FORBIDDEN', 'INSUFFICIENT_BALANCE']));
    expect(await moneyOf(t, user.userId)).toEqual({ balance: start, held: 3 * hold });
    // The refused ones called no provider and stored nothing.
    expect(Number((await rows(t, 'select count(*) as n from messages where user_id = ?', [user.userId]))[0].n)).toBe(6);

    const final = await stopAll(t, user, started);
    const usage = await usageOf(t, user.userId);
    expect(usage.map((u) => u.outcome)).toEqual(['STOPPED', 'STOPPED', 'STOPPED']);
    // Stopped replies pay for what was generated (estimated usage), and only that.
    for (const u of usage) expect(u.cost).toBe(costOf(u));
    const spent = usage.reduce((n, u) => n + u.cost, 0);
    expect(spent).toBeGreaterThan(0);
    expect(final).toEqual({ balance: start - spent, held: 0 });
    expect(final.balance).toBeGreaterThanOrEqual(0);
    expect(await usageDebits(t, user.userId)).toEqual({ fen: spent, count: 3 });
  });

  it('releases the whole hold of a failed reply and charges nothing', async () => {
    const user = await login(t);
    await grant(t, user.userId, 100);
    ai.mode = 'error500';
    const res = await t.gql(SEND, { input: { content: CONTENT, modelId: 'paid' } }, user);
    expect(res.body.errors![0].extensions.code).toBe('UPSTREAM_ERROR');
    expect(await moneyOf(t, user.userId)).toEqual({ balance: 100, held: 0 });
    expect(await usageDebits(t, user.userId)).toEqual({ fen: 0, count: 0 });
    expect(await openHolds(t, user.userId)).toBe(0);
  });

  it('settles a completed reply to its real cost and frees the rest of the hold', async () => {
    const user = await login(t);
    await grant(t, user.userId, 100);
    const res = await t.gql(SEND, { input: { content: CONTENT, modelId: 'paid' } }, user);
    expect(res.body.data!.sendMessage.reply.status).toBe('COMPLETE');
    const u = ai.calls.at(-1)!.usage!;
    const cost = costOf({ promptTokens: u.prompt_tokens, completionTokens: u.completion_tokens });
    expect(await moneyOf(t, user.userId)).toEqual({ balance: 100 - cost, held: 0 });
  });

  it('refuses a balance below one hold before anything starts', async () => {
    const user = await login(t);
    await grant(t, user.userId, holdOf(t) - 1);
    const calls = ai.calls.length;
    const res = await t.gql(SEND, { input: { content: CONTENT, modelId: 'paid' } }, user);
    expect(res.body.errors![0].extensions).toMatchObject({ code: 'FORBIDDEN', details: { reason: 'INSUFFICIENT_BALANCE' } });
    expect(ai.calls.length).toBe(calls);
    expect(await moneyOf(t, user.userId)).toEqual({ balance: holdOf(t) - 1, held: 0 });
    expect(Number((await rows(t, 'select count(*) as n from reply_holds where user_id = ?', [user.userId]))[0].n)).toBe(0);
  });

  it('releases a hold left open by an instance that died (the sweep of stale holds), once', async () => {
    const user = await login(t);
    await grant(t, user.userId, 100);
    // A hold and a STREAMING reply that no instance runs: what a crash leaves behind.
    const id = '01hzzzzzzzzzzzzzzzzzzzzzzz';
    expect(await t.app.deps.billing.holdReply({ userId: user.userId, messageId: id, model: t.app.deps.catalog.find('paid')!, promptTokens: 5 })).toEqual(expect.any(String));
    expect((await moneyOf(t, user.userId)).held).toBe(holdOf(t));
    expect(await t.app.deps.billing.settleStaleHolds(0)).toBe(1);
    expect(await moneyOf(t, user.userId)).toEqual({ balance: 100, held: 0 });
    expect(await t.app.deps.billing.settleStaleHolds(0)).toBe(0);
  });
});

/*
 * The same race across two instances sharing MariaDB and Redis: the conditional update of
 * users.held is the one arbiter. Runs with TEST_DATABASE_URL (MySQL/MariaDB, once the
 * migration for reply_holds, usage_records and users.held exists) and TEST_REDIS_URL.
 */
const onTwoInstances = onMysql() && process.env.TEST_REDIS_URL ? describe : describe.skip;
onTwoInstances('holds across two instances', () => {
  it('never lets two instances start more replies than the balance covers', async () => {
    const ai = await startFakeOpenAI({ chunkSize: 4 });
    const env = { DATABASE_URL: freshDatabaseUrl(), ...testRedisEnv() };
    const a = await holdingApp(ai, env);
    const b = await holdingApp(ai, env);
    try {
      const hold = holdOf(a);
      const user = await login(a);
      const start = 3 * hold + hold - 1;
      await grant(a, user.userId, start);
      ai.mode = 'hangAfterFirstChunk';
      const { started, refusals } = await race([a, b], user, 20);
      expect(started).toHaveLength(3);
      expect(refusals).toHaveLength(17);
      const final = await stopAll(a, user, started);
      const spent = (await usageOf(a, user.userId)).reduce((n, u) => n + u.cost, 0);
      expect(final).toEqual({ balance: start - spent, held: 0 });
      expect(await usageDebits(a, user.userId)).toEqual({ fen: spent, count: 3 });
    } finally {
      await b.close();
      await a.close();
      await ai.close();
    }
  });
});

import OpenAI from 'openai';
import { CreateApiKeyDocument, SendMessageFullDocument as SEND, UpdateSettingsDocument } from '../generated/graphql';
import { login } from '../helpers/accounts';
import { gqlUpload, wavFile } from '../helpers/audio';
import { dataOf } from '../helpers/replies';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { waitFor } from '../helpers/wait';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { costOf, grant, modelsFile, usageDebits, usageOf } from './setup';

/*
 * One usage row per billable call, written where the call ends: stored and unstored replies,
 * the OpenAI-compatible API, speech to text. Values come from the fake provider's usage rule
 * (tokens = characters) and the ledger (cost).
 */
describe('usage records', () => {
  let ai: FakeOpenAI;
  let t: TestApp;
  beforeAll(async () => {
    ai = await startFakeOpenAI({ chunkSize: 4 });
    t = await startTestApp({ env: { AI_MODELS: modelsFile(ai.baseURL), FAKE_AI_KEY: ai.apiKey, ...ai.env() } });
  });
  afterAll(async () => {
    await t.close();
    await ai.close();
  });

  it('records a stored priced reply: its tokens, the cost debited, model, upstream and outcome', async () => {
    const user = await login(t);
    await grant(t, user.userId, 1000);
    const sent = dataOf(await t.gql(SEND, { input: { content: 'A question worth a few fen of tokens. '.repeat(10), modelId: 'paid' } }, user)).sendMessage;
    const usage = ai.calls.at(-1)!.usage!;
    const [row] = await waitFor(async () => {
      const found = await usageOf(t, user.userId);
      return found.length ? found : null;
    });
    expect(row).toMatchObject({
      kind: 'REPLY',
      model: 'paid',
      upstream: ai.baseURL.replace(/\/$/, ''),
      reference: sent.messageId,
      promptTokens: usage.prompt_tokens,
      completionTokens: usage.completion_tokens,
      reasoningTokens: 0,
      cost: costOf({ promptTokens: usage.prompt_tokens, completionTokens: usage.completion_tokens }),
      outcome: 'COMPLETE',
    });
    expect(row.latencyMs).toBeGreaterThanOrEqual(0);
    expect(await usageDebits(t, user.userId)).toEqual({ fen: row.cost, count: 1 });
  });

  it('records a free reply with cost 0', async () => {
    const user = await login(t);
    await t.gql(SEND, { input: { content: 'hello', modelId: 'free' } }, user);
    const rows = await usageOf(t, user.userId);
    expect(rows.map((r) => [r.kind, r.model, r.cost, r.outcome, r.promptTokens])).toEqual([['REPLY', 'free', 0, 'COMPLETE', ai.calls.at(-1)!.usage!.prompt_tokens]]);
  });

  it('records an unstored reply (saveHistory off) though nothing of it is stored', async () => {
    const user = await login(t);
    await grant(t, user.userId, 1000);
    await t.gql(UpdateSettingsDocument, { input: { saveHistory: false } }, user);
    await t.gql(SEND, { input: { content: 'not kept', modelId: 'paid' } }, user);
    const usage = ai.calls.at(-1)!.usage!;
    const rows = await usageOf(t, user.userId);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ kind: 'REPLY', model: 'paid', promptTokens: usage.prompt_tokens, completionTokens: usage.completion_tokens, outcome: 'COMPLETE' });
    expect(rows[0].cost).toBe(costOf({ promptTokens: usage.prompt_tokens, completionTokens: usage.completion_tokens }));
    expect(await usageDebits(t, user.userId)).toEqual({ fen: rows[0].cost, count: 1 });
  });

  it('records an OpenAI-compatible completion', async () => {
    const user = await login(t);
    await grant(t, user.userId, 1000);
    const key = dataOf(await t.gql(CreateApiKeyDocument, { name: 'sdk' }, user)).createApiKey.secret;
    const sdk = new OpenAI({ baseURL: `${t.url}/openai/v1`, apiKey: key, maxRetries: 0 });
    const completion = await sdk.chat.completions.create({ model: 'paid', messages: [{ role: 'user', content: 'hi from the SDK' }] });
    const rows = await usageOf(t, user.userId);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      kind: 'REPLY',
      model: 'paid',
      promptTokens: completion.usage!.prompt_tokens,
      completionTokens: completion.usage!.completion_tokens,
      cost: costOf({ promptTokens: completion.usage!.prompt_tokens, completionTokens: completion.usage!.completion_tokens }),
      outcome: 'COMPLETE',
    });
  });

  it('records a failed reply with cost 0 and outcome FAILED', async () => {
    const user = await login(t);
    await grant(t, user.userId, 1000);
    ai.nextModes.push('error500', 'error500', 'error500', 'error500', 'error500', 'error500');
    await t.gql(SEND, { input: { content: 'this fails', modelId: 'paid' } }, user);
    ai.nextModes.length = 0;
    const rows = await usageOf(t, user.userId);
    expect(rows.map((r) => [r.kind, r.cost, r.outcome])).toEqual([['REPLY', 0, 'FAILED']]);
    expect(await usageDebits(t, user.userId)).toEqual({ fen: 0, count: 0 });
  });

  it('records a transcription with the speech model and its provider', async () => {
    const user = await login(t);
    const res = await gqlUpload(t, wavFile(0.5), { token: user.token });
    expect(res.status).toBe(200);
    const rows = await usageOf(t, user.userId);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ kind: 'TRANSCRIPTION', model: t.config.stt.model, upstream: ai.baseURL.replace(/\/$/, ''), cost: 0, outcome: 'OK' });
  });
});

import { PRICES, pricedModelsFile } from '../helpers/replies';
import OpenAI, { toFile } from 'openai';
import { parseConfig } from '../../src/config';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { CreateApiKeyDocument, RevokeApiKeyDocument } from '../generated/graphql';
import { login, rows } from '../helpers/accounts';
import { wavFile } from '../helpers/audio';
import { captureLogs } from '../helpers/log-capture';
import { ledgerOf } from '../helpers/payments';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { waitFor } from '../helpers/wait';
import { keywordFile, TERMS } from '../moderation/setup';

/** Fen per 1,000 tokens: a reply costs ceil((prompt * 30 + completion * 70) / 1000). */

interface OpenAiErrorJson {
  error: { message: string; type: string; code: string | null; param: string | null };
}

/** A user with a live API key. */
async function keyedUser(t: TestApp) {
  const user = await login(t);
  const res = await t.gql(CreateApiKeyDocument, { name: 'sdk' }, user);
  if (!res.body.data) throw new Error(JSON.stringify(res.body.errors));
  return { ...user, apiKey: res.body.data.createApiKey.secret, keyId: res.body.data.createApiKey.apiKey.id };
}

/** The official SDK pointed at the app; no retries, so every refusal is seen once. */
const sdk = (t: TestApp, apiKey: string) => new OpenAI({ baseURL: `${t.url}/openai/v1`, apiKey, maxRetries: 0 });

/** A raw POST /openai/v1/chat/completions, for what the SDK hides (status, headers, the SSE text). */
function post(t: TestApp, apiKey: string | null, body: unknown) {
  return fetch(`${t.url}/openai/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) },
    body: JSON.stringify(body),
  });
}

/** The `data:` payloads of an SSE body, in order (comments such as keep-alives left out). */
const sseData = (text: string) =>
  text
    .split('\n\n')
    .filter((e) => e.startsWith('data: '))
    .map((e) => e.slice('data: '.length));

const chatRows = async (t: TestApp, userId: string) => ({
  chats: Number((await rows(t, 'select count(*) as n from chats where user_id = ?', [userId]))[0].n),
  messages: Number((await rows(t, 'select count(*) as n from messages where user_id = ?', [userId]))[0].n),
});

describe('the OpenAI-compatible API', () => {
  let ai: FakeOpenAI;
  let t: TestApp;
  const logs = captureLogs(parseConfig({ NODE_ENV: 'test' }), 'info');
  beforeAll(async () => {
    ai = await startFakeOpenAI({ chunkSize: 4 });
    const file = pricedModelsFile(ai.baseURL, { defaultId: 'gpt-test' });
    t = await startTestApp({
      env: { ...ai.env(), AI_MODELS: file, FAKE_AI_KEY: ai.apiKey, MODERATION_KEYWORDS_FILE: keywordFile() },
      overrides: { logger: logs.logger },
    });
  });
  afterAll(async () => {
    await t.close();
    await ai.close();
  });

  it('answers a completion through the SDK with the reply, stop, and the usage the provider reported', async () => {
    const user = await keyedUser(t);
    ai.nextReplies.push('Hello from the fake');
    const res = await sdk(t, user.apiKey).chat.completions.create({
      model: 'gpt-test',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello!' },
        { role: 'user', content: [{ type: 'text', text: 'How ' }, { type: 'text', text: 'are you?' }] },
      ],
      max_tokens: 50,
      temperature: 0.5,
      user: 'end-user-1',
    });
    expect(res).toMatchObject({ object: 'chat.completion', model: 'gpt-test', choices: [{ index: 0, message: { role: 'assistant', content: 'Hello from the fake' }, finish_reason: 'stop' }] });
    expect(res.id).toMatch(/^chatcmpl-/);
    expect(res.created).toBeGreaterThan(1_600_000_000);
    const call = ai.calls.at(-1)!;
    expect(res.usage).toEqual({ ...call.usage, completion_tokens_details: { reasoning_tokens: 0 } });
    // The turns the provider saw, with the text parts joined and the request's own settings.
    expect(call.body.messages!.map((m) => [m.role, m.content])).toEqual([
      ['system', 'Be brief.'],
      ['user', 'Hi'],
      ['assistant', 'Hello!'],
      ['user', 'How are you?'],
    ]);
    expect(call.body).toMatchObject({ max_tokens: 50, temperature: 0.5 });
    expect(await chatRows(t, user.userId)).toEqual({ chats: 0, messages: 0 });
    // One log line for the call, with the numbers and without the text.
    const line = logs.lines.map((l) => JSON.parse(l) as { msg: string; openai?: Record<string, unknown> }).filter((l) => l.msg === 'openai-compatible call' && l.openai?.messageId === res.id.slice('chatcmpl-'.length));
    expect(line.map((l) => l.openai)).toEqual([
      expect.objectContaining({ userId: user.userId, model: 'gpt-test', outcome: 'COMPLETE', promptTokens: call.usage!.prompt_tokens, completionTokens: call.usage!.completion_tokens }),
    ]);
    expect(logs.text()).not.toContain('How are you?');
  });

  it('streams through the SDK: the chunks join to the reply, and include_usage adds the usage chunk', async () => {
    const user = await keyedUser(t);
    const client = sdk(t, user.apiKey);
    ai.nextReplies.push('A streamed answer in pieces');
    const chunks = [];
    for await (const c of await client.chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'stream it' }], stream: true, stream_options: { include_usage: true } })) chunks.push(c);
    expect(chunks[0].choices[0].delta).toEqual({ role: 'assistant', content: '' });
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('A streamed answer in pieces');
    expect(chunks.at(-2)!.choices[0].finish_reason).toBe('stop');
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage).toEqual({ ...ai.calls.at(-1)!.usage, completion_tokens_details: { reasoning_tokens: 0 } });
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);

    ai.nextReplies.push('No usage this time');
    const plain = [];
    for await (const c of await client.chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'again' }], stream: true })) plain.push(c);
    expect(plain.map((c) => c.choices[0].delta.content ?? '').join('')).toBe('No usage this time');
    expect(plain.every((c) => c.choices.length === 1 && c.usage === undefined)).toBe(true);
    expect(plain.at(-1)!.choices[0].finish_reason).toBe('stop');
    expect(await chatRows(t, user.userId)).toEqual({ chats: 0, messages: 0 });
  });

  it('streams OpenAI’s SSE over raw fetch, ending with data: [DONE]', async () => {
    const user = await keyedUser(t);
    ai.nextReplies.push('raw SSE');
    const res = await post(t, user.apiKey, { model: 'gpt-test', messages: [{ role: 'user', content: 'raw' }], stream: true, stream_options: { include_usage: true }, frequency_penalty: 0, tools: [] });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const data = sseData(await res.text());
    expect(data.at(-1)).toBe('[DONE]');
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d) as { object: string; choices: Array<{ delta: { content?: string }; finish_reason: string | null }>; usage?: unknown });
    expect(chunks.every((c) => c.object === 'chat.completion.chunk')).toBe(true);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('raw SSE');
    // Like OpenAI: `usage: null` on every chunk but the last, which has no choices.
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { total_tokens: ai.calls.at(-1)!.usage!.total_tokens } });
  });

  it('lists the catalog’s models, and one model by id', async () => {
    const user = await keyedUser(t);
    const client = sdk(t, user.apiKey);
    const ids = [];
    for await (const m of client.models.list()) ids.push(m.id);
    expect(ids).toEqual(['gpt-test', 'paid']);
    expect(await client.models.retrieve('paid')).toMatchObject({ id: 'paid', object: 'model', owned_by: 'fake' });
    await expect(client.models.retrieve('nope')).rejects.toMatchObject({ status: 404, code: 'model_not_found' });
  });

  it('transcribes a WAV through the SDK, as json and as text', async () => {
    const user = await keyedUser(t);
    const client = sdk(t, user.apiKey);
    const res = await client.audio.transcriptions.create({ file: await toFile(wavFile(1), 'speech.wav'), model: 'whisper-1' });
    expect(res).toEqual({ text: '你好，世界' });
    expect(ai.transcribedFiles.at(-1)).toEqual(wavFile(1));
    const text = await client.audio.transcriptions.create({ file: await toFile(wavFile(0.5), 'speech.wav'), model: 'whisper-1', language: 'zh', response_format: 'text' });
    expect(text).toBe('你好，世界');
    expect(ai.transcriptions.at(-1)!.language).toBe('zh');
  });

  it('charges the key’s owner for a priced model, with a ledger entry for the completion', async () => {
    const user = await keyedUser(t);
    // 500 fen: a priced reply first holds its maximum cost (4,096 completion tokens here).
    await rows(t, 'update users set balance = 500 where id = ?', [user.userId]);
    const res = await sdk(t, user.apiKey).chat.completions.create({ model: 'paid', messages: [{ role: 'user', content: 'Tell me something long enough to cost a few fen. '.repeat(20) }] });
    const usage = res.usage!;
    expect(usage.total_tokens).toBe(ai.calls.at(-1)!.usage!.total_tokens);
    const cost = Math.ceil((usage.prompt_tokens * PRICES.prompt + usage.completion_tokens * PRICES.completion) / 1000);
    expect(cost).toBeGreaterThan(1);
    await waitFor(async () => (await ledgerOf(t, user.userId)).length === 1, 5000, 'the charge');
    expect(await ledgerOf(t, user.userId)).toEqual([{ kind: 'AI_USAGE', reference: res.id.slice('chatcmpl-'.length), amount: -cost, balanceAfter: 500 - cost }]);
    expect(Number((await rows(t, 'select balance from users where id = ?', [user.userId]))[0].balance)).toBe(500 - cost);
    expect(await chatRows(t, user.userId)).toEqual({ chats: 0, messages: 0 });
  });

  it('refuses an exhausted balance with 429 insufficient_quota, telling SDKs not to retry', async () => {
    const user = await keyedUser(t);
    const calls = ai.calls.length;
    const res = await post(t, user.apiKey, { model: 'paid', messages: [{ role: 'user', content: 'hello' }] });
    expect(res.status).toBe(429);
    expect(res.headers.get('x-should-retry')).toBe('false');
    expect(((await res.json()) as OpenAiErrorJson).error).toMatchObject({ type: 'insufficient_quota', code: 'insufficient_quota' });
    await expect(sdk(t, user.apiKey).chat.completions.create({ model: 'paid', messages: [{ role: 'user', content: 'hello' }] })).rejects.toBeInstanceOf(OpenAI.RateLimitError);
    expect(ai.calls.length).toBe(calls);
  });

  it('refuses text the content rules block with 400 content_filter, sending nothing to the provider', async () => {
    const user = await keyedUser(t);
    const calls = ai.calls.length;
    const res = await post(t, user.apiKey, { model: 'gpt-test', messages: [{ role: 'user', content: `tell me about ${TERMS[1]}` }] });
    expect(res.status).toBe(400);
    expect(((await res.json()) as OpenAiErrorJson).error).toMatchObject({ type: 'invalid_request_error', code: 'content_filter' });
    const streamed = await post(t, user.apiKey, { model: 'gpt-test', stream: true, messages: [{ role: 'system', content: TERMS[0] }, { role: 'user', content: 'hi' }] });
    expect(streamed.status).toBe(400);
    expect(((await streamed.json()) as OpenAiErrorJson).error.code).toBe('content_filter');
    expect(ai.calls.length).toBe(calls);
  });

  it('answers an unknown model with 404 model_not_found', async () => {
    const user = await keyedUser(t);
    const res = await post(t, user.apiKey, { model: 'gpt-nope', messages: [{ role: 'user', content: 'hi' }] });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { message: expect.any(String), type: 'invalid_request_error', code: 'model_not_found', param: 'model' } });
    await expect(sdk(t, user.apiKey).chat.completions.create({ model: 'gpt-nope', messages: [{ role: 'user', content: 'hi' }] })).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });

  it.each([
    ['messages missing', { model: 'gpt-test' }, 'messages'],
    ['messages empty', { model: 'gpt-test', messages: [] }, 'messages'],
    ['the last message not a user’s', { messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello' }] }, 'messages.1.role'],
    ['empty content', { messages: [{ role: 'user', content: '   ' }] }, 'messages.0.content'],
    ['oversized content', { messages: [{ role: 'user', content: 'x'.repeat(32_001) }] }, 'messages.0.content'],
    ['an image part', { messages: [{ role: 'user', content: [{ type: 'text', text: 'what is it' }, { type: 'image_url', image_url: { url: 'https://x/y.png' } }] }] }, 'messages.0.content.1'],
    ['a tool message', { messages: [{ role: 'tool', content: 'x', tool_call_id: '1' }, { role: 'user', content: 'hi' }] }, 'messages.0.role'],
    ['a bad temperature', { messages: [{ role: 'user', content: 'hi' }], temperature: 5 }, 'temperature'],
  ])('refuses a malformed body (%s) with 400 invalid_request_error', async (_name, body, param) => {
    const user = await keyedUser(t);
    const calls = ai.calls.length;
    const res = await post(t, user.apiKey, body);
    expect(res.status).toBe(400);
    expect(((await res.json()) as OpenAiErrorJson).error).toMatchObject({ type: 'invalid_request_error', param });
    expect(ai.calls.length).toBe(calls);
  });

  it('refuses a body that is not JSON with 400 in OpenAI’s shape', async () => {
    const user = await keyedUser(t);
    const res = await fetch(`${t.url}/openai/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${user.apiKey}` }, body: '{"messages":' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as OpenAiErrorJson).error.type).toBe('invalid_request_error');
  });

  it('answers a missing, unknown or revoked key with 401 in OpenAI’s shape, without echoing the key', async () => {
    const user = await keyedUser(t);
    const none = await post(t, null, { messages: [{ role: 'user', content: 'hi' }] });
    expect(none.status).toBe(401);
    expect(((await none.json()) as OpenAiErrorJson).error).toMatchObject({ type: 'authentication_error', code: 'invalid_api_key' });
    const wrong = `cak_${'x'.repeat(43)}`;
    const bad = await post(t, wrong, { messages: [{ role: 'user', content: 'hi' }] });
    expect(bad.status).toBe(401);
    expect(await bad.text()).not.toContain(wrong);

    expect((await t.gql(RevokeApiKeyDocument, { id: user.keyId }, user)).body.data?.revokeApiKey).toBe(true);
    const client = sdk(t, user.apiKey);
    const refused = client.chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }] });
    await expect(refused).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    await expect(refused).rejects.toMatchObject({ status: 401 });
    await expect(client.models.list()).rejects.toMatchObject({ status: 401 });
    // X-API-Key works as on /v1, and a login token in Bearer too.
    const other = await keyedUser(t);
    const byHeader = await fetch(`${t.url}/openai/v1/models`, { headers: { 'x-api-key': other.apiKey } });
    expect(byHeader.status).toBe(200);
    expect((await fetch(`${t.url}/openai/v1/models`, { headers: { authorization: `Bearer ${other.token}` } })).status).toBe(200);
  });

  it('answers an unknown route under /openai/v1 with 404 in OpenAI’s shape', async () => {
    const user = await keyedUser(t);
    const res = await fetch(`${t.url}/openai/v1/embeddings`, { method: 'POST', headers: { authorization: `Bearer ${user.apiKey}`, 'content-type': 'application/json' }, body: '{}' });
    expect(res.status).toBe(404);
    expect(((await res.json()) as OpenAiErrorJson).error.type).toBe('invalid_request_error');
  });

  it('answers a browser’s CORS preflight without asking for a key', async () => {
    const res = await fetch(`${t.url}/openai/v1/chat/completions`, {
      method: 'OPTIONS',
      headers: { origin: 'https://chat.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });
    expect(res.status).toBe(204);
  });

  it('keeps the routes out of the /v1 OpenAPI document', async () => {
    const doc = (await (await fetch(`${t.url}/v1/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths).filter((p) => p.startsWith('/openai'))).toEqual([]);
  });
});

describe('the OpenAI-compatible API under the AI rate limit', () => {
  let ai: FakeOpenAI;
  let t: TestApp;
  beforeAll(async () => {
    ai = await startFakeOpenAI();
    t = await startTestApp({ env: { ...ai.env(), DEFAULT_MODEL: 'gpt-test', AI_RATE_LIMIT_PER_MINUTE: '1' } });
  });
  afterAll(async () => {
    await t.close();
    await ai.close();
  });

  it('answers 429 rate_limit_exceeded with retry-after once the limit is spent', async () => {
    const user = await keyedUser(t);
    const first = await post(t, user.apiKey, { model: 'gpt-test', messages: [{ role: 'user', content: 'one' }] });
    expect(first.status).toBe(200);
    const second = await post(t, user.apiKey, { model: 'gpt-test', messages: [{ role: 'user', content: 'two' }] });
    expect(second.status).toBe(429);
    expect(Number(second.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(((await second.json()) as OpenAiErrorJson).error).toMatchObject({ code: 'rate_limit_exceeded' });
    expect(ai.calls.length).toBe(1);
  });
});

import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { parseConfig } from '../../src/config';
import { MANIFEST, type ReplayProvider, startReplayProvider } from '../fakes/replay-provider';
import { CreateApiKeyDocument } from '../generated/graphql';
import { login, rows } from '../helpers/accounts';
import { captureLogs } from '../helpers/log-capture';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { waitFor } from '../helpers/wait';

/*
 * The OpenAI-compatible API over recorded real provider traffic (test/fixtures/streams):
 * reasoning, finish reasons, and provider failures as an OpenAI client sees them.
 */

const fixture = (file: string) => MANIFEST.streams.find((s) => s.file === file)!;

describe('the OpenAI-compatible API over recorded providers', () => {
  let t: TestApp;
  let replay: ReplayProvider;
  let apiKey: string;
  let userId: string;
  const logs = captureLogs(parseConfig({ NODE_ENV: 'test' }), 'info');
  const outcomes = () =>
    logs.lines
      .map((l) => JSON.parse(l) as { openai?: { outcome: string } })
      .filter((l) => l.openai)
      .map((l) => l.openai!.outcome);
  beforeAll(async () => {
    replay = await startReplayProvider();
    const file = join(tmpdir(), `models-${process.pid}-openai-providers.json`);
    writeFileSync(file, JSON.stringify([{ id: 'replay', name: 'Replay', provider: 'replay', baseURL: replay.baseURL, apiKeyEnv: 'REPLAY_KEY', default: true }]));
    t = await startTestApp({
      env: { AI_MODELS: file, REPLAY_KEY: replay.apiKey },
      overrides: { logger: logs.logger },
      timings: (timings) => {
        timings.replies.firstTokenTimeoutMs = 400;
        timings.replies.retryBaseDelayMs = 1;
      },
    });
    const user = await login(t);
    userId = user.userId;
    apiKey = dataOfKey(await t.gql(CreateApiKeyDocument, { name: 'sdk' }, user));
  });
  afterAll(async () => {
    await t.close();
    await replay.close();
  });

  const dataOfKey = (res: { body: { data?: { createApiKey: { secret: string } } | null } }) => res.body.data!.createApiKey.secret;
  const client = () => new OpenAI({ baseURL: `${t.url}/openai/v1`, apiKey, maxRetries: 0 });
  const ask = { model: 'replay', messages: [{ role: 'user' as const, content: 'How many r in strawberry?' }] };

  it('answers a reasoning model with reasoning_content and the reasoning tokens', async () => {
    const f = fixture('deepseek-reasoner.sse');
    replay.next.push({ stream: f.file });
    const res = await client().chat.completions.create(ask);
    expect(res.choices[0].message).toMatchObject({ role: 'assistant', content: f.expected.content, reasoning_content: f.expected.reasoning });
    expect(res.choices[0].finish_reason).toBe('stop');
    expect(res.usage).toMatchObject({ prompt_tokens: f.expected.usage!.promptTokens, completion_tokens: f.expected.usage!.completionTokens, completion_tokens_details: { reasoning_tokens: f.expected.usage!.reasoningTokens } });
  });

  it('streams reasoning as delta.reasoning_content, as DeepSeek does, before the content', async () => {
    const f = fixture('deepseek-reasoner.sse');
    replay.next.push({ stream: f.file });
    const chunks = [];
    for await (const c of await client().chat.completions.create({ ...ask, stream: true, stream_options: { include_usage: true } })) chunks.push(c);
    const deltas = chunks.filter((c) => c.choices.length).map((c) => c.choices[0].delta as { content?: string | null; reasoning_content?: string });
    expect(deltas.map((d) => d.reasoning_content ?? '').join('')).toBe(f.expected.reasoning);
    expect(deltas.map((d) => d.content ?? '').join('')).toBe(f.expected.content);
    const firstContent = deltas.findIndex((d) => d.content);
    expect(deltas.slice(firstContent).some((d) => d.reasoning_content)).toBe(false);
    expect(chunks.at(-1)!.usage!.completion_tokens_details).toEqual({ reasoning_tokens: f.expected.usage!.reasoningTokens });
  });

  it.each([
    ['openai-length.sse', 'length'],
    ['openai-content-filter.sse', 'content_filter'],
  ])('maps how %s ended to finish_reason %s', async (file, finish) => {
    replay.next.push({ stream: file });
    const res = await client().chat.completions.create(ask);
    expect(res.choices[0].finish_reason).toBe(finish);
  });

  it('answers a provider that fails before replying with a 5xx in OpenAI’s shape', async () => {
    replay.next.push({ error: 'generic-503.error.json' }, { error: 'generic-503.error.json' }, { error: 'generic-503.error.json' });
    const res = await fetch(`${t.url}/openai/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify(ask) });
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ error: { message: expect.any(String), type: 'server_error', code: 'provider_unavailable', param: null } });
  });

  it('ends a stream the provider breaks with an error event that the SDK throws', async () => {
    replay.next.push({ stream: 'midstream-error.sse' });
    const seen: string[] = [];
    const consume = async () => {
      for await (const c of await client().chat.completions.create({ ...ask, stream: true })) seen.push(c.choices[0]?.delta.content ?? '');
    };
    await expect(consume()).rejects.toBeInstanceOf(OpenAI.APIError);
    expect(seen[0]).toBe('');
  });

  it('stops the reply when a streaming client goes away', async () => {
    let release = () => undefined as void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    replay.next.push({ stream: 'qwen-text.sse', delayMs: 200, gate });
    const abort = new AbortController();
    const res = await fetch(`${t.url}/openai/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ...ask, stream: true }),
      signal: abort.signal,
    });
    const reader = res.body!.getReader();
    // The role chunk is sent before the provider answers.
    expect(new TextDecoder().decode((await reader.read()).value)).toContain('"role":"assistant"');
    abort.abort();
    release();
    // The call's log line says how the reply ended: stopped, not run to the end.
    await waitFor(() => outcomes().includes('STOPPED'), 5000, 'the reply being stopped');
    expect(Number((await rows(t, 'select count(*) as n from messages where user_id = ?', [userId]))[0].n)).toBe(0);
  });
});

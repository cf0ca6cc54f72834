import OpenAI, { APIError } from 'openai';
import { waitFor } from '../helpers/wait';
import { startFakeOpenAI, usageFor, type FakeOpenAI } from './openai';

/** The APIError a call fails with (the test fails when it succeeds or fails otherwise). */
async function apiError(call: Promise<unknown>): Promise<APIError> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(APIError);
  return err as APIError;
}

describe('fake OpenAI server', () => {
  let fake: FakeOpenAI;
  let client: OpenAI;

  beforeEach(async () => {
    fake = await startFakeOpenAI();
    client = new OpenAI({ apiKey: 'sk-fake', baseURL: fake.baseURL, maxRetries: 0 });
  });
  afterEach(() => fake.close());

  const messages = [
    { role: 'system' as const, content: 'Be brief.' },
    { role: 'user' as const, content: '你好 there' },
  ];

  it('answers a non-streaming completion with the echo reply and usage', async () => {
    const res = await client.chat.completions.create({ model: 'gpt-test', messages });
    expect(res.object).toBe('chat.completion');
    expect(res.model).toBe('gpt-test');
    expect(res.choices[0].message.content).toBe('Echo: 你好 there');
    expect(res.choices[0].finish_reason).toBe('stop');
    // 9 + 8 prompt characters, 14 reply characters.
    expect(res.usage).toEqual({ prompt_tokens: 17, completion_tokens: 14, total_tokens: 31 });
    expect(fake.calls[0].usage).toEqual(res.usage);
    expect(usageFor(fake.calls[0].body, 'Echo: 你好 there')).toEqual(res.usage);
    expect(fake.calls[0].headers.authorization).toBe('Bearer sk-fake');
  });

  it('streams deltas that add up to the reply, with a usage chunk only when asked', async () => {
    fake.nextReplies.push('Hello streaming world');
    const stream = await client.chat.completions.create({ model: 'm', messages, stream: true, stream_options: { include_usage: true } });
    let text = '';
    let deltas = 0;
    let usage: OpenAI.CompletionUsage | null = null;
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta.content) {
        text += chunk.choices[0].delta.content;
        deltas++;
      }
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe('Hello streaming world');
    expect(deltas).toBe(6); // 21 characters in pieces of 4
    expect(usage).toEqual({ prompt_tokens: 17, completion_tokens: 21, total_tokens: 38 });

    fake.chunkSize = 100;
    const plain = await client.chat.completions.create({ model: 'm', messages, stream: true });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of plain) chunks.push(chunk);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('Echo: 你好 there');
    expect(chunks.some((c) => c.usage)).toBe(false);
    expect(chunks.at(-1)!.choices[0].finish_reason).toBe('stop');
  });

  it('delivers each chunk as it is written in slow mode', async () => {
    fake.mode = 'slow';
    fake.nextReplies.push('abcdefghijkl'); // 3 chunks, 50 ms apart
    const stream = await client.chat.completions.create({ model: 'm', messages, stream: true });
    const times: number[] = [];
    for await (const chunk of stream) if (chunk.choices[0]?.delta.content) times.push(Date.now());
    expect(times).toHaveLength(3);
    expect(times[2] - times[0]).toBeGreaterThanOrEqual(80);
  });

  it('uses the reply script', async () => {
    fake.reply = (body) => `model=${body.model}`;
    const res = await client.chat.completions.create({ model: 'x', messages });
    expect(res.choices[0].message.content).toBe('model=x');
  });

  it('rejects a wrong API key with 401', async () => {
    const bad = new OpenAI({ apiKey: 'sk-wrong', baseURL: fake.baseURL, maxRetries: 0 });
    const err = await apiError(bad.chat.completions.create({ model: 'm', messages }));
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect(err.status).toBe(401);
    expect(err.code).toBe('invalid_api_key');
  });

  it('fails with 500 and 429 in those modes', async () => {
    fake.nextModes.push('error500', 'error429');
    const e500 = await apiError(client.chat.completions.create({ model: 'm', messages }));
    expect(e500.status).toBe(500);
    const e429 = await apiError(client.chat.completions.create({ model: 'm', messages, stream: true }));
    expect(e429.status).toBe(429);
    // The queue is used up: back to 'ok'.
    await expect(client.chat.completions.create({ model: 'm', messages })).resolves.toBeTruthy();
  });

  it('makes the stream iteration throw in breakMidStream mode', async () => {
    fake.mode = 'breakMidStream';
    const stream = await client.chat.completions.create({ model: 'm', messages, stream: true });
    const got: string[] = [];
    await expect(
      (async () => {
        for await (const chunk of stream) got.push(chunk.choices[0]?.delta.content ?? '');
      })(),
    ).rejects.toThrow();
    expect(got.join('')).toBe('Echo: 你好');
    await fake.calls[0].closed;
    expect(fake.calls[0].aborted).toBe(false);
  });

  it('marks a call aborted when the client aborts the stream', async () => {
    fake.mode = 'hangAfterFirstChunk';
    const controller = new AbortController();
    const stream = await client.chat.completions.create({ model: 'm', messages, stream: true }, { signal: controller.signal });
    const iterator = stream[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(first.value?.choices[0].delta.content).toBe('Echo');
    controller.abort();
    // The SDK ends an aborted stream quietly instead of throwing.
    await expect(iterator.next()).resolves.toEqual({ done: true, value: undefined });
    await fake.calls[0].closed;
    expect(fake.calls[0].aborted).toBe(true);
  });

  it('hangs until the client times out', async () => {
    fake.mode = 'hang';
    // Under jest the SDK reports its timeout as a plain APIConnectionError: the abort reason is a
    // DOMException from another realm, so it fails the SDK's `instanceof Error` check.
    await expect(client.chat.completions.create({ model: 'm', messages }, { timeout: 200 })).rejects.toThrow(OpenAI.APIConnectionError);
    await fake.calls[0].closed;
    expect(fake.calls[0].aborted).toBe(true);
  });

  it('transcribes an uploaded file and records it', async () => {
    const file = await OpenAI.toFile(Buffer.from('RIFF....WAVE'), 'a.wav', { type: 'audio/wav' });
    const res = await client.audio.transcriptions.create({ file, model: 'whisper-1', language: 'zh' });
    expect(res.text).toBe('你好，世界');
    expect(fake.transcriptions).toEqual([{ model: 'whisper-1', language: 'zh', filename: 'a.wav', contentType: 'audio/wav', bytes: 12 }]);

    fake.nextModes.push('error500');
    const err = await apiError(client.audio.transcriptions.create({ file, model: 'whisper-1' }));
    expect(err.status).toBe(500);
  });

  it('lists models and closes while a call hangs', async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual(['fake-model']);
    fake.mode = 'hang';
    const pending = client.chat.completions.create({ model: 'm', messages }).catch((e) => e);
    await waitFor(() => fake.calls.length > 0, 5000, 'the call reaching the fake');
    await fake.close();
    expect(await pending).toBeInstanceOf(OpenAI.APIConnectionError);
  });
});

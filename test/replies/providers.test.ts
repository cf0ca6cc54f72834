import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config';
import { type ErrorFixture, MANIFEST, type ReplayProvider, type StreamFixture, startReplayProvider } from '../fakes/replay-provider';
import { login } from '../helpers/accounts';
import { connectLegacy } from '../helpers/legacy-ws';
import { captureLogs } from '../helpers/log-capture';
import { dataOf } from '../helpers/replies';
import { startTestApp, subscribe, type TestApp } from '../helpers/test-app';
import { waitFor } from '../helpers/wait';
import { ProviderChatDocument, ProviderModelsDocument, ProviderReplyDocument, ProviderReplyStreamDocument, type ReplyPartsFragment } from '../generated/graphql';

/*
 * Replies from recorded real provider traffic (test/fixtures/streams), through every way a
 * client asks for one: how each ended, what was kept, what was counted, what the client is told.
 */

interface Outcome {
  status: 'COMPLETE' | 'BLOCKED' | 'FAILED';
  finishReason: 'STOP' | 'LENGTH' | 'CONTENT_FILTER' | 'ERROR';
  reason?: string;
}

/** How the contract says a recording must end. */
function outcomeOf(f: StreamFixture): Outcome {
  const finish = f.expected.finishReason;
  if (finish === 'network_error' || (!finish && !f.expected.done)) return { status: 'FAILED', finishReason: 'ERROR', reason: 'PROVIDER_STREAM_INTERRUPTED' };
  if (finish === 'length') return { status: 'COMPLETE', finishReason: 'LENGTH' };
  if (finish === 'content_filter' || finish === 'sensitive') return { status: 'BLOCKED', finishReason: 'CONTENT_FILTER' };
  return { status: 'COMPLETE', finishReason: 'STOP' };
}

/** The message a client is given (and the server keeps) for a recording. */
function expectedMessage(f: StreamFixture): Partial<ReplyPartsFragment> {
  const { status, finishReason } = outcomeOf(f);
  const blocked = status === 'BLOCKED';
  const u = f.expected.usage;
  return {
    role: 'ASSISTANT',
    aiGenerated: true,
    status,
    finishReason,
    content: blocked ? '' : f.expected.content,
    reasoning: blocked || !f.expected.reasoning ? null : f.expected.reasoning,
    ...(u
      ? { usage: { promptTokens: u.promptTokens ?? 0, completionTokens: u.completionTokens ?? 0, totalTokens: u.totalTokens ?? (u.promptTokens ?? 0) + (u.completionTokens ?? 0), reasoningTokens: u.reasoningTokens, estimated: false } }
      : {}),
  };
}

function expectedError(f: ErrorFixture): { reason: string; calls: number } {
  if (/insufficient|quota|余额/i.test(f.message) || f.status === 402) return { reason: 'PROVIDER_QUOTA_EXHAUSTED', calls: 1 };
  if (f.status === 429) return { reason: 'PROVIDER_RATE_LIMITED', calls: 3 };
  if (f.status >= 500) return { reason: 'PROVIDER_UNAVAILABLE', calls: 3 };
  return { reason: 'PROVIDER_REJECTED', calls: 1 };
}

describe('replies from real provider recordings', () => {
  let t: TestApp;
  let replay: ReplayProvider;
  let picky: ReplayProvider;
  let backup: ReplayProvider;
  let token: string;
  const logs = captureLogs(parseConfig({ JWT_SECRET: 'x'.repeat(40) }), 'info');

  beforeAll(async () => {
    [replay, picky, backup] = await Promise.all([startReplayProvider(), startReplayProvider({ rejectStreamOptions: true }), startReplayProvider({ apiKey: 'sk-backup' })]);
    const file = join(tmpdir(), `models-${process.pid}-providers.json`);
    const dead = 'http://127.0.0.1:9/v1'; // nothing listens on the discard port
    writeFileSync(
      file,
      JSON.stringify([
        { id: 'replay', name: 'Replay', provider: 'replay', baseURL: replay.baseURL, apiKeyEnv: 'REPLAY_KEY', default: true, maxTokens: 512, prices: { prompt: 0, completion: 0 } },
        { id: 'picky', name: 'Picky endpoint', provider: 'fireworks', baseURL: picky.baseURL, apiKeyEnv: 'REPLAY_KEY' },
        { id: 'picky-off', name: 'Picky, no stream_options', provider: 'fireworks', baseURL: picky.baseURL, apiKeyEnv: 'REPLAY_KEY', streamOptions: false },
        {
          id: 'failover',
          name: 'Two upstreams',
          provider: 'deepseek',
          extraBody: { enable_thinking: true },
          headers: { 'X-Team': 'chat' },
          temperature: 0.3,
          upstreams: [
            { baseURL: dead, apiKeyEnv: 'REPLAY_KEY', model: 'down-model' },
            { baseURL: replay.baseURL, apiKeyEnv: 'REPLAY_KEY', model: 'first-model' },
            { baseURL: backup.baseURL, apiKeyEnv: 'BACKUP_KEY', model: 'backup-model' },
          ],
        },
      ]),
    );
    t = await startTestApp({
      env: { AI_MODELS: file, REPLAY_KEY: replay.apiKey, BACKUP_KEY: backup.apiKey },
      overrides: { logger: logs.logger },
      timings: (timings) => {
        timings.replies.firstTokenTimeoutMs = 400;
        timings.replies.retryBaseDelayMs = 1;
      },
    });
    ({ token } = await login(t));
  });
  afterAll(async () => {
    await t.close();
    await Promise.all([replay.close(), picky.close(), backup.close()]);
  });

  const send = (content: string, extra: { stream?: boolean; modelId?: string } = {}) => t.gql(ProviderReplyDocument, { input: { content, ...extra } }, { token });
  const storedReply = async (sessionId: string) => {
    const messages = dataOf(await t.gql(ProviderChatDocument, { id: sessionId }, { token })).chat.messages;
    return messages[messages.length - 1];
  };

  describe.each(MANIFEST.streams.map((f) => [f.file, f] as const))('%s', (_file, fixture) => {
    const outcome = outcomeOf(fixture);

    it('sendMessage (waiting): status, finish reason, content, reasoning and usage', async () => {
      replay.next.push({ stream: fixture.file });
      const res = await send(`waiting for ${fixture.file}`);
      if (outcome.status === 'FAILED') {
        expect(res.body.errors?.[0].extensions).toMatchObject({ code: 'UPSTREAM_ERROR', status: 502, details: { reason: outcome.reason } });
        return;
      }
      expect(dataOf(res).sendMessage.reply).toMatchObject(expectedMessage(fixture));
    });

    it('sendMessage (streaming) + replyStream: deltas, reasoning deltas, the done event, and the stored row', async () => {
      // The recording plays once the subscriber follows the reply, so it sees every delta.
      let open!: () => void;
      replay.next.push({ stream: fixture.file, gate: new Promise<void>((resolve) => (open = resolve)) });
      const following = jest.spyOn(t.app.deps.replies.state.topics, 'subscribe');
      const started = dataOf(await send(`streaming ${fixture.file}`, { stream: true })).sendMessage;
      const sub = subscribe(t.ws({ authorization: `Bearer ${token}` }), ProviderReplyStreamDocument, { messageId: started.messageId });
      await waitFor(() => following.mock.calls.some(([topic, id]) => topic === 'reply' && id === started.messageId), 5000, 'the subscriber following the reply');
      following.mockRestore();
      open();
      const done = await sub.until((r) => r.data?.replyStream.done === true);
      const events = sub.results.map((r) => dataOf(r).replyStream);
      sub.dispose();
      const expected = expectedMessage(fixture);
      expect(dataOf(done).replyStream.message).toMatchObject(expected);
      if (fixture.expected.content || fixture.expected.reasoning) expect(events.length).toBeGreaterThan(1);
      if (outcome.status !== 'BLOCKED') {
        expect(events.map((e) => e.delta).join('')).toBe(fixture.expected.content);
        expect(events.map((e) => e.reasoningDelta).join('')).toBe(fixture.expected.reasoning);
      }
      expect(dataOf(done).replyStream.error).toEqual(outcome.reason ? expect.objectContaining({ code: 'UPSTREAM_ERROR', reason: outcome.reason }) : null);
      // FAILED keeps what arrived; BLOCKED keeps nothing.
      expect(await storedReply(started.sessionId)).toMatchObject({ ...expected, ...(outcome.status === 'FAILED' ? { content: fixture.expected.content } : {}) });
    });

    it('POST /v1/ai/message', async () => {
      replay.next.push({ stream: fixture.file });
      const res = await t.rest<{ text: string; reasoning: string | null; status: string; finishReason: string | null }>('POST', '/v1/ai/message', { token, body: { message: `rest ${fixture.file}` } });
      if (outcome.status === 'FAILED') {
        expect(res.status).toBe(502);
        expect(res.body.error?.details?.reason).toBe(outcome.reason);
        return;
      }
      const m = expectedMessage(fixture);
      expect(res.body.data).toMatchObject({ text: m.content, reasoning: m.reasoning, status: outcome.status.toLowerCase(), finishReason: outcome.finishReason.toLowerCase() });
    });

    it('the legacy socket', async () => {
      replay.next.push({ stream: fixture.file });
      const c = await connectLegacy(t.url);
      c.send({ type: 'auth', token });
      await c.waitFor((f) => f.type === 'auth');
      c.send({ type: 'message', data: { content: `legacy ${fixture.file}` } });
      const done = await c.waitFor((f) => f.type === 'message' && f.data.done === true);
      c.socket.close();
      const deltas = c.ofType('message').filter((f) => !f.data.done);
      expect(done.data).toMatchObject({ status: outcome.status, finishReason: outcome.finishReason, content: outcome.status === 'BLOCKED' ? '' : fixture.expected.content });
      if (outcome.status !== 'BLOCKED') expect(deltas.map((f) => f.data.reasoningDelta ?? '').join('')).toBe(fixture.expected.reasoning);
      if (outcome.reason) expect(done.data.error).toMatchObject({ code: 'UPSTREAM_ERROR', reason: outcome.reason });
    });
  });

  describe.each(MANIFEST.errors.map((f) => [f.file, f] as const))('%s', (_file, fixture) => {
    it('fails with the right reason and the provider\'s own words, retried only when it may help, and logged once', async () => {
      const expected = expectedError(fixture);
      const before = replay.calls.length;
      const logged = logs.lines.length;
      replay.next.push(...Array.from({ length: expected.calls }, () => ({ error: fixture.file })));
      const res = await send(`error ${fixture.file}`);
      const error = res.body.errors?.[0];
      expect(error?.extensions).toMatchObject({ code: 'UPSTREAM_ERROR', status: 502, details: { reason: expected.reason } });
      expect(error?.message).toContain(fixture.message.slice(0, 150));
      expect(error?.message).not.toContain(replay.apiKey);
      expect(replay.calls.length - before).toBe(expected.calls);

      const lines = logs.lines.slice(logged).map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'AI reply failed');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ level: 40, model: 'replay', upstream: replay.baseURL, httpStatus: fixture.status, reason: expected.reason, attempts: expected.calls, providerRequestId: `req-replay-${replay.calls.length}` });
      expect(String(lines[0].providerMessage)).toContain(fixture.message.slice(0, 100));
      expect(logs.text()).not.toContain(replay.apiKey);
    });
  });

  it('keeps a long reasoning phase alive past the first-token timeout, and times out a silent provider', async () => {
    // 400 ms to the first sign of life; the recording's keep-alives and reasoning come every 150 ms.
    replay.next.push({ stream: 'deepseek-reasoner.sse', delayMs: 150 });
    const reasoner = MANIFEST.streams.find((f) => f.file === 'deepseek-reasoner.sse')!;
    expect(dataOf(await send('think slowly')).sendMessage.reply).toMatchObject({ status: 'COMPLETE', content: reasoner.expected.content, reasoning: reasoner.expected.reasoning });

    replay.next.push({ hang: true }, { hang: true }, { hang: true });
    const silent = await send('nobody home');
    expect(silent.body.errors?.[0].extensions).toMatchObject({ code: 'UPSTREAM_ERROR', details: { reason: 'PROVIDER_TIMEOUT' } });
  });

  it('sends the catalog options, and never sends reasoning back as history', async () => {
    replay.next.push({ stream: 'deepseek-reasoner.sse' });
    const first = dataOf(await send('first')).sendMessage;
    await t.gql(ProviderReplyDocument, { input: { content: 'second', sessionId: first.sessionId } }, { token });
    const call = replay.calls[replay.calls.length - 1];
    expect(call.body).toMatchObject({ model: 'replay', stream: true, stream_options: { include_usage: true }, max_tokens: 512 });
    const history = call.body.messages as Array<{ role: string; content: string }>;
    expect(history).toEqual([
      { role: 'user', content: 'first' },
      { role: 'assistant', content: first.reply.content },
      { role: 'user', content: 'second' },
    ]);
    expect(JSON.stringify(history)).not.toContain(first.reply.reasoning!.slice(0, 20));
  });

  it('fails over to the next upstream before the first token, sending each its own model name, headers and extra body', async () => {
    const [before, backupBefore] = [replay.calls.length, backup.calls.length];
    replay.next.push({ error: 'deepseek-402.error.json' });
    const reply = dataOf(await send('fail over', { modelId: 'failover' })).sendMessage.reply;
    expect(reply).toMatchObject({ status: 'COMPLETE', model: 'failover' });
    expect(replay.calls.length - before).toBe(1);
    expect(backup.calls.length - backupBefore).toBe(1);
    const call = backup.calls[backup.calls.length - 1];
    expect(call.body).toMatchObject({ model: 'backup-model', enable_thinking: true, temperature: 0.3 });
    expect(call.headers['x-team']).toBe('chat');
    expect(call.headers.authorization).toBe('Bearer sk-backup');
  });

  it('reaches an endpoint that refuses stream_options when the model turns it off', async () => {
    const refused = await send('picky', { modelId: 'picky' });
    expect(refused.body.errors?.[0].extensions).toMatchObject({ code: 'UPSTREAM_ERROR', details: { reason: 'PROVIDER_REJECTED' } });
    expect(refused.body.errors?.[0].message).toContain('stream_options');

    picky.default = { stream: 'deepseek-chat.sse' };
    const ok = dataOf(await send('picky', { modelId: 'picky-off' })).sendMessage.reply;
    expect(ok.status).toBe('COMPLETE');
    expect(picky.calls[picky.calls.length - 1].body).not.toHaveProperty('stream_options');
  });

  it('lists each model with its prices and token limit', async () => {
    const models = dataOf(await t.gql(ProviderModelsDocument)).models;
    expect(models.find((m) => m.id === 'replay')).toEqual({ id: 'replay', maxTokens: 512, prices: { prompt: 0, completion: 0 } });
    expect(models.find((m) => m.id === 'picky')).toEqual({ id: 'picky', maxTokens: null, prices: { prompt: 0, completion: 0 } });
  });
});

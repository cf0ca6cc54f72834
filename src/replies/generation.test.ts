import '../db/entities'; // loads the entities in an order their decorators accept
import { AppError } from '../core/errors';
import { FinishReason, MessageStatus } from '../db/entities/message.entity';
import type { Upstream } from '../models/catalog-config';
import { type CatalogModel, ECHO_MODEL } from '../models/model-catalog';
import { ProviderError } from '../models/provider-errors';
import { type Delta, generate, type GenerationRequest } from './generation';
import { OutputBlockedError, type OutputFilter } from './output-filter';
import type { ChatProvider, ProviderCall, StreamPiece } from './providers/provider';

const upstream = (name: string, weight: number | null = null): Upstream => ({ baseURL: `https://${name}.example/v1`, model: 'm', weight });
const model: CatalogModel = { ...ECHO_MODEL, id: 'm', provider: 'openai', upstreams: [upstream('a')] };
const timings = { timeoutMs: 100_000, firstTokenTimeoutMs: 2_000, retriesBeforeFirstToken: 2, retryBaseDelayMs: 150 };
const failure = (reason: 'PROVIDER_UNAVAILABLE' | 'PROVIDER_QUOTA_EXHAUSTED' | 'PROVIDER_REJECTED' | 'PROVIDER_RATE_LIMITED') => new ProviderError(reason, reason);

type Step = StreamPiece | { waitMs: number } | Error;

/** A provider that plays a script per call (the last one repeats), recording which upstream each call went to. */
function scripted(...attempts: Step[][]): ChatProvider & { calls: string[] } {
  const provider = {
    calls: [] as string[],
    async *stream({ upstream: to, signal }: ProviderCall): AsyncIterable<StreamPiece> {
      const steps = attempts[Math.min(provider.calls.length, attempts.length - 1)];
      provider.calls.push(to?.baseURL ?? 'builtin');
      for (const step of steps) {
        if (step instanceof Error) throw step;
        if ('waitMs' in step) {
          await new Promise<void>((resolve, reject) => {
            const onAbort = () => {
              clearTimeout(timer);
              reject(new ProviderError('aborted', 'ABORTED'));
            };
            const timer = setTimeout(() => {
              signal.removeEventListener('abort', onAbort);
              resolve();
            }, step.waitMs);
            signal.addEventListener('abort', onAbort);
          });
          continue;
        }
        yield step;
      }
    },
  };
  return provider;
}

function run(provider: ChatProvider, extra: Partial<GenerationRequest> = {}) {
  const sent: Delta[] = [];
  const stop = new AbortController();
  const result = generate({ provider, model, turns: [{ role: 'user', content: 'hi' }], stop: stop.signal, timings, onDelta: (d) => sent.push(d), ...extra });
  return { sent, stop, result };
}

describe('generate', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('completes with the text, the provider usage, and deltas that arrived together sent as one', async () => {
    const usage = { promptTokens: 3, completionTokens: 2, totalTokens: 5 };
    const { sent, result } = run(scripted([{ delta: 'Hel' }, { delta: 'lo' }, { waitMs: 10 }, { delta: '!' }, { usage, finish: 'stop' }]));
    await jest.runAllTimersAsync();
    expect(await result).toEqual({ content: 'Hello!', reasoning: '', usage, status: MessageStatus.COMPLETE, finishReason: FinishReason.STOP, upstream: 'https://a.example/v1', attempts: 1 });
    expect(sent).toEqual([{ content: 'Hello', reasoning: '' }, { content: '!', reasoning: '' }]);
  });

  it('keeps a 25 s reasoning phase alive and streams the reasoning apart from the answer', async () => {
    const thinking: Step[] = [];
    for (let i = 0; i < 25; i++) thinking.push({ reasoning: `r${i} ` }, { waitMs: 1_000 });
    const { sent, result } = run(scripted([...thinking, { delta: '答案' }, { finish: 'stop' }]));
    await jest.runAllTimersAsync();
    const out = await result;
    expect(out).toMatchObject({ status: MessageStatus.COMPLETE, content: '答案', finishReason: FinishReason.STOP });
    expect(out.reasoning).toBe(Array.from({ length: 25 }, (_, i) => `r${i} `).join(''));
    expect(sent.map((d) => d.reasoning).join('')).toBe(out.reasoning);
    expect(sent.map((d) => d.content).join('')).toBe('答案');
  });

  it('counts keep-alives as life before the first token', async () => {
    const { result } = run(scripted([{ alive: true }, { waitMs: 1_500 }, { alive: true }, { waitMs: 1_500 }, { delta: 'ok' }, { finish: 'stop' }]));
    await jest.runAllTimersAsync();
    expect(await result).toMatchObject({ status: MessageStatus.COMPLETE, content: 'ok' });
  });

  it.each([
    ['length', MessageStatus.COMPLETE, FinishReason.LENGTH],
    ['content_filter', MessageStatus.BLOCKED, FinishReason.CONTENT_FILTER],
    ['sensitive', MessageStatus.BLOCKED, FinishReason.CONTENT_FILTER],
    ['tool_calls', MessageStatus.COMPLETE, FinishReason.STOP],
  ])('maps finish_reason %s to %s / %s', async (finish, status, finishReason) => {
    const { result } = run(scripted([{ delta: 'text' }, { finish }]));
    await jest.runAllTimersAsync();
    expect(await result).toMatchObject({ status, finishReason, content: 'text' });
  });

  it('fails network_error as an interrupted stream, keeping the text', async () => {
    const { result } = run(scripted([{ delta: 'par' }, { finish: 'network_error' }]));
    await jest.runAllTimersAsync();
    const out = await result;
    expect(out).toMatchObject({ status: MessageStatus.FAILED, finishReason: FinishReason.ERROR, content: 'par', attempts: 1 });
    expect(out.error?.details?.reason).toBe('PROVIDER_STREAM_INTERRUPTED');
  });

  it('fails with PROVIDER_TIMEOUT when nothing comes in time, keeping nothing', async () => {
    const { sent, result } = run(scripted([{ waitMs: 5_000 }, { delta: 'late' }]), { timings: { ...timings, retriesBeforeFirstToken: 0 } });
    await jest.advanceTimersByTimeAsync(2_001);
    const out = await result;
    expect(out).toMatchObject({ status: MessageStatus.FAILED, content: '', finishReason: FinishReason.ERROR });
    expect(out.error?.details?.reason).toBe('PROVIDER_TIMEOUT');
    expect(out.error?.message).toBe('The AI provider sent nothing in time');
    expect(sent).toEqual([]);
  });

  it("uses the model's own timings over the server's", async () => {
    const patient = { ...model, firstTokenTimeoutMs: 60_000 };
    const { result } = run(scripted([{ waitMs: 30_000 }, { delta: 'late' }, { finish: 'stop' }]), { model: patient });
    await jest.runAllTimersAsync();
    expect(await result).toMatchObject({ status: MessageStatus.COMPLETE, content: 'late' });
  });

  it('fails with PROVIDER_TIMEOUT when the whole reply takes too long, keeping what came', async () => {
    const { result } = run(scripted([{ delta: 'a' }, { waitMs: 200_000 }]));
    await jest.advanceTimersByTimeAsync(100_001);
    const out = await result;
    expect(out).toMatchObject({ status: MessageStatus.FAILED, content: 'a' });
    expect(out.error?.message).toBe('The AI reply took too long');
  });

  it('retries a transient failure before the first token, with growing delays, then succeeds', async () => {
    const provider = scripted([failure('PROVIDER_UNAVAILABLE')], [failure('PROVIDER_RATE_LIMITED')], [{ delta: 'ok' }, { finish: 'stop' }]);
    const { result } = run(provider);
    await jest.advanceTimersByTimeAsync(149);
    expect(provider.calls).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(provider.calls).toHaveLength(2);
    await jest.advanceTimersByTimeAsync(300);
    expect(provider.calls).toHaveLength(3);
    expect(await result).toMatchObject({ status: MessageStatus.COMPLETE, content: 'ok', attempts: 3 });
  });

  it('gives up after the allowed retries, and never retries a quota error or a refused request on the same upstream', async () => {
    const failing = scripted([failure('PROVIDER_UNAVAILABLE')]);
    const first = run(failing);
    await jest.runAllTimersAsync();
    expect((await first.result).error?.details?.reason).toBe('PROVIDER_UNAVAILABLE');
    expect(failing.calls).toHaveLength(3);

    for (const reason of ['PROVIDER_QUOTA_EXHAUSTED', 'PROVIDER_REJECTED'] as const) {
      const refused = scripted([failure(reason)]);
      const second = run(refused);
      await jest.runAllTimersAsync();
      expect(await second.result).toMatchObject({ status: MessageStatus.FAILED, attempts: 1 });
      expect(refused.calls).toHaveLength(1);
    }
  });

  it('fails over to the next upstream at once, before the first token', async () => {
    const two = { ...model, upstreams: [upstream('a'), upstream('b')] };
    const provider = scripted([failure('PROVIDER_QUOTA_EXHAUSTED')], [{ delta: 'from b' }, { finish: 'stop' }]);
    const { result } = run(provider, { model: two });
    await jest.advanceTimersByTimeAsync(0);
    expect(await result).toMatchObject({ status: MessageStatus.COMPLETE, content: 'from b', upstream: 'https://b.example/v1', attempts: 2 });
    expect(provider.calls).toEqual(['https://a.example/v1', 'https://b.example/v1']);
  });

  it('fails over on a silent upstream, and rounds skip upstreams that refused', async () => {
    const two = { ...model, upstreams: [upstream('a'), upstream('b')] };
    const provider = scripted([{ waitMs: 10_000 }], [failure('PROVIDER_UNAVAILABLE')], [failure('PROVIDER_QUOTA_EXHAUSTED')], [failure('PROVIDER_UNAVAILABLE')]);
    const { result } = run(provider, { model: two });
    await jest.runAllTimersAsync();
    expect((await result).error?.details?.reason).toBe('PROVIDER_UNAVAILABLE');
    // round 1: a (silent), b; round 2: a (quota), b; round 3: b only.
    expect(provider.calls).toEqual(['https://a.example/v1', 'https://b.example/v1', 'https://a.example/v1', 'https://b.example/v1', 'https://b.example/v1']);
  });

  it('orders weighted upstreams by weight', async () => {
    const weighted = { ...model, upstreams: [upstream('a', 1), upstream('b', 3)] };
    const firsts = [0.1, 0.3, 0.6, 0.9].map(async (r) => {
      const provider = scripted([{ delta: 'x' }, { finish: 'stop' }]);
      const { result } = run(provider, { model: weighted, random: () => r });
      await jest.runAllTimersAsync();
      await result;
      return provider.calls[0];
    });
    expect(await Promise.all(firsts)).toEqual(['https://a.example/v1', 'https://b.example/v1', 'https://b.example/v1', 'https://b.example/v1']);
  });

  it('does not retry once text was sent (a reply with a seam)', async () => {
    const provider = scripted([{ reasoning: 'hm' }, failure('PROVIDER_UNAVAILABLE')]);
    const { result } = run(provider);
    await jest.runAllTimersAsync();
    expect(await result).toMatchObject({ status: MessageStatus.FAILED, reasoning: 'hm', attempts: 1 });
    expect(provider.calls).toHaveLength(1);
  });

  it('ends STOPPED / CANCELLED with what was generated when the user stops it', async () => {
    const { stop, result } = run(scripted([{ delta: 'one ' }, { waitMs: 1_000 }, { delta: 'two' }]));
    await jest.advanceTimersByTimeAsync(100);
    stop.abort();
    await jest.runAllTimersAsync();
    expect(await result).toMatchObject({ content: 'one ', usage: null, status: MessageStatus.STOPPED, finishReason: FinishReason.CANCELLED });
  });

  it('passes text through the output filters in order; a filter that throws ends the reply with its error', async () => {
    const upper = { pass: (d: string) => d.toUpperCase() };
    const holdX = { pass: (d: string) => d.replaceAll('X', '') };
    const filtered = run(scripted([{ delta: 'aXb' }, { delta: 'c' }, { finish: 'stop' }]), { filters: [upper, holdX] });
    await jest.runAllTimersAsync();
    expect(await filtered.result).toMatchObject({ status: MessageStatus.COMPLETE, content: 'ABC' });
    expect(filtered.sent.map((d) => d.content).join('')).toBe('ABC');

    const blocked = new AppError('FORBIDDEN', 'blocked', { reason: 'UNSUPPORTED' });
    const blocking = {
      pass: (d: string, soFar: string) => {
        if (soFar.length > 0) throw blocked;
        return d;
      },
    };
    const ended = run(scripted([{ delta: 'fine ' }, { delta: 'bad' }]), { filters: [blocking] });
    await jest.runAllTimersAsync();
    expect(await ended.result).toMatchObject({ status: MessageStatus.FAILED, content: 'fine ', error: blocked });
  });

  it('lets out what a filter held back when the reply ends, through the filters after it, reasoning first', async () => {
    const holdLast: OutputFilter = {
      pass: (d) => d.slice(0, -1),
      finish: (soFar, part) => (part === 'content' ? 'd' : '.'),
    };
    const upper: OutputFilter = { pass: (d) => d.toUpperCase() };
    const { sent, result } = run(scripted([{ reasoning: 'hmm' }, { delta: 'abc' }, { delta: 'xd' }, { finish: 'stop' }]), { filters: [holdLast, upper] });
    await jest.runAllTimersAsync();
    expect(await result).toMatchObject({ status: MessageStatus.COMPLETE, content: 'ABXD', reasoning: 'HM.' });
    expect(sent.map((d) => d.content).join('')).toBe('ABXD');
  });

  it('ends BLOCKED / CONTENT_FILTER when a filter throws OutputBlockedError, sending nothing of that piece', async () => {
    const blocked = new OutputBlockedError('CONTENT_BLOCKED', 'withheld');
    const filter: OutputFilter = {
      pass: (d) => {
        if (d.includes('bad')) throw blocked;
        return d;
      },
    };
    const { sent, result } = run(scripted([{ delta: 'fine ' }, { waitMs: 10 }, { delta: 'bad' }, { delta: 'more' }]), { filters: [filter] });
    await jest.runAllTimersAsync();
    expect(await result).toMatchObject({ status: MessageStatus.BLOCKED, finishReason: FinishReason.CONTENT_FILTER, content: 'fine ', error: blocked });
    expect(sent.map((d) => d.content)).toEqual(['fine ']);
  });

  it('stops the provider at once when a background check condemns the reply, and drops what was not sent yet', async () => {
    let interrupt!: (e: AppError) => void;
    const watching: OutputFilter = { pass: (d) => d, watch: (i) => (interrupt = i) };
    const provider = scripted([{ delta: 'one ' }, { waitMs: 1_000 }, { delta: 'two' }, { finish: 'stop' }]);
    const { sent, result } = run(provider, { filters: [watching] });
    await jest.advanceTimersByTimeAsync(100);
    const condemned = new OutputBlockedError('MODERATION_UNAVAILABLE', 'unchecked');
    interrupt(condemned);
    await jest.runAllTimersAsync();
    expect(await result).toMatchObject({ status: MessageStatus.BLOCKED, finishReason: FinishReason.CONTENT_FILTER, content: 'one ', error: condemned });
    expect(sent.map((d) => d.content)).toEqual(['one ']);
  });

  it("ends BLOCKED when a filter's last check of the whole text fails", async () => {
    const blocked = new OutputBlockedError('CONTENT_BLOCKED', 'withheld');
    const filter: OutputFilter = { pass: (d) => d, finish: async () => Promise.reject(blocked) };
    const { result } = run(scripted([{ delta: 'text' }, { finish: 'stop' }]), { filters: [filter] });
    await jest.runAllTimersAsync();
    expect(await result).toMatchObject({ status: MessageStatus.BLOCKED, content: 'text', error: blocked });
  });
});

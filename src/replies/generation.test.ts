import '../db/entities'; // loads the entities in an order their decorators accept
import { AppError, UpstreamError } from '../core/errors';
import { MessageStatus } from '../db/entities/message.entity';
import type { CatalogModel } from '../models/model-catalog';
import { generate, type GenerationRequest } from './generation';
import type { ChatProvider, StreamPiece } from './providers/provider';

const model = { id: 'm', provider: 'openai' } as CatalogModel;
const timings = { timeoutMs: 10_000, firstTokenTimeoutMs: 2_000, retriesBeforeFirstToken: 2, retryBaseDelayMs: 150 };

/** A provider that plays a script: text pieces with pauses, or a failure. */
function scripted(...attempts: Array<Array<StreamPiece | { waitMs: number } | Error>>): ChatProvider & { calls: number } {
  const provider = {
    calls: 0,
    async *stream(_m: CatalogModel, _t: unknown, signal: AbortSignal): AsyncIterable<StreamPiece> {
      const steps = attempts[Math.min(provider.calls++, attempts.length - 1)];
      for (const step of steps) {
        if (step instanceof Error) throw step;
        if ('waitMs' in step) {
          await new Promise<void>((resolve, reject) => {
            const timer = setTimeout(resolve, step.waitMs);
            signal.addEventListener('abort', () => {
              clearTimeout(timer);
              reject(new UpstreamError('aborted', { reason: 'ABORTED' }));
            });
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
  const sent: string[] = [];
  const stop = new AbortController();
  const result = generate({ provider, model, turns: [{ role: 'user', content: 'hi' }], stop: stop.signal, timings, onText: (d) => sent.push(d), ...extra });
  return { sent, stop, result };
}

describe('generate', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('completes with the text, the provider usage, and deltas that arrived together sent as one', async () => {
    const usage = { promptTokens: 3, completionTokens: 2, totalTokens: 5 };
    const { sent, result } = run(scripted([{ delta: 'Hel' }, { delta: 'lo' }, { waitMs: 10 }, { delta: '!' }, { usage }]));
    await jest.runAllTimersAsync();
    expect(await result).toEqual({ content: 'Hello!', usage, status: MessageStatus.COMPLETE });
    expect(sent).toEqual(['Hello', '!']);
  });

  it('fails with TIMEOUT when the first text does not come in time, keeping nothing', async () => {
    const { sent, result } = run(scripted([{ waitMs: 5_000 }, { delta: 'late' }]));
    await jest.advanceTimersByTimeAsync(2_001);
    const out = await result;
    expect(out.status).toBe(MessageStatus.FAILED);
    expect(out.error?.details?.reason).toBe('TIMEOUT');
    expect(out.error?.message).toBe('The AI provider sent nothing in time');
    expect(out.content).toBe('');
    expect(sent).toEqual([]);
  });

  it('fails with TIMEOUT when the whole reply takes too long, keeping what came', async () => {
    const { result } = run(scripted([{ delta: 'a' }, { waitMs: 20_000 }]));
    await jest.advanceTimersByTimeAsync(10_001);
    const out = await result;
    expect(out).toMatchObject({ status: MessageStatus.FAILED, content: 'a' });
    expect(out.error?.message).toBe('The AI reply took too long');
  });

  it('retries a retryable failure before the first token, with growing delays, then succeeds', async () => {
    const provider = scripted([new UpstreamError('503', { reason: 'PROVIDER_ERROR' })], [new UpstreamError('503', { reason: 'PROVIDER_ERROR' })], [{ delta: 'ok' }]);
    const { result } = run(provider);
    await jest.advanceTimersByTimeAsync(149);
    expect(provider.calls).toBe(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(provider.calls).toBe(2);
    await jest.advanceTimersByTimeAsync(300);
    expect(provider.calls).toBe(3);
    expect(await result).toMatchObject({ status: MessageStatus.COMPLETE, content: 'ok' });
  });

  it('gives up after the allowed retries, and never retries a refused request', async () => {
    const failing = scripted([new UpstreamError('503', { reason: 'PROVIDER_ERROR' })]);
    const first = run(failing);
    await jest.runAllTimersAsync();
    expect((await first.result).error?.details?.reason).toBe('PROVIDER_ERROR');
    expect(failing.calls).toBe(3);

    const refused = scripted([new UpstreamError('400', { reason: 'BAD_REQUEST_TO_PROVIDER' })]);
    const second = run(refused);
    await jest.runAllTimersAsync();
    expect((await second.result).status).toBe(MessageStatus.FAILED);
    expect(refused.calls).toBe(1);
  });

  it('does not retry once text was sent (a reply with a seam)', async () => {
    const provider = scripted([{ delta: 'par' }, new UpstreamError('reset', { reason: 'PROVIDER_UNREACHABLE' })]);
    const { result } = run(provider);
    await jest.runAllTimersAsync();
    expect(await result).toMatchObject({ status: MessageStatus.FAILED, content: 'par' });
    expect(provider.calls).toBe(1);
  });

  it('ends STOPPED with what was generated when the user stops it', async () => {
    const { stop, result } = run(scripted([{ delta: 'one ' }, { waitMs: 1_000 }, { delta: 'two' }]));
    await jest.advanceTimersByTimeAsync(100);
    stop.abort();
    await jest.runAllTimersAsync();
    expect(await result).toEqual({ content: 'one ', usage: null, status: MessageStatus.STOPPED });
  });

  it('passes text through the output filters in order; a filter that throws ends the reply with its error', async () => {
    const upper = { pass: (d: string) => d.toUpperCase() };
    const holdX = { pass: (d: string) => d.replaceAll('X', '') };
    const filtered = run(scripted([{ delta: 'aXb' }, { delta: 'c' }]), { filters: [upper, holdX] });
    await jest.runAllTimersAsync();
    expect(await filtered.result).toMatchObject({ status: MessageStatus.COMPLETE, content: 'ABC' });
    expect(filtered.sent.join('')).toBe('ABC');

    const blocked = new AppError('FORBIDDEN', 'blocked', { reason: 'UNSUPPORTED' });
    const blocking = { pass: (d: string, soFar: string) => { if (soFar.length > 0) throw blocked; return d; } };
    const ended = run(scripted([{ delta: 'fine ' }, { delta: 'bad' }]), { filters: [blocking] });
    await jest.runAllTimersAsync();
    expect(await ended.result).toMatchObject({ status: MessageStatus.FAILED, content: 'fine ', error: blocked });
  });
});

import { AppError } from '../core/errors';
import { FinishReason, MessageStatus } from '../db/entities/message.entity';
import type { Upstream } from '../models/catalog-config';
import type { CatalogModel } from '../models/model-catalog';
import { isTransient, ProviderError, upstreamOf } from '../models/provider-errors';
import { FilterChain, OutputBlockedError, type OutputFilter, type TextPart } from './output-filter';
import type { ChatProvider, ChatTurn, Usage } from './providers/provider';
import { upstreamOrder } from './upstreams';
import { type SpanHandle, withSpan } from '../core/trace';

export interface GenerationTimings {
  /** The whole reply. */
  timeoutMs: number;
  /** The first sign of life (text, reasoning, a keep-alive); shorter than the whole reply. */
  firstTokenTimeoutMs: number;
  /** Rounds over the upstreams again this often when they fail before any text (never after: a reply with a seam). */
  retriesBeforeFirstToken: number;
  /** The first retry round waits this long, each next one twice as long. */
  retryBaseDelayMs: number;
}

/** Text on its way to the user: answer and reasoning, either may be ''. */
export interface Delta {
  content: string;
  reasoning: string;
}

export interface GenerationRequest {
  provider: ChatProvider;
  model: CatalogModel;
  turns: ChatTurn[];
  /** Aborted when the user stops the reply. */
  stop: AbortSignal;
  timings: GenerationTimings;
  filters?: readonly OutputFilter[];
  /**
   * Text on its way to the user. Deltas that arrive together (one network read holds several
   * chunks) come as one call: fewer frames and writes exactly when the server is busiest.
   */
  onDelta(delta: Delta): void;
  /** For the order of weighted upstreams; tests pass a fixed one. */
  random?: () => number;
}

export interface Generated {
  content: string;
  reasoning: string;
  /** The provider's count, when it reported one. */
  usage: Usage | null;
  status: MessageStatus.COMPLETE | MessageStatus.STOPPED | MessageStatus.FAILED | MessageStatus.BLOCKED;
  finishReason: FinishReason;
  error?: AppError;
  /** The upstream that answered (or failed last); undefined for the built-in model. */
  upstream?: string;
  /** Calls made to providers, retries and failovers included. */
  attempts: number;
}

/** Provider finish reasons that are not a plain stop. */
const FINISH: Record<string, { status: Generated['status']; finishReason: FinishReason }> = {
  length: { status: MessageStatus.COMPLETE, finishReason: FinishReason.LENGTH },
  max_tokens: { status: MessageStatus.COMPLETE, finishReason: FinishReason.LENGTH },
  content_filter: { status: MessageStatus.BLOCKED, finishReason: FinishReason.CONTENT_FILTER },
  sensitive: { status: MessageStatus.BLOCKED, finishReason: FinishReason.CONTENT_FILTER },
};
const STOPPED = { status: MessageStatus.STOPPED, finishReason: FinishReason.CANCELLED } as const;
const BLOCKED = { status: MessageStatus.BLOCKED, finishReason: FinishReason.CONTENT_FILTER } as const;
/** Reasoning first: it comes before the answer, and so does what a filter held back of it. */
const PARTS: readonly TextPart[] = ['reasoning', 'content'];

/**
 * Runs one reply against its provider: the timeouts, the retries and failover between
 * upstreams before the first token, the output filters and the joining of deltas. Touches no
 * database and no pub/sub: what it produces goes to `onDelta` and the result.
 */
export function generate(req: GenerationRequest): Promise<Generated> {
  // One span per reply: its provider calls (HTTP spans) nest under it; no text goes in.
  return withSpan('reply.generate', { 'ai.model': req.model.id }, async (span) => {
    const result = await run(req, span);
    span.set({ 'reply.status': result.status, 'reply.finish_reason': result.finishReason, 'ai.upstream': result.upstream, 'reply.attempts': result.attempts, 'reply.error_reason': result.error?.details?.reason });
    return result;
  });
}

async function run(req: GenerationRequest, span: SpanHandle): Promise<Generated> {
  const { model } = req;
  const timeoutMs = model.timeoutMs ?? req.timings.timeoutMs;
  const firstTokenTimeoutMs = Math.min(model.firstTokenTimeoutMs ?? req.timings.firstTokenTimeoutMs, timeoutMs);
  const overall = new AbortController();
  const onStop = () => overall.abort();
  if (req.stop.aborted) onStop();
  req.stop.addEventListener('abort', onStop);
  let tooLong = false;
  const overallTimer = setTimeout(() => {
    tooLong = true;
    overall.abort();
  }, timeoutMs);

  const filters = new FilterChain(req.filters ?? []);
  /** Set when a filter's background check condemns the reply: generation stops and ends as it says. */
  let condemned: AppError | undefined;
  filters.watch((error) => {
    condemned ??= error;
    overall.abort();
  });

  let content = '';
  let reasoning = '';
  let usage: Usage | null = null;
  /** Text reached the filters (and maybe the user): another try would give a reply with a seam. */
  let delivered = false;
  let attempts = 0;
  let upstream: Upstream | undefined;
  let unsent: Delta = { content: '', reasoning: '' };
  let flushQueued = false;
  const flush = () => {
    flushQueued = false;
    if (!unsent.content && !unsent.reasoning) return;
    const delta = unsent;
    unsent = { content: '', reasoning: '' };
    req.onDelta(delta);
  };
  const send = (part: keyof Delta, text: string) => {
    if (!text) return;
    unsent[part] += text;
    if (!flushQueued) {
      flushQueued = true;
      setImmediate(flush);
    }
  };
  /** Lets out what the filters held back once their checks of the whole text pass; else the error that condemns the reply. */
  const finishFilters = async (): Promise<AppError | undefined> => {
    try {
      for (const part of PARTS) {
        const tail = await filters.finish(part === 'content' ? content : reasoning, part);
        if (part === 'content') content += tail;
        else reasoning += tail;
        send(part, tail);
      }
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      return err;
    }
    return condemned;
  };
  const end = async (how: { status: Generated['status']; finishReason: FinishReason }, error?: AppError): Promise<Generated> => {
    // Text that is kept (complete, stopped, failed) passes the filters' last checks first.
    const problem = how.status === MessageStatus.BLOCKED ? undefined : (condemned ?? (await finishFilters()));
    if (problem instanceof OutputBlockedError) return end(BLOCKED, problem);
    if (problem && !error) [how, error] = [{ status: MessageStatus.FAILED, finishReason: FinishReason.ERROR }, problem];
    // What a filter condemned goes nowhere, not even the words queued before it spoke: they may be the reason.
    if (error instanceof OutputBlockedError) unsent = { content: '', reasoning: '' };
    flush();
    return { content, reasoning, usage, ...how, ...(error ? { error } : {}), ...(upstream ? { upstream: upstreamOf(upstream.baseURL) } : {}), attempts };
  };
  const failed = (error: AppError) => end({ status: MessageStatus.FAILED, finishReason: FinishReason.ERROR }, error);

  const order: Array<Upstream | undefined> = model.upstreams.length ? upstreamOrder(model.upstreams, req.random ?? Math.random) : [undefined];
  /** Upstreams that refused for a reason another try will not change (quota, a rejected request). */
  const refused = new Set<Upstream | undefined>();
  try {
    for (let round = 0; round <= req.timings.retriesBeforeFirstToken; round++) {
      if (round > 0 && !(await pause(req.timings.retryBaseDelayMs * 2 ** (round - 1), overall.signal))) break;
      for (const candidate of order) {
        if (refused.has(candidate)) continue;
        upstream = candidate;
        const where = candidate && upstreamOf(candidate.baseURL);
        attempts++;
        span.event('provider.attempt', { 'ai.upstream': where, attempt: attempts });
        const attempt = new AbortController();
        const cancel = () => attempt.abort();
        overall.signal.addEventListener('abort', cancel);
        if (overall.signal.aborted) cancel();
        let alive = false;
        let silent = false;
        const firstTimer = setTimeout(() => {
          if (alive) return;
          silent = true;
          attempt.abort();
        }, firstTokenTimeoutMs);
        let finish: string | undefined;
        try {
          for await (const piece of req.provider.stream({ model, upstream: candidate, turns: req.turns, signal: attempt.signal })) {
            if (!alive) span.event('first_token', { 'ai.upstream': where });
            alive = true;
            // Pieces already read from the network still arrive after an abort: none gets through.
            if (condemned) throw condemned;
            if (piece.reasoning) {
              delivered = true;
              const passed = filters.pass(piece.reasoning, reasoning, 'reasoning');
              reasoning += passed;
              send('reasoning', passed);
            }
            if (piece.delta) {
              delivered = true;
              const passed = filters.pass(piece.delta, content, 'content');
              content += passed;
              send('content', passed);
            }
            if (piece.usage) usage = piece.usage;
            if (piece.finish) finish = piece.finish;
            if (finish === 'network_error') throw new ProviderError('The AI provider reported a failure mid-reply (network_error)', 'PROVIDER_STREAM_INTERRUPTED', { upstream: where });
          }
          return await end((finish && FINISH[finish]) || { status: MessageStatus.COMPLETE, finishReason: FinishReason.STOP });
        } catch (err) {
          const blockedBy = condemned ?? (err instanceof OutputBlockedError ? err : undefined);
          if (blockedBy) return await end(BLOCKED, blockedBy);
          if (req.stop.aborted) return await end(STOPPED);
          if (tooLong) return await failed(new ProviderError('The AI reply took too long', 'PROVIDER_TIMEOUT', { upstream: where }));
          const error = silent
            ? new ProviderError('The AI provider sent nothing in time', 'PROVIDER_TIMEOUT', { upstream: where })
            : err instanceof AppError
              ? err
              : new ProviderError('The AI reply failed', 'PROVIDER_UNAVAILABLE', { upstream: where });
          // Once text reached the user, another try would give them a reply with a seam.
          if (delivered || !(error instanceof ProviderError)) return await failed(error);
          if (!isTransient(error.details?.reason)) refused.add(candidate);
          if (isLastTry(order, refused, candidate, round, req.timings.retriesBeforeFirstToken)) return await failed(error);
        } finally {
          clearTimeout(firstTimer);
          overall.signal.removeEventListener('abort', cancel);
        }
      }
    }
    return await (req.stop.aborted ? end(STOPPED) : failed(new ProviderError('The AI reply took too long', 'PROVIDER_TIMEOUT')));
  } finally {
    clearTimeout(overallTimer);
    req.stop.removeEventListener('abort', onStop);
    filters.close();
  }
}

/** No upstream is left to try after this one, in this round or a later one. */
function isLastTry(order: Array<Upstream | undefined>, refused: Set<Upstream | undefined>, current: Upstream | undefined, round: number, rounds: number): boolean {
  const later = order.slice(order.indexOf(current) + 1).some((u) => !refused.has(u));
  return !later && (round >= rounds || order.every((u) => refused.has(u)));
}

/** Waits `ms` unless `signal` aborts first; true when the wait ran out. */
function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

import { AppError, UpstreamError } from '../core/errors';
import { MessageStatus } from '../db/entities/message.entity';
import type { CatalogModel } from '../models/model-catalog';
import type { OutputFilter } from './output-filter';
import { type ChatProvider, type ChatTurn, isRetryable, type Usage } from './providers/provider';

export interface GenerationTimings {
  /** The whole reply. */
  timeoutMs: number;
  /** The first text; shorter than the whole reply. */
  firstTokenTimeoutMs: number;
  /** Tries again this often when the provider fails before any text (never after: a reply with a seam). */
  retriesBeforeFirstToken: number;
  /** The first retry waits this long, each next one twice as long. */
  retryBaseDelayMs: number;
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
  onText(delta: string): void;
}

export interface Generated {
  content: string;
  /** The provider's count, when it reported one. */
  usage: Usage | null;
  status: MessageStatus.COMPLETE | MessageStatus.STOPPED | MessageStatus.FAILED;
  error?: AppError;
}

/**
 * Runs one reply against its provider: the timeouts, the retries before the first token,
 * the output filters and the joining of deltas. Touches no database and no pub/sub: what it
 * produces goes to `onText` and the result.
 */
export async function generate(req: GenerationRequest): Promise<Generated> {
  const { timings } = req;
  const abort = new AbortController();
  let timedOut: string | undefined;
  const onStop = () => abort.abort(new Error('stopped'));
  if (req.stop.aborted) onStop();
  req.stop.addEventListener('abort', onStop);

  let content = '';
  let usage: Usage | null = null;
  let firstToken = false;
  let unsent = '';
  let flushQueued = false;
  const flush = () => {
    flushQueued = false;
    if (!unsent) return;
    const delta = unsent;
    unsent = '';
    req.onText(delta);
  };
  const end = (status: Generated['status'], error?: AppError): Generated => {
    flush();
    return { content, usage, status, ...(error ? { error } : {}) };
  };

  const overall = setTimeout(() => {
    timedOut = 'The AI reply took too long';
    abort.abort(new Error('timeout'));
  }, timings.timeoutMs);
  const first = setTimeout(() => {
    if (firstToken) return;
    timedOut = 'The AI provider sent nothing in time';
    abort.abort(new Error('first token timeout'));
  }, timings.firstTokenTimeoutMs);
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        for await (const piece of req.provider.stream(req.model, req.turns, abort.signal)) {
          if (piece.delta) {
            firstToken = true;
            const passed = applyFilters(req.filters, piece.delta, content);
            content += passed;
            unsent += passed;
            if (passed && !flushQueued) {
              flushQueued = true;
              setImmediate(flush);
            }
          }
          if (piece.usage) usage = piece.usage;
        }
        return end(MessageStatus.COMPLETE);
      } catch (err) {
        if (req.stop.aborted) return end(MessageStatus.STOPPED);
        if (timedOut) return end(MessageStatus.FAILED, new UpstreamError(timedOut, { reason: 'TIMEOUT' }));
        if (!firstToken && attempt < timings.retriesBeforeFirstToken && isRetryable(err)) {
          await new Promise((resolve) => setTimeout(resolve, timings.retryBaseDelayMs * 2 ** attempt));
          if (!abort.signal.aborted) continue;
          if (req.stop.aborted) return end(MessageStatus.STOPPED);
        }
        return end(MessageStatus.FAILED, err instanceof AppError ? err : new UpstreamError('The AI reply failed'));
      }
    }
  } finally {
    clearTimeout(overall);
    clearTimeout(first);
    req.stop.removeEventListener('abort', onStop);
  }
}

function applyFilters(filters: readonly OutputFilter[] | undefined, delta: string, soFar: string): string {
  let text = delta;
  for (const f of filters ?? []) {
    if (!text) break;
    text = f.pass(text, soFar);
  }
  return text;
}

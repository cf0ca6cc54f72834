import { ERROR_REASONS, UpstreamError } from '../core/errors';
import type { Logger } from '../core/logger';
import { sleep } from '../core/sleep';
import { FinishReason, MessageStatus, type Message } from '../db/entities/message.entity';
import { ProviderError } from '../models/provider-errors';
import { follow, type FollowTimings } from './following';
import { type Delta, generate, type Generated, type GenerationTimings } from './generation';
import { OutputBlockedError, type OutputFilter, type OutputFilterFactory } from './output-filter';
import type { ChatProvider } from './providers/provider';
import type { RecordedReply, ReplyRecorder } from './recording';
import { replyMessage, type ReplyEvent, type ReplyMeta } from './reply-event';
import type { ReplyState } from './state/reply-state';
import type { Metrics } from '../metrics/metrics';

export interface ReplyTimings extends GenerationTimings, FollowTimings {
  /** At shutdown, how long stopped replies get to store themselves. */
  stopGraceMs: number;
}

export interface ReplyRunnerOptions {
  state: ReplyState;
  recorder: ReplyRecorder;
  providers: { builtin: ChatProvider; openai: ChatProvider };
  timings: ReplyTimings;
  logger: Logger;
  /** Checks on the model's output, in order (none by default): each makes one filter per reply. */
  filters?: readonly OutputFilterFactory[];
  /** Time to first token and provider failures, per model and upstream. */
  metrics?: Metrics;
}

interface Run {
  stop(): void;
  finished: Promise<Message>;
}

/**
 * Runs replies on this instance, each detached from the request that started it (a client
 * that goes away does not stop it): generation's text goes to the reply state as numbered
 * events, then the recorder stores the result, then the done event goes out. Also the way
 * to stop, await or follow a reply wherever it runs.
 */
export class ReplyRunner {
  private readonly runs = new Map<string, Run>();
  /** Finished replies whose final write failed: the sweep writes them again. */
  private readonly unwritten = new Map<string, { reply: RecordedReply; outcome: Generated }>();

  constructor(private readonly opts: ReplyRunnerOptions) {}

  get state(): ReplyState {
    return this.opts.state;
  }

  /** Replies generating on this instance now (the metrics' active streams). */
  get runningCount(): number {
    return this.runs.size;
  }

  /** Starts a reply whose slot was reserved; its rows (when stored) were opened by the recorder. */
  start(reply: RecordedReply): void {
    const stop = new AbortController();
    const finished = this.run(reply, stop.signal);
    this.runs.set(reply.messageId, { stop: () => stop.abort(), finished });
    void finished.then(() => this.runs.delete(reply.messageId));
  }

  private async run(reply: RecordedReply, stop: AbortSignal): Promise<Message> {
    const meta: ReplyMeta = { messageId: reply.messageId, sessionId: reply.sessionId, ownerId: reply.ownerId };
    const event = (seq: number, delta: Delta): ReplyEvent => ({ messageId: meta.messageId, sessionId: meta.sessionId, seq, delta: delta.content, reasoningDelta: delta.reasoning, done: false });
    this.opts.state.started(meta);
    let seq = 0;
    const startedAt = Date.now();
    let firstTokenMs: number | undefined;
    let outcome: Generated;
    const audience = { messageId: reply.messageId, ownerId: reply.ownerId, author: reply.author };
    const filters = (this.opts.filters ?? []).map((f) => f.forReply(audience)).filter((f): f is OutputFilter => f !== null);
    try {
      outcome = await generate({
        provider: reply.model.upstreams.length ? this.opts.providers.openai : this.opts.providers.builtin,
        model: reply.model,
        turns: reply.turns,
        stop,
        timings: this.opts.timings,
        filters,
        onDelta: (delta) => {
          firstTokenMs ??= Date.now() - startedAt;
          this.opts.state.append(meta, event(++seq, delta));
        },
      });
    } catch (err) {
      this.opts.logger.error({ err, messageId: reply.messageId }, 'reply generation crashed');
      outcome = { content: '', reasoning: '', usage: null, status: MessageStatus.FAILED, finishReason: FinishReason.ERROR, error: new UpstreamError('The AI reply failed', { reason: 'REPLY_FAILED' }), attempts: 0 };
    }
    // A blocked reply is not a failure; moderation logs its own hits.
    if (outcome.error && outcome.status !== MessageStatus.BLOCKED) logFailure(this.opts.logger, reply, outcome);
    const upstream = outcome.upstream ?? null;
    if (firstTokenMs !== undefined) this.opts.metrics?.replyFirstToken(reply.model.id, upstream, firstTokenMs);
    if (outcome.error instanceof ProviderError) this.opts.metrics?.providerError(reply.model.id, outcome.error.info.upstream ?? upstream, outcome.error.details?.reason ?? 'UNKNOWN');
    let message: Message;
    try {
      const closed = await this.opts.recorder.close(reply, outcome);
      message = closed.message;
      if (!closed.stored) this.unwritten.set(reply.messageId, { reply, outcome });
    } catch (err) {
      // The client still gets its reply and its done event.
      this.opts.logger.error({ err, messageId: reply.messageId }, 'recording a finished reply failed');
      const withheld = outcome.status === MessageStatus.BLOCKED ? { content: '', reasoning: '' } : {};
      message = replyMessage({ id: reply.messageId, sessionId: reply.persist ? reply.sessionId : null, ...outcome, ...withheld, model: reply.model.id, createdAt: reply.createdAt });
    }
    const e = outcome.error;
    const error = e ? { error: { code: e instanceof OutputBlockedError ? e.eventCode : e.code, message: e.message, ...(e.details?.reason ? { reason: e.details.reason } : {}) } } : {};
    this.opts.state.append(meta, { ...event(seq + 1, { content: '', reasoning: '' }), done: true, message, ...error });
    return message;
  }

  /** Whether a reply is generating here or on another live instance, or waits here for its final write. */
  async isRunning(messageId: string): Promise<boolean> {
    return this.runs.has(messageId) || this.unwritten.has(messageId) || (await this.opts.state.isRunning(messageId));
  }

  /**
   * Finishes a stored reply that nothing generates any more (see `isRunning`): FAILED, or
   * STOPPED when its user stopped it, with what its record holds; its followers get the done
   * event and its slot is freed. Null when it was no longer STREAMING.
   */
  async finishInterrupted(messageId: string, status: MessageStatus.FAILED | MessageStatus.STOPPED): Promise<Message | null> {
    const events = await this.opts.state.events(messageId).catch(() => [] as ReplyEvent[]);
    const deltas = events.filter((e) => !e.done);
    const sofar = joined(deltas);
    const message = await this.opts.recorder.finishInterrupted(messageId, sofar, status);
    if (!message) return null;
    const meta: ReplyMeta = { messageId, sessionId: message.chat.id, ownerId: message.userId };
    const error = status === MessageStatus.FAILED ? { error: { code: 'UPSTREAM_ERROR', message: ERROR_REASONS.REPLY_INTERRUPTED, reason: 'REPLY_INTERRUPTED' } } : {};
    this.opts.state.append(meta, { messageId, sessionId: meta.sessionId, seq: (deltas.at(-1)?.seq ?? 0) + 1, delta: '', reasoningDelta: '', done: true, message, ...error });
    await this.opts.state.release(meta.ownerId, messageId).catch(() => undefined);
    this.opts.logger.warn({ messageId, status, generatedChars: sofar.content.length }, 'finished an interrupted reply');
    return message;
  }

  /** Writes again the finished replies whose final write failed; each stays queued until it lands. */
  async retryUnwritten(): Promise<void> {
    for (const [messageId, { reply, outcome }] of this.unwritten) {
      await this.opts.recorder.store(reply, outcome);
      this.unwritten.delete(messageId);
    }
  }

  /** Stops a reply wherever it runs (the caller checked ownership); a finished one stays as it is. */
  stop(messageId: string): void {
    const run = this.runs.get(messageId);
    if (run) return run.stop();
    this.opts.state.topics.publish('reply-stop', messageId);
  }

  /** Stops this instance's replies that other instances were asked to stop. */
  async listenForStops(signal: AbortSignal): Promise<void> {
    const requests = this.opts.state.topics.subscribe('reply-stop');
    signal.addEventListener('abort', () => void requests.return?.());
    for await (const messageId of requests) this.runs.get(messageId)?.stop();
  }

  /**
   * The done event of a reply running or retained anywhere (waits for it); null when unknown.
   * A reply whose instance dies meanwhile is finished as `orphaned` (STOPPED when the caller
   * was stopping it).
   */
  async done(messageId: string, orphaned: MessageStatus.FAILED | MessageStatus.STOPPED = MessageStatus.FAILED): Promise<ReplyEvent | null> {
    for await (const e of this.follow(messageId, 0, orphaned)) if (e.done) return e;
    return null;
  }

  /** What a reply has generated so far, and its done event once it has one. */
  async progress(messageId: string): Promise<{ content: string; reasoning: string; done?: ReplyEvent }> {
    const events = await this.opts.state.events(messageId);
    const done = events.find((e) => e.done);
    return { ...joined(events.filter((e) => !e.done)), ...(done ? { done } : {}) };
  }

  follow(messageId: string, afterSeq = 0, orphaned: MessageStatus.FAILED | MessageStatus.STOPPED = MessageStatus.FAILED): AsyncGenerator<ReplyEvent> {
    return follow(this.opts.state, messageId, afterSeq, this.opts.timings, () => this.finishInterrupted(messageId, orphaned));
  }

  /**
   * At shutdown: lets running replies finish for up to `graceMs`, then stops the rest (they
   * are stored as STOPPED with what they generated), so none is cut off unrecorded.
   */
  async drain(graceMs: number): Promise<void> {
    const running = [...this.runs.values()];
    if (!running.length) return;
    const allFinished = () => Promise.all(running.map((r) => r.finished));
    await Promise.race([allFinished(), sleep(graceMs)]);
    for (const r of running) r.stop();
    await Promise.race([allFinished(), sleep(this.opts.timings.stopGraceMs)]);
  }
}

/** The text of a reply's deltas: answer and reasoning. */
const joined = (deltas: ReplyEvent[]) => ({ content: deltas.map((e) => e.delta).join(''), reasoning: deltas.map((e) => e.reasoningDelta ?? '').join('') });

/** One line per failed reply, with what an operator needs to follow it up with the provider. */
function logFailure(logger: Logger, reply: RecordedReply, outcome: Generated): void {
  const info = outcome.error instanceof ProviderError ? outcome.error.info : {};
  logger.warn(
    {
      messageId: reply.messageId,
      model: reply.model.id,
      upstream: info.upstream ?? outcome.upstream,
      httpStatus: info.httpStatus,
      providerMessage: info.providerMessage,
      providerRequestId: info.requestId,
      reason: outcome.error?.details?.reason,
      attempts: outcome.attempts,
      generatedChars: outcome.content.length,
    },
    'AI reply failed',
  );
}

import { BadRequestError, describeError, isUpstreamReason, UpstreamError } from '../core/errors';
import type { Logger } from '../core/logger';
import type { Viewer } from '../core/viewer';
import { MessageStatus, type Message } from '../db/entities/message.entity';
import { limitKey, type RateLimits } from '../limits/rate-limits';
import type { ModelCatalog } from '../models/model-catalog';
import type { ReplyEvent } from '../replies/reply-event';
import type { ReplyService } from '../replies/reply.service';
import type { AudioUpload, SpeechService } from '../speech/speech.service';
import { chatCompletion, type ChatCompletionRequest, completionChunk, completionHead, finishReasonOf, modelObject, toSendInput, usageChunk } from './openai-shapes';

export interface OpenAiServiceDeps {
  replies: ReplyService;
  speech: SpeechService;
  rateLimits: RateLimits;
  catalog: ModelCatalog;
  logger: Logger;
}

/** A started streaming completion: its chunks (the reply's failure is thrown after what it sent), and how to stop it. */
export interface CompletionStream {
  chunks: AsyncGenerator<object>;
  /** Stops the reply (the client went away); it is charged for what it generated. */
  stop(): Promise<void>;
}

export type TranscriptionAnswer = { kind: 'json'; body: object } | { kind: 'text'; text: string };

const TRANSCRIPTION_FORMATS = new Set(['json', 'text', 'verbose_json']);

/** What the one log line per call says: never the user's text. */
interface CallRecord {
  endpoint: 'chat.completions' | 'audio.transcriptions';
  userId: string;
  model: string;
  stream?: boolean;
  messageId?: string;
  outcome: string;
  promptTokens?: number;
  completionTokens?: number;
  totalTokens?: number;
  reasoningTokens?: number;
  durationSeconds?: number | null;
}

const outcomeOf = (err: unknown) => {
  const d = describeError(err);
  return d.details?.reason ? `${d.code}/${d.details.reason}` : d.code;
};

const tokens = (m: Message) => ({ promptTokens: m.promptTokens ?? 0, completionTokens: m.completionTokens ?? 0, totalTokens: m.totalTokens ?? 0, reasoningTokens: m.reasoningTokens ?? 0 });

/**
 * The OpenAI-compatible API on top of this server's own pipeline: a completion is an
 * unstored send (moderation, balance, slots, the AI limit, billing as sendMessage has them),
 * followed like any other reply. Every call logs one line: who, which model, tokens, outcome.
 */
export class OpenAiService {
  constructor(private readonly deps: OpenAiServiceDeps) {}

  models() {
    return { object: 'list' as const, data: this.deps.catalog.list().map(modelObject) };
  }

  model(id: string) {
    const found = this.deps.catalog.find(id);
    if (!found) throw new BadRequestError(`The model ${id} does not exist`, { field: 'model', reason: 'UNKNOWN_MODEL' });
    return modelObject(found);
  }

  /** A whole completion (`stream` false). */
  async complete(viewer: Viewer, req: ChatCompletionRequest) {
    const record: CallRecord = { endpoint: 'chat.completions', userId: viewer.userId, model: req.model ?? this.deps.catalog.default.id, stream: false, outcome: 'OK' };
    try {
      const sent = await this.deps.replies.send(viewer, { ...toSendInput(req), stream: false });
      const m = sent.reply;
      Object.assign(record, { messageId: m.id, model: m.model ?? record.model, outcome: m.status, ...tokens(m) });
      return chatCompletion(completionHead(m.id, m.model ?? record.model, m.createdAt), m);
    } catch (err) {
      record.outcome = outcomeOf(err);
      throw err;
    } finally {
      this.log(record);
    }
  }

  /**
   * Starts a streaming completion. Refusals (input, model, balance, limits, moderation) throw
   * here, before anything is streamed, so they get a proper HTTP status.
   */
  async stream(viewer: Viewer, req: ChatCompletionRequest): Promise<CompletionStream> {
    const record: CallRecord = { endpoint: 'chat.completions', userId: viewer.userId, model: req.model ?? this.deps.catalog.default.id, stream: true, outcome: 'OK' };
    let events: AsyncIterable<ReplyEvent>;
    let messageId: string;
    let model: string;
    try {
      const sent = await this.deps.replies.send(viewer, { ...toSendInput(req), stream: true });
      messageId = sent.messageId;
      model = sent.reply.model ?? record.model;
      events = await this.deps.replies.replyEvents(viewer, messageId);
    } catch (err) {
      record.outcome = outcomeOf(err);
      this.log(record);
      throw err;
    }
    Object.assign(record, { messageId, model });
    const head = completionHead(messageId, model, new Date());
    const includeUsage = req.stream_options?.include_usage === true;
    const log = () => this.log(record);
    async function* chunks(): AsyncGenerator<object> {
      try {
        record.outcome = 'ABORTED';
        yield completionChunk(head, { role: 'assistant', content: '' }, null, includeUsage);
        for await (const e of events) {
          if (!e.done) {
            // Separate chunks, reasoning first, as DeepSeek streams them (events join what arrived together).
            if (e.reasoningDelta) yield completionChunk(head, { reasoning_content: e.reasoningDelta }, null, includeUsage);
            if (e.delta) yield completionChunk(head, { content: e.delta }, null, includeUsage);
            continue;
          }
          const m = e.message;
          if (!m || m.status === MessageStatus.FAILED) {
            const reason = e.error?.reason;
            record.outcome = `UPSTREAM_ERROR/${reason ?? 'REPLY_FAILED'}`;
            throw new UpstreamError(e.error?.message ?? 'The AI reply failed', { reason: reason && isUpstreamReason(reason) ? reason : 'REPLY_FAILED' });
          }
          Object.assign(record, { outcome: m.status, ...tokens(m) });
          yield completionChunk(head, {}, finishReasonOf(m.finishReason), includeUsage);
          if (includeUsage) yield usageChunk(head, m);
          return;
        }
      } finally {
        log();
      }
    }
    return { chunks: chunks(), stop: () => this.deps.replies.stop(viewer, messageId).then(() => undefined) };
  }

  /** Speech to text as OpenAI's transcription endpoint answers it; the AI call limit applies as for speechToText. */
  async transcribe(viewer: Viewer, file: AudioUpload | null, fields: Record<string, string>): Promise<TranscriptionAnswer> {
    const record: CallRecord = { endpoint: 'audio.transcriptions', userId: viewer.userId, model: fields.model ?? '', outcome: 'OK' };
    try {
      if (!fields.model) throw new BadRequestError('model is required', { field: 'model', reason: 'REQUIRED' });
      if (!file) throw new BadRequestError('The multipart body has no "file" file', { field: 'file', reason: 'MISSING_FILE' });
      const format = fields.response_format || 'json';
      if (!TRANSCRIPTION_FORMATS.has(format)) throw new BadRequestError('response_format is json, text or verbose_json', { field: 'response_format', reason: 'UNSUPPORTED' });
      await this.deps.rateLimits.consume('ai', limitKey({ userId: viewer.userId }));
      const result = await this.deps.speech.transcribe(file, fields.language, viewer.userId);
      record.durationSeconds = result.durationSeconds;
      if (format === 'text') return { kind: 'text', text: result.text };
      if (format === 'json') return { kind: 'json', body: { text: result.text } };
      return { kind: 'json', body: { task: 'transcribe', language: result.language ?? fields.language ?? null, duration: result.durationSeconds, text: result.text, segments: [] } };
    } catch (err) {
      record.outcome = outcomeOf(err);
      throw err;
    } finally {
      this.log(record);
    }
  }

  private log(record: CallRecord): void {
    this.deps.logger.info({ openai: record }, 'openai-compatible call');
  }
}

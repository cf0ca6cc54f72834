import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import OpenAI from 'openai';
import { AppError, BadRequestError, PayloadTooLargeError, UpstreamError } from '../core/errors';
import { AUDIO_EXTENSION, type AudioFormat, detectAudioFormat, SNIFF_BYTES, wavDurationSeconds } from './audio-format';

/** An uploaded file as graphql-upload (or the REST layer) hands it over. */
export interface AudioUpload {
  filename: string;
  mimetype: string;
  createReadStream(): Readable;
}

export interface Transcription {
  text: string;
  language: string | null;
  durationSeconds: number | null;
}

export interface SpeechOptions {
  model: string;
  baseUrl: string;
  apiKey?: string;
  maxUploadBytes: number;
  timeoutMs: number;
}

const LANGUAGE = /^[a-z]{2,3}(-[A-Za-z]{2,4})?$/;
export const DEFAULT_LANGUAGE = 'zh';

/** Upload errors from graphql-upload and busboy carry an HTTP status. */
function uploadError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const status = (err as { status?: number; statusCode?: number } | null)?.status ?? (err as { statusCode?: number } | null)?.statusCode;
  if (status === 413) return new PayloadTooLargeError('The audio file is over the upload limit', { field: 'audio', reason: 'FILE_TOO_LARGE' });
  return new BadRequestError('The upload could not be read', { field: 'audio', reason: 'UPLOAD_FAILED' });
}

/**
 * Speech to text through an OpenAI-compatible `/audio/transcriptions` endpoint. The upload
 * goes to a temporary file (never whole into memory), its format is read from its bytes, the
 * file is streamed to the provider, and the temporary file is removed whatever happens.
 */
export class SpeechService {
  private readonly client: OpenAI;

  constructor(private readonly opts: SpeechOptions) {
    // No retries: a streamed file cannot be sent twice.
    this.client = new OpenAI({ baseURL: opts.baseUrl, apiKey: opts.apiKey ?? 'not-needed', maxRetries: 0, timeout: opts.timeoutMs });
  }

  /** Errors: BAD_REQUEST (empty, unsupported format, bad language), PAYLOAD_TOO_LARGE, UPSTREAM_ERROR. */
  async transcribe(upload: Promise<AudioUpload> | AudioUpload, language?: string | null): Promise<Transcription> {
    const lang = language ?? DEFAULT_LANGUAGE;
    if (!LANGUAGE.test(lang)) throw new BadRequestError('language must be a code like zh or en-US', { field: 'language', reason: 'INVALID_LANGUAGE' });
    let file: AudioUpload;
    try {
      file = await upload;
    } catch (err) {
      throw uploadError(err);
    }
    const dir = await mkdtemp(join(tmpdir(), 'stt-'));
    try {
      const { path, head, bytes } = await this.receive(file, dir);
      if (bytes === 0) throw new BadRequestError('The audio file is empty', { field: 'audio', reason: 'EMPTY_FILE' });
      const format = detectAudioFormat(head);
      if (!format) throw new BadRequestError('Unsupported audio format: send mp3, wav or m4a', { field: 'audio', reason: 'UNSUPPORTED_AUDIO_FORMAT' });
      const text = await this.send(path, format, lang);
      return { text, language: lang, durationSeconds: format === 'wav' ? (wavDurationSeconds(head) ?? null) : null };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** Writes the upload to `dir`, keeping its first bytes and counting the rest. */
  private async receive(file: AudioUpload, dir: string): Promise<{ path: string; head: Buffer; bytes: number }> {
    const path = join(dir, 'upload');
    let head = Buffer.alloc(0);
    let bytes = 0;
    const max = this.opts.maxUploadBytes;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        bytes += chunk.length;
        if (head.length < SNIFF_BYTES) head = Buffer.concat([head, chunk.subarray(0, SNIFF_BYTES - head.length)]);
        if (bytes > max) return done(new PayloadTooLargeError('The audio file is over the upload limit', { field: 'audio', reason: 'FILE_TOO_LARGE' }));
        done(null, chunk);
      },
    });
    try {
      await pipeline(file.createReadStream(), meter, createWriteStream(path));
    } catch (err) {
      throw uploadError(err);
    }
    return { path, head, bytes };
  }

  private async send(path: string, format: AudioFormat, language: string): Promise<string> {
    // The provider tells formats apart by file name, so the stream is named after what the bytes are.
    const named = `${path}.${AUDIO_EXTENSION[format]}`;
    await rename(path, named);
    try {
      const result = await this.client.audio.transcriptions.create({ file: createReadStream(named), model: this.opts.model, language: language.split('-')[0] });
      return result.text;
    } catch {
      throw new UpstreamError('Speech recognition failed', { reason: 'STT_FAILED' });
    }
  }
}

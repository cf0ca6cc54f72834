import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync } from 'node:fs';
import { mkdtemp, open, readdir, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AppError, BadRequestError, PayloadTooLargeError } from '../core/errors';
import type { Logger } from '../core/logger';
import type { ModerationService } from '../moderation/moderation.service';
import { ProviderError } from '../models/provider-errors';
import { remuxAdtsToM4a } from './aac-remux';
import { ACCEPTED_AUDIO, AUDIO_EXTENSION, type AudioFormat, detectAudioFormat, id3TagLength, SNIFF_BYTES, wavDurationSeconds } from './audio-format';
import type { UsageSink } from '../usage/usage-log';
import type { AudioFile, Transcriber } from './transcriber';

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
  /**
   * A provider, the echo transcriber (no provider, outside production), or undefined (no
   * provider in production): then every call is BAD_REQUEST / SERVICE_NOT_CONFIGURED.
   */
  transcriber: Transcriber | undefined;
  maxUploadBytes: number;
  logger: Logger;
  /** Transcripts go through content security before they are returned. */
  moderation?: ModerationService;
  /** Each transcriber call is recorded as a billable call (usage_records). */
  usage?: UsageSink;
}

const LANGUAGE = /^[a-z]{2,3}(-[A-Za-z]{2,4})?$/;

/** The language asked for, or undefined (omitted, empty or `auto`) to let the provider detect it. */
function languageHint(language: string | null | undefined): string | undefined {
  const hint = language?.trim();
  if (!hint || hint.toLowerCase() === 'auto') return undefined;
  if (!LANGUAGE.test(hint)) throw new BadRequestError('language must be a code like zh or en-US, or auto', { field: 'language', reason: 'INVALID_LANGUAGE' });
  return hint;
}

/** Upload errors from graphql-upload and busboy carry an HTTP status. */
function uploadError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const status = (err as { status?: number; statusCode?: number } | null)?.status ?? (err as { statusCode?: number } | null)?.statusCode;
  if (status === 413) return new PayloadTooLargeError('The audio file is over the upload limit', { field: 'audio', reason: 'FILE_TOO_LARGE' });
  return new BadRequestError('The upload could not be read', { field: 'audio', reason: 'UPLOAD_FAILED' });
}

const seconds = (s: number) => Math.round(s * 1000) / 1000;

/*
 * Temporary files (audio being prepared here, and REST uploads being received) live in a
 * folder per process, `<pid>-<random>`, under a root of the server's own: a crash leaves its
 * folder behind, and the next start removes the folders of processes that are gone without
 * touching those of other instances still running on the same machine.
 */
const TEMP_ROOT = join(tmpdir(), `chat-assistant-server-${process.getuid?.() ?? 0}`);
const PROCESS_DIR = join(TEMP_ROOT, `${process.pid}-${randomBytes(6).toString('hex')}`);
const PROCESS_DIR_NAME = /^(\d+)-[0-9a-f]+$/;

/** This process's temporary folder (made when missing: something may clean /tmp behind our back). */
export function processTempDir(): string {
  mkdirSync(PROCESS_DIR, { recursive: true, mode: 0o700 });
  return PROCESS_DIR;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it runs, as someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the temporary folders of earlier runs: those of processes no longer running, and
 * any other of this pid's (a restarted container gets the same pid again). Returns their names.
 */
export async function removeLeftoverTempFiles(): Promise<string[]> {
  const names = await readdir(TEMP_ROOT).catch(() => []);
  const removed: string[] = [];
  for (const name of names) {
    const pid = PROCESS_DIR_NAME.exec(name)?.[1];
    if (!pid || join(TEMP_ROOT, name) === PROCESS_DIR) continue;
    if (Number(pid) !== process.pid && isRunning(Number(pid))) continue;
    await rm(join(TEMP_ROOT, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

/**
 * Speech to text. The upload goes to a temporary file (never whole into memory), its format is
 * read from its bytes, raw AAC is remuxed into an m4a (providers refuse bare ADTS), the file
 * goes to the transcriber, and the temporary folder is removed whatever happens.
 */
export class SpeechService {
  constructor(private readonly opts: SpeechOptions) {}

  /**
   * Errors: BAD_REQUEST (SERVICE_NOT_CONFIGURED, empty, unsupported format, bad language),
   * PAYLOAD_TOO_LARGE, UPSTREAM_ERROR (PROVIDER_*, MODERATION_UNAVAILABLE), FORBIDDEN
   * (CONTENT_BLOCKED: the transcript, field `transcript`, is not returned).
   */
  async transcribe(upload: Promise<AudioUpload> | AudioUpload, language?: string | null, userId?: string): Promise<Transcription> {
    const hint = languageHint(language);
    const transcriber = this.opts.transcriber;
    if (!transcriber) throw new BadRequestError('Speech to text is not available: this server has no speech provider configured', { reason: 'SERVICE_NOT_CONFIGURED' });
    let file: AudioUpload;
    try {
      file = await upload;
    } catch (err) {
      throw uploadError(err);
    }
    const dir = await mkdtemp(join(processTempDir(), 'stt-'));
    try {
      const { path, head, bytes } = await this.receive(file, dir);
      if (bytes === 0) throw new BadRequestError('The audio file is empty', { field: 'audio', reason: 'EMPTY_FILE' });
      const format = await formatOf(path, head);
      if (!format) throw new BadRequestError(`Unsupported audio format: send ${ACCEPTED_AUDIO}`, { field: 'audio', reason: 'UNSUPPORTED_AUDIO_FORMAT' });
      const audio = await prepare(path, format, head, bytes);
      const result = await this.run(transcriber, audio, hint, userId);
      const [text] = userId && this.opts.moderation ? await this.opts.moderation.checkUserInput(userId, [{ field: 'transcript', text: result.text }]) : [result.text];
      return { text, language: hint ?? result.detectedLanguage ?? null, durationSeconds: audio.durationSeconds ?? null };
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

  /** Calls the transcriber; a provider failure is logged once here, without key, audio or text. */
  private async run(transcriber: Transcriber, audio: AudioFile, language: string | undefined, userId: string | undefined) {
    const started = Date.now();
    const usage = (outcome: 'OK' | 'FAILED') =>
      userId && this.opts.usage?.record({ userId, kind: 'TRANSCRIPTION', model: transcriber.model ?? 'echo', upstream: transcriber.upstream ?? null, latencyMs: Date.now() - started, outcome });
    try {
      // Providers take the primary code only (en, not en-US).
      const result = await transcriber.transcribe(audio, language?.split('-')[0]);
      await usage('OK');
      return result;
    } catch (err) {
      await usage('FAILED');
      if (err instanceof ProviderError) {
        const { upstream, httpStatus, providerMessage, requestId } = err.info;
        this.opts.logger.warn(
          { model: transcriber.model, upstream, httpStatus, providerMessage, requestId, reason: err.details?.reason, format: audio.format, bytes: audio.bytes },
          'speech to text failed',
        );
      }
      throw err;
    }
  }
}

/** The format from the first bytes; past an ID3 tag, ADTS is told apart from MP3 by what follows it. */
async function formatOf(path: string, head: Buffer): Promise<AudioFormat | undefined> {
  const format = detectAudioFormat(head);
  const tag = id3TagLength(head);
  if (tag === undefined) return format;
  const handle = await open(path, 'r');
  try {
    const after = Buffer.alloc(SNIFF_BYTES);
    const { bytesRead } = await handle.read(after, 0, SNIFF_BYTES, tag);
    return detectAudioFormat(after.subarray(0, bytesRead)) === 'aac' ? 'aac' : format;
  } finally {
    await handle.close();
  }
}

/**
 * The file as the provider gets it. Providers tell formats apart by the file name, so it is
 * named after what the bytes are; raw AAC becomes an m4a with the same frames.
 */
async function prepare(path: string, format: AudioFormat, head: Buffer, bytes: number): Promise<AudioFile> {
  if (format === 'aac') {
    const m4a = `${path}.m4a`;
    const { durationSeconds } = await remuxAdtsToM4a(path, m4a);
    return { path: m4a, format, bytes, durationSeconds: seconds(durationSeconds) };
  }
  const named = `${path}.${AUDIO_EXTENSION[format]}`;
  await rename(path, named);
  return { path: named, format, bytes, durationSeconds: format === 'wav' ? wavDurationSeconds(head) : undefined };
}

import type { IncomingMessage } from 'node:http';
import busboy from 'busboy';
import { WriteStream } from 'fs-capacitor';
import { BadRequestError, PayloadTooLargeError } from '../core/errors';
import { type AudioUpload, processTempDir } from '../speech/speech.service';

export interface ReceivedUpload {
  /** The `file` field, buffered on disk; null when the body had none. */
  file: AudioUpload | null;
  /** Every text field, wherever it came in the body. */
  fields: Record<string, string>;
  /** Removes the buffered file; call when the response is done. */
  release(): void;
}

const FILE_FIELD = 'file';

/**
 * Reads OpenAI's transcription upload. Unlike `/v1` (rest/multipart.ts, which starts on the
 * file as soon as it begins), this waits for the whole body: OpenAI's SDKs send `model`,
 * `language` and `response_format` after the file, in the order the caller wrote them.
 * The file is buffered on disk (fs-capacitor) and size-limited while it streams.
 */
export function readTranscriptionUpload(req: IncomingMessage, maxFileSize: number): Promise<ReceivedUpload> {
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: req.headers, limits: { fileSize: maxFileSize, files: 1, fields: 20, fieldSize: 1024 } });
    } catch {
      return reject(new BadRequestError(`Send multipart/form-data with the audio in "${FILE_FIELD}"`, { field: FILE_FIELD, reason: 'NOT_MULTIPART' }));
    }
    const fields: Record<string, string> = {};
    let buffer: WriteStream | undefined;
    let file: AudioUpload | null = null;
    let failed = false;
    const fail = (err: Error) => {
      if (failed) return;
      failed = true;
      // Past a refusal nothing more of the body is wanted: let TCP back-pressure stop the client.
      req.unpipe(parser);
      req.pause();
      buffer?.destroy(err);
      reject(err);
    };
    // A client that goes away mid-body never ends the request: free the buffer instead of waiting.
    req.once('close', () => {
      if (!req.complete) fail(new BadRequestError('The upload was interrupted', { field: FILE_FIELD, reason: 'UPLOAD_FAILED' }));
    });
    parser.on('field', (name, value) => {
      fields[name] = value;
    });
    parser.on('file', (name, stream, info) => {
      if (name !== FILE_FIELD || buffer) return void stream.resume();
      const capacitor = new WriteStream({ tmpdir: processTempDir });
      buffer = capacitor;
      capacitor.on('error', () => stream.unpipe());
      stream.on('limit', () => fail(new PayloadTooLargeError(`The file exceeds the ${maxFileSize} byte limit`, { field: FILE_FIELD, reason: 'FILE_TOO_LARGE' })));
      stream.on('error', () => fail(new BadRequestError('The upload could not be read', { field: FILE_FIELD, reason: 'UPLOAD_FAILED' })));
      stream.pipe(capacitor);
      file = { filename: info.filename ?? 'upload', mimetype: info.mimeType, createReadStream: () => capacitor.createReadStream() };
    });
    parser.on('close', () => {
      if (!failed) resolve({ file, fields, release: () => buffer?.release() });
    });
    parser.on('error', () => fail(new BadRequestError('Malformed multipart body', { field: FILE_FIELD, reason: 'MALFORMED_MULTIPART' })));
    req.pipe(parser);
  });
}

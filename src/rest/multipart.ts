import type { IncomingMessage } from 'node:http';
import busboy from 'busboy';
import { WriteStream } from 'fs-capacitor';
import Upload from 'graphql-upload/Upload.mjs';
import { BadRequestError } from '../core/errors';
import { processTempDir } from '../speech/speech.service';

export interface SingleUpload {
  /** The file, as graphql-upload would hand it to the resolver. */
  upload: Upload;
  /** Text fields sent before the file. */
  fields: Record<string, string>;
  /** Removes the buffered file; call when the response is done. */
  release(): void;
}

/**
 * Past the size limit nothing more of the body is wanted: stop feeding the parser and let TCP
 * back-pressure stop the client, instead of reading (and discarding) the rest. The 413
 * response then closes the connection.
 */
export function stopReading(req: IncomingMessage, parser?: NodeJS.WritableStream): void {
  if (parser) req.unpipe(parser);
  else req.unpipe();
  req.pause();
}

const tooLarge = (max: number) => Object.assign(new Error(`The file exceeds the ${max} byte limit`), { status: 413 });
/** 499: the client closed the connection (nginx's code; nobody is left to read the answer). */
const interrupted = () => Object.assign(new Error('The client went away during the upload'), { status: 499 });

/**
 * Reads one file field of a multipart request the way graphql-upload does (buffered on disk
 * by fs-capacitor, size-limited while it streams), so a REST route can pass it to the same
 * GraphQL operation as a real multipart GraphQL request. Resolves as soon as the file starts.
 */
export function readSingleUpload(req: IncomingMessage, field: string, maxFileSize: number): Promise<SingleUpload> {
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: req.headers, limits: { fileSize: maxFileSize, files: 1, fields: 10, fieldSize: 1024 } });
    } catch {
      return reject(new BadRequestError(`Send multipart/form-data with the file in "${field}"`, { field, reason: 'NOT_MULTIPART' }));
    }
    const fields: Record<string, string> = {};
    let capacitor: WriteStream | undefined;
    let fileError: Error | undefined;
    // A client that goes away mid-body never ends the request, so nothing would end the file
    // either: its readers (the speech service) would wait forever, holding the buffer and their
    // own copy open. Fail the file instead: the buffer is deleted and every reader errors out.
    req.once('close', () => {
      if (req.complete) return;
      fileError ??= interrupted();
      req.unpipe(parser);
      parser.destroy();
      capacitor?.destroy(fileError);
      reject(new BadRequestError('The upload was interrupted', { field, reason: 'UPLOAD_FAILED' }));
    });
    parser.on('field', (name, value) => {
      fields[name] = value;
    });
    parser.on('file', (name, stream, info) => {
      if (name !== field || capacitor) return void stream.resume();
      // In this process's own temporary folder, so that a crash's leftovers are found at the next start.
      const buffer = new WriteStream({ tmpdir: processTempDir });
      capacitor = buffer;
      buffer.on('error', () => stream.unpipe());
      stream.on('limit', () => {
        fileError = tooLarge(maxFileSize);
        stopReading(req, parser);
        buffer.destroy(fileError);
      });
      stream.on('error', (err: Error) => {
        fileError ??= err;
        stream.unpipe();
        buffer.destroy(err);
      });
      stream.pipe(buffer);
      const upload = new Upload();
      upload.resolve({
        filename: info.filename ?? 'upload',
        mimetype: info.mimeType,
        encoding: info.encoding,
        createReadStream: () => {
          if (fileError) throw fileError;
          return buffer.createReadStream();
        },
      });
      resolve({ upload, fields: { ...fields }, release: () => buffer.release() });
    });
    parser.on('finish', () => {
      if (!capacitor) reject(new BadRequestError(`The multipart body has no "${field}" file`, { field, reason: 'MISSING_FILE' }));
    });
    parser.on('error', () => reject(new BadRequestError('Malformed multipart body', { field, reason: 'MALFORMED_MULTIPART' })));
    req.pipe(parser);
  });
}

import { print } from 'graphql';
import { SpeechToTextDocument, type SpeechToTextMutation } from '../generated/graphql';
import type { GqlError, RestResult, TestApp } from './test-app';
/** Small real audio files built in the test: enough header for format and duration detection. */

/** A PCM WAV: 16-bit mono at `rate` Hz, `seconds` long of silence. */
export function wavFile(seconds: number, rate = 16000): Buffer {
  const data = Buffer.alloc(Math.round(seconds * rate) * 2);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'latin1');
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVE', 8, 'latin1');
  header.write('fmt ', 12, 'latin1');
  header.writeUInt32LE(16, 16); // fmt chunk size
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(rate, 24);
  header.writeUInt32LE(rate * 2, 28); // byte rate
  header.writeUInt16LE(2, 32); // block align
  header.writeUInt16LE(16, 34); // bits per sample
  header.write('data', 36, 'latin1');
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}

/** An MP3 with an ID3v2 tag followed by MPEG-1 layer III frames (128 kbit/s, 44.1 kHz). */
export function mp3File(frames = 10): Buffer {
  const id3 = Buffer.from([0x49, 0x44, 0x33, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]);
  const frame = Buffer.alloc(417);
  frame.set([0xff, 0xfb, 0x90, 0x64]);
  return Buffer.concat([id3, ...Array.from({ length: frames }, () => frame)]);
}

/** An MP3 that starts straight with a frame (no ID3 tag), as many recorders write. */
export function bareMp3File(): Buffer {
  const frame = Buffer.alloc(417);
  frame.set([0xff, 0xfb, 0x90, 0x64]);
  return Buffer.concat([frame, frame]);
}

/** An M4A (MPEG-4 audio): an `ftyp` box with brand `M4A `, then an empty `mdat`. */
export function m4aFile(brand = 'M4A '): Buffer {
  const ftyp = Buffer.alloc(24);
  ftyp.writeUInt32BE(24, 0);
  ftyp.write('ftyp', 4, 'latin1');
  ftyp.write(brand, 8, 'latin1');
  ftyp.writeUInt32BE(0, 12);
  ftyp.write('isomM4A ', 16, 'latin1');
  const mdat = Buffer.alloc(64);
  mdat.writeUInt32BE(64, 0);
  mdat.write('mdat', 4, 'latin1');
  return Buffer.concat([ftyp, mdat]);
}

/** A PNG signature and IHDR: what a renamed image looks like. */
export function pngFile(): Buffer {
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(64)]);
}

export const SPEECH_TO_TEXT = print(SpeechToTextDocument);

/**
 * The answers of the upload helpers. What callers read is typed as present: `data` of a
 * GraphQL answer and `error` of a REST one (null / undefined when the other case happened).
 */
export interface GqlUploadBody {
  data: SpeechToTextMutation;
  errors?: GqlError[];
}
export type RestUploadBody = RestResult<SpeechToTextMutation['speechToText']>['body'] & { error: NonNullable<RestResult['body']['error']> };

/** A GraphQL multipart request (graphql-multipart-request-spec) with one file. */
export async function gqlUpload(t: TestApp, file: Buffer, opts: { token?: string; name?: string; type?: string; language?: string; preflight?: boolean } = {}) {
  const form = new FormData();
  form.append('operations', JSON.stringify({ query: SPEECH_TO_TEXT, variables: { audio: null, language: opts.language } }));
  form.append('map', JSON.stringify({ 0: ['variables.audio'] }));
  form.append('0', new Blob([new Uint8Array(file)], { type: opts.type ?? 'application/octet-stream' }), opts.name ?? 'voice.bin');
  const res = await fetch(`${t.url}/graphql`, {
    method: 'POST',
    headers: { ...(opts.preflight === false ? {} : { 'apollo-require-preflight': 'true' }), ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}) },
    body: form,
  });
  return { status: res.status, body: (await res.json()) as GqlUploadBody };
}

/** POST /v1/ai/speech-to-text with the file in the `audio` field. */
export async function restUpload(t: TestApp, file: Buffer, opts: { token?: string; name?: string; language?: string } = {}) {
  const form = new FormData();
  if (opts.language) form.append('language', opts.language);
  form.append('audio', new Blob([new Uint8Array(file)], { type: 'audio/mpeg' }), opts.name ?? 'voice.mp3');
  const res = await fetch(`${t.url}/v1/ai/speech-to-text`, { method: 'POST', headers: opts.token ? { authorization: `Bearer ${opts.token}` } : {}, body: form });
  return { status: res.status, body: (await res.json()) as RestUploadBody };
}


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

/** ADTS sampling-frequency indexes (ISO 14496-3). */
const ADTS_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];

/**
 * One AAC-LC frame of silence (1024 samples): a real, decodable payload (a single channel
 * element with zero spectral data), as players insert to fill gaps.
 */
export const SILENT_AAC_FRAME: Record<1 | 2, Buffer> = {
  1: Buffer.from([0x00, 0xc8, 0x00, 0x80, 0x23, 0x80]),
  2: Buffer.from([0x21, 0x00, 0x49, 0x90, 0x02, 0x19, 0x00, 0x23, 0x80]),
};

/**
 * Raw AAC as the WeChat recorder writes it (format `aac`): `frames` ADTS frames of AAC-LC
 * silence, each a 7-byte header (MPEG-4, no CRC) and the payload; 1024 samples per frame, so
 * 25 frames at 16 kHz last 1.6 s.
 */
export function adtsFile(frames = 25, rate = 16000, channels: 1 | 2 = 1): Buffer {
  const rateIndex = ADTS_RATES.indexOf(rate);
  if (rateIndex < 0) throw new Error(`no ADTS index for ${rate} Hz`);
  const payload = SILENT_AAC_FRAME[channels];
  const length = 7 + payload.length;
  const header = Buffer.from([
    0xff,
    0xf1, // sync, MPEG-4, layer 0, no CRC
    (1 << 6) | (rateIndex << 2) | (channels >> 2), // profile: AAC LC (object type 2, written as 1)
    ((channels & 3) << 6) | (length >> 11),
    (length >> 3) & 0xff,
    ((length & 7) << 5) | 0x1f, // buffer fullness 0x7ff: variable rate
    0xfc, // one raw data block
  ]);
  return Buffer.concat(Array.from({ length: frames }, () => Buffer.concat([header, payload])));
}

/** An ID3v2.4 tag of `bodyBytes` zero bytes (a padded, empty tag), to put in front of audio. */
export function id3Tag(bodyBytes = 100): Buffer {
  const size = [(bodyBytes >> 21) & 0x7f, (bodyBytes >> 14) & 0x7f, (bodyBytes >> 7) & 0x7f, bodyBytes & 0x7f];
  return Buffer.concat([Buffer.from([0x49, 0x44, 0x33, 0x04, 0x00, 0x00, ...size]), Buffer.alloc(bodyBytes)]);
}

interface Mp4Box {
  type: string;
  body: Buffer;
}

/** The boxes in `buf` (one level): 32-bit sizes, or 64-bit ones (size 1); size 0 runs to the end. */
function mp4Boxes(buf: Buffer): Mp4Box[] {
  const boxes: Mp4Box[] = [];
  for (let at = 0; at + 8 <= buf.length; ) {
    let size = buf.readUInt32BE(at);
    let header = 8;
    if (size === 1) {
      size = Number(buf.readBigUInt64BE(at + 8));
      header = 16;
    } else if (size === 0) size = buf.length - at;
    if (size < header || at + size > buf.length) throw new Error(`box ${buf.toString('latin1', at + 4, at + 8)} at ${at} overruns its parent`);
    boxes.push({ type: buf.toString('latin1', at + 4, at + 8), body: buf.subarray(at + header, at + size) });
    at += size;
  }
  return boxes;
}

function child(parent: Buffer, path: string): Buffer {
  let body = parent;
  for (const type of path.split('/')) {
    const found = mp4Boxes(body).find((b) => b.type === type);
    if (!found) throw new Error(`no ${type} box in ${path}`);
    body = found.body;
  }
  return body;
}

/** An MPEG-4 descriptor (ISO 14496-1): tag, a length in 7-bit groups, then the body. */
function descriptor(buf: Buffer, at: number): { tag: number; body: Buffer; end: number } {
  const tag = buf[at];
  let length = 0;
  let i = at + 1;
  for (let n = 0; n < 4; n++) {
    const b = buf[i++];
    length = (length << 7) | (b & 0x7f);
    if (!(b & 0x80)) break;
  }
  return { tag, body: buf.subarray(i, i + length), end: i + length };
}

/**
 * What an MP4/M4A file holds, read box by box: enough to check a remuxed upload is a real,
 * playable audio file (the boxes a decoder needs, the AAC configuration and the sample table).
 */
export function readMp4(file: Buffer) {
  const top = mp4Boxes(file);
  const ftyp = child(file, 'ftyp');
  const moov = child(file, 'moov');
  const traks = mp4Boxes(moov).filter((b) => b.type === 'trak');
  if (traks.length !== 1) throw new Error(`expected one track, found ${traks.length}`);
  const mdia = child(traks[0].body, 'mdia');
  const mdhd = child(mdia, 'mdhd');
  const v1 = mdhd[0] === 1;
  const timescale = mdhd.readUInt32BE(v1 ? 20 : 12);
  const duration = v1 ? Number(mdhd.readBigUInt64BE(24)) : mdhd.readUInt32BE(16);
  const stbl = child(mdia, 'minf/stbl');
  // stsd: version/flags, entry count, then the sample entry box.
  const stsd = child(stbl, 'stsd');
  const [entry] = mp4Boxes(stsd.subarray(8));
  // An audio sample entry: 8 bytes of SampleEntry, 8 reserved, channels, sample size, 4 more, rate (16.16), then boxes.
  const esds = child(entry.body.subarray(28), 'esds');
  const es = descriptor(esds, 4); // after version/flags: ES_Descriptor (tag 3)
  const esFlags = es.body[2];
  const decoderConfig = descriptor(es.body, 3 + (esFlags & 0x80 ? 2 : 0) + (esFlags & 0x40 ? 1 + es.body[3] : 0) + (esFlags & 0x20 ? 2 : 0));
  const specific = descriptor(decoderConfig.body, 13); // DecoderSpecificInfo (tag 5): the AudioSpecificConfig
  const stsz = child(stbl, 'stsz');
  const uniformSize = stsz.readUInt32BE(4);
  const sampleCount = stsz.readUInt32BE(8);
  const sampleSizes = uniformSize ? Array.from({ length: sampleCount }, () => uniformSize) : Array.from({ length: sampleCount }, (_, i) => stsz.readUInt32BE(12 + 4 * i));
  // Where the samples are: chunk offsets (stco, or co64) and samples per chunk (stsc runs).
  const offsetBox = mp4Boxes(stbl).find((b) => b.type === 'stco' || b.type === 'co64');
  if (!offsetBox) throw new Error('no stco/co64 box');
  const chunkCount = offsetBox.body.readUInt32BE(4);
  const chunkOffsets = Array.from({ length: chunkCount }, (_, i) => (offsetBox.type === 'stco' ? offsetBox.body.readUInt32BE(8 + 4 * i) : Number(offsetBox.body.readBigUInt64BE(8 + 8 * i))));
  const stsc = child(stbl, 'stsc');
  const runs = Array.from({ length: stsc.readUInt32BE(4) }, (_, i) => ({ firstChunk: stsc.readUInt32BE(8 + 12 * i), perChunk: stsc.readUInt32BE(12 + 12 * i) }));
  const samples: Buffer[] = [];
  chunkOffsets.forEach((offset, i) => {
    const run = runs.filter((r) => r.firstChunk <= i + 1).at(-1);
    for (let n = 0; n < (run?.perChunk ?? 0) && samples.length < sampleCount; n++) {
      const size = sampleSizes[samples.length];
      samples.push(file.subarray(offset, offset + size));
      offset += size;
    }
  });
  const mdat = child(file, 'mdat');
  const mdatStart = file.indexOf(mdat);
  return {
    boxes: top.map((b) => b.type),
    majorBrand: ftyp.toString('latin1', 0, 4),
    handler: child(mdia, 'hdlr').toString('latin1', 8, 12),
    codec: entry.type,
    channels: entry.body.readUInt16BE(16),
    sampleRate: entry.body.readUInt32BE(24) >>> 16,
    timescale,
    durationSeconds: duration / timescale,
    esdsTags: [es.tag, decoderConfig.tag, specific.tag],
    /** 0x40: MPEG-4 audio. */
    objectTypeIndication: decoderConfig.body[0],
    audioSpecificConfig: specific.body,
    sampleCount,
    sampleSizes,
    /** Each sample's bytes, read through the sample table. */
    samples,
    /** Whether every sample lies inside the mdat box. */
    samplesInMdat: chunkOffsets.every((o) => o >= mdatStart && o < mdatStart + mdat.length),
  };
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
  data?: SpeechToTextMutation | null;
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


/**
 * Audio formats the speech endpoint accepts, recognised from the file's first bytes only.
 * `aac` is raw ADTS AAC (the WeChat mini-program recorder's `aac`): providers refuse it, so the
 * service remuxes it into an m4a before sending it on.
 */
export type AudioFormat = 'wav' | 'mp3' | 'm4a' | 'aac' | 'webm' | 'ogg';

/** The accepted formats, for messages to clients. */
export const ACCEPTED_AUDIO = 'mp3, wav, m4a/mp4, aac (ADTS), webm or ogg';

export const AUDIO_EXTENSION: Record<AudioFormat, string> = { wav: 'wav', mp3: 'mp3', m4a: 'm4a', aac: 'aac', webm: 'webm', ogg: 'ogg' };
export const AUDIO_MIME: Record<AudioFormat, string> = { wav: 'audio/wav', mp3: 'audio/mpeg', m4a: 'audio/mp4', aac: 'audio/aac', webm: 'audio/webm', ogg: 'audio/ogg' };

/** How many leading bytes `detectAudioFormat` needs. */
export const SNIFF_BYTES = 64;

const ascii = (b: Buffer, start: number, end: number) => b.subarray(start, end).toString('latin1');

/** An MPEG audio frame header: 11 sync bits, a valid version, layer III, a real bitrate and rate. */
function isMp3Frame(b: Buffer, i = 0): boolean {
  if (b.length < i + 4 || b[i] !== 0xff || (b[i + 1] & 0xe0) !== 0xe0) return false;
  const version = (b[i + 1] >> 3) & 0x3;
  const layer = (b[i + 1] >> 1) & 0x3;
  const bitrate = b[i + 2] >> 4;
  const rate = (b[i + 2] >> 2) & 0x3;
  return version !== 1 && layer === 1 && bitrate !== 0 && bitrate !== 15 && rate !== 3;
}

/** An ADTS (raw AAC) header: 12 sync bits and layer 0. */
const isAdts = (b: Buffer) => b.length >= 7 && b[0] === 0xff && (b[1] & 0xf6) === 0xf0;

/**
 * The length of an ID3v2 tag at the start of `head` (header, body and footer), or undefined
 * when there is none. MP3 and ADTS files may both start with one; what follows it tells them apart.
 */
export function id3TagLength(head: Buffer): number | undefined {
  if (head.length < 10 || ascii(head, 0, 3) !== 'ID3' || head[3] === 0xff || head[4] === 0xff) return undefined;
  const size = head.subarray(6, 10);
  // The size is "syncsafe": 7 bits per byte, the top bit always clear.
  if (size.some((b) => b & 0x80)) return undefined;
  const body = (size[0] << 21) | (size[1] << 14) | (size[2] << 7) | size[3];
  const footer = head[5] & 0x10 ? 10 : 0;
  return 10 + body + footer;
}

/**
 * The container or codec of an upload, from its bytes; never from its name or declared type
 * (WeChat recorders and browsers mislabel freely). Undefined for anything else.
 */
export function detectAudioFormat(head: Buffer): AudioFormat | undefined {
  if (head.length >= 12 && ascii(head, 0, 4) === 'RIFF' && ascii(head, 8, 12) === 'WAVE') return 'wav';
  // An ID3 tag usually means MP3; the service looks past the tag for ADTS (`id3TagLength`).
  if (head.length >= 10 && ascii(head, 0, 3) === 'ID3') return 'mp3';
  if (isMp3Frame(head)) return 'mp3';
  if (isAdts(head)) return 'aac';
  if (head.length >= 12 && ascii(head, 4, 8) === 'ftyp') {
    const brand = ascii(head, 8, 12);
    // M4A from WeChat and iOS; mp42/isom/3gp from Android recorders (audio-only MP4).
    if (/^(M4A |M4B |mp4[12]|isom|iso[2-6]|3gp[4-6]|3g2a|dash)$/.test(brand)) return 'm4a';
  }
  if (head.length >= 4 && head.readUInt32BE(0) === 0x1a45dfa3) return 'webm';
  if (head.length >= 4 && ascii(head, 0, 4) === 'OggS') return 'ogg';
  return undefined;
}

/**
 * A WAV file's duration from its header (byte rate and data chunk size), when the chunks are
 * within `head`. Undefined when the header is incomplete or inconsistent.
 */
export function wavDurationSeconds(head: Buffer): number | undefined {
  if (detectAudioFormat(head) !== 'wav') return undefined;
  let byteRate: number | undefined;
  for (let offset = 12; offset + 8 <= head.length; ) {
    const id = ascii(head, offset, offset + 4);
    const size = head.readUInt32LE(offset + 4);
    if (id === 'fmt ' && offset + 20 <= head.length) byteRate = head.readUInt32LE(offset + 16);
    if (id === 'data') return byteRate ? Math.round((size / byteRate) * 1000) / 1000 : undefined;
    offset += 8 + size + (size % 2);
  }
  return undefined;
}

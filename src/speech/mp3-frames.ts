import { id3TagLength } from './audio-format';

/** Bit rates in kbit/s by [MPEG-1?][index], layer III. */
const BITRATES = {
  v1: [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
  v2: [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
};
/** Sample rates by version bits (3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5). */
const RATES: Record<number, number[]> = { 3: [44100, 48000, 32000], 2: [22050, 24000, 16000], 0: [11025, 12000, 8000] };

interface Frame {
  bytes: number;
  samples: number;
  rate: number;
}

/** The layer III frame whose header starts at `i`, or undefined. */
function frameAt(b: Buffer, i: number): Frame | undefined {
  if (i + 4 > b.length || b[i] !== 0xff || (b[i + 1] & 0xe0) !== 0xe0) return undefined;
  const version = (b[i + 1] >> 3) & 0x3;
  const layer = (b[i + 1] >> 1) & 0x3;
  const bitrateIndex = b[i + 2] >> 4;
  const rateIndex = (b[i + 2] >> 2) & 0x3;
  if (version === 1 || layer !== 1 || bitrateIndex === 0 || bitrateIndex === 15 || rateIndex === 3) return undefined;
  const mpeg1 = version === 3;
  const bitrate = (mpeg1 ? BITRATES.v1 : BITRATES.v2)[bitrateIndex] * 1000;
  const rate = RATES[version][rateIndex];
  const padding = (b[i + 2] >> 1) & 0x1;
  const samples = mpeg1 ? 1152 : 576;
  return { bytes: Math.floor(((samples / 8) * bitrate) / rate) + padding, samples, rate };
}

/** Where the frames start: past a leading ID3v2 tag. */
const framesStart = (b: Buffer) => id3TagLength(b) ?? 0;

/** A trailing ID3v1 tag ("TAG" and 125 bytes) at `i`. */
const isId3v1At = (b: Buffer, i: number) => b.length - i === 128 && b.subarray(i, i + 3).toString('latin1') === 'TAG';

/**
 * The duration of an MP3 from its frame headers (each says its length and sample count), to
 * the millisecond. Null when the bytes are not a clean run of frames (optionally between ID3
 * tags): then the duration is not known rather than guessed.
 */
export function mp3DurationSeconds(b: Buffer): number | null {
  let seconds = 0;
  let frames = 0;
  let i = framesStart(b);
  while (i < b.length) {
    if (isId3v1At(b, i)) break;
    const frame = frameAt(b, i);
    if (!frame || i + frame.bytes > b.length) return null;
    seconds += frame.samples / frame.rate;
    frames += 1;
    i += frame.bytes;
  }
  return frames ? Math.round(seconds * 1000) / 1000 : null;
}

/**
 * MP3 parts as one file. MPEG audio is a run of independent frames, so the parts' frames can
 * follow each other; only the first part keeps its leading ID3 tag (a tag mid-stream is noise
 * to some players), and trailing ID3v1 tags are dropped for the same reason.
 */
export function joinMp3(parts: Buffer[]): Buffer {
  if (parts.length === 1) return parts[0];
  return Buffer.concat(
    parts.map((part, n) => {
      const start = n === 0 ? 0 : framesStart(part);
      const end = part.length >= 128 && part.subarray(part.length - 128, part.length - 125).toString('latin1') === 'TAG' ? part.length - 128 : part.length;
      return part.subarray(Math.min(start, end), end);
    }),
  );
}

/*
 * What speakMessage answers outside production when no text-to-speech provider is configured:
 * a quiet tone, clearly not speech, as long as the text would roughly take to read (capped),
 * so front ends can build and test the playing and seeking offline.
 */

const RATE = 8000;
/** Roughly how long a character takes to read aloud (Chinese is ~4-5 characters a second). */
const SECONDS_PER_CHARACTER = 0.2;
const MIN_SECONDS = 1;
const MAX_SECONDS = 30;
const TONE_HZ = 440;
/** Quiet: about -30 dBFS. */
const AMPLITUDE = 1000;

export interface PlaceholderAudio {
  bytes: Buffer;
  mimeType: 'audio/wav';
  durationSeconds: number;
}

/** A 16-bit mono WAV of a soft 440 Hz tone, its length proportional to the text's. */
export function placeholderAudio(text: string): PlaceholderAudio {
  const seconds = Math.min(MAX_SECONDS, Math.max(MIN_SECONDS, Math.round(Array.from(text).length * SECONDS_PER_CHARACTER * 10) / 10));
  const samples = Math.round(seconds * RATE);
  const data = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; i++) data.writeInt16LE(Math.round(AMPLITUDE * Math.sin((2 * Math.PI * TONE_HZ * i) / RATE)), i * 2);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'latin1');
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVEfmt ', 8, 'latin1');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(RATE, 24);
  header.writeUInt32LE(RATE * 2, 28); // byte rate
  header.writeUInt16LE(2, 32); // block align
  header.writeUInt16LE(16, 34); // bits per sample
  header.write('data', 36, 'latin1');
  header.writeUInt32LE(data.length, 40);
  return { bytes: Buffer.concat([header, data]), mimeType: 'audio/wav', durationSeconds: seconds };
}

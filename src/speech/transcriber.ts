import type { AudioFormat } from './audio-format';

/** One received upload, ready to send: on disk, named by what its bytes are. */
export interface AudioFile {
  /** The file to send (for raw AAC, the m4a it was remuxed into). */
  path: string;
  /** What the client uploaded, as recognised from its bytes. */
  format: AudioFormat;
  bytes: number;
  /** When the file states it (WAV header, AAC frames). */
  durationSeconds?: number;
}

export interface TranscriberResult {
  text: string;
  /** The language the provider detected, as a code, when it said. */
  detectedLanguage?: string;
}

/** Something that turns an audio file into text: a provider, or the offline echo. */
export interface Transcriber {
  /** The provider's model, for the log line of a failure (none for the echo). */
  readonly model?: string;
  /** The provider's host, for usage records (none for the echo). */
  readonly upstream?: string;
  /** `language` is a code such as zh or en; undefined lets the transcriber detect it. */
  transcribe(file: AudioFile, language: string | undefined): Promise<TranscriberResult>;
}

/**
 * The transcriber used outside production when no speech provider is configured: it calls
 * nothing and answers with a labelled description of the audio, so front ends can test the
 * upload flow offline. Never a transcript.
 */
export class EchoTranscriber implements Transcriber {
  async transcribe(file: AudioFile): Promise<TranscriberResult> {
    const what = file.durationSeconds !== undefined ? `${file.durationSeconds.toFixed(1)} s of ${file.format} audio` : `${file.format} audio, ${file.bytes} bytes`;
    return { text: `[echo transcriber] ${what} (no speech provider is configured)` };
  }
}

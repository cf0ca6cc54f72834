import { createReadStream } from 'node:fs';
import OpenAI from 'openai';
import { toProviderError, upstreamOf } from '../models/provider-errors';
import { languageCode } from './languages';
import type { AudioFile, Transcriber, TranscriberResult } from './transcriber';

export interface SpeechProviderOptions {
  model: string;
  baseUrl: string;
  apiKey?: string;
  timeoutMs: number;
}

/**
 * Speech to text through an OpenAI-compatible `/audio/transcriptions` endpoint (OpenAI, Groq,
 * a local whisper server). Failures are ProviderErrors (UPSTREAM_ERROR with a PROVIDER_* reason).
 */
export class OpenAITranscriber implements Transcriber {
  private readonly client: OpenAI;
  readonly upstream: string;

  constructor(readonly opts: SpeechProviderOptions) {
    // No retries: a streamed file cannot be sent twice. A keyless local server gets a dummy key
    // (the SDK insists on one); this class is only built when a provider is configured.
    this.client = new OpenAI({ baseURL: opts.baseUrl, apiKey: opts.apiKey ?? 'no-key', maxRetries: 0, timeout: opts.timeoutMs });
    this.upstream = upstreamOf(opts.baseUrl);
  }

  get model(): string {
    return this.opts.model;
  }

  async transcribe(file: AudioFile, language: string | undefined): Promise<TranscriberResult> {
    // With no language the provider detects it. Whisper models report what they detected in
    // `verbose_json` (OpenAI's whisper-1, Groq and local whisper servers); OpenAI's gpt-4o
    // transcription models refuse that format, so other models get plain JSON and no language.
    const verbose = language === undefined && /whisper/i.test(this.opts.model);
    try {
      const result = (await this.client.audio.transcriptions.create({
        file: createReadStream(file.path),
        model: this.opts.model,
        ...(language !== undefined ? { language } : {}),
        ...(verbose ? { response_format: 'verbose_json' as const } : {}),
      })) as { text: string; language?: unknown };
      return { text: result.text, detectedLanguage: verbose ? languageCode(result.language) : undefined };
    } catch (err) {
      throw toProviderError(err, 'The speech provider', this.upstream);
    }
  }
}

import OpenAI from 'openai';
import { toProviderError, upstreamOf } from '../models/provider-errors';

export interface SynthesizerOptions {
  model: string;
  baseUrl: string;
  apiKey?: string;
  timeoutMs: number;
}

/** Something that reads one piece of text (within the provider's input limit) aloud as MP3. */
export interface Synthesizer {
  /** For the log line of a failure. */
  readonly model: string;
  readonly upstream: string;
  synthesize(input: string, voice: string): Promise<Buffer>;
}

/**
 * Text to speech through an OpenAI-compatible `POST /audio/speech` (OpenAI, or a compatible
 * local server). Failures are ProviderErrors (UPSTREAM_ERROR with a PROVIDER_* reason).
 */
export class OpenAISynthesizer implements Synthesizer {
  private readonly client: OpenAI;
  readonly upstream: string;

  constructor(private readonly opts: SynthesizerOptions) {
    // No SDK retries: a failure is reported at once with its reason (as speech to text does),
    // and the client may simply ask again; a keyless local server gets a dummy key (the SDK
    // insists on one).
    this.client = new OpenAI({ baseURL: opts.baseUrl, apiKey: opts.apiKey ?? 'no-key', maxRetries: 0, timeout: opts.timeoutMs });
    this.upstream = upstreamOf(opts.baseUrl);
  }

  get model(): string {
    return this.opts.model;
  }

  async synthesize(input: string, voice: string): Promise<Buffer> {
    try {
      const res = await this.client.audio.speech.create({ model: this.opts.model, voice, input, response_format: 'mp3' });
      return Buffer.from(await res.arrayBuffer());
    } catch (err) {
      throw toProviderError(err, 'The speech provider', this.upstream);
    }
  }
}

import { type EntityManager, UniqueConstraintViolationException } from '@mikro-orm/core';
import { BadRequestError, NotFoundError } from '../core/errors';
import { isId } from '../core/ids';
import type { Logger } from '../core/logger';
import type { Viewer } from '../core/viewer';
import { Message, MessageStatus } from '../db/entities/message.entity';
import { SpeechClip } from '../db/entities/speech-clip.entity';
import { limitKey, type RateLimits } from '../limits/rate-limits';
import { ProviderError } from '../models/provider-errors';
import { joinMp3, mp3DurationSeconds } from './mp3-frames';
import { placeholderAudio } from './placeholder-audio';
import type { SpeechLinks } from './speech-link';
import { splitForSpeech } from './speech-text';
import type { UsageSink } from '../usage/usage-log';
import type { Synthesizer } from './tts.client';

/** The long-lived parts of text to speech, made once in createDeps. */
export interface SpeakSetup {
  /** A provider, or undefined: then the placeholder tone outside production, SERVICE_NOT_CONFIGURED in production. */
  synthesizer: Synthesizer | undefined;
  placeholder: boolean;
  defaultVoice: string;
  links: SpeechLinks;
  logger: Logger;
  /** Each provider call is recorded as a billable call (usage_records); stored clips are free. */
  usage?: UsageSink;
}

/** What speakMessage answers. */
export interface Speech {
  url: string;
  mimeType: string;
  durationSeconds: number | null;
}

/** The audio itself, for the audio route. */
export interface SpeechAudio {
  bytes: Buffer;
  mimeType: string;
  durationSeconds: number | null;
}

const VOICE = /^[A-Za-z0-9_-]{1,32}$/;
/** Parts of a long reply synthesised at once: faster than one by one, gentle on the provider's limits. */
const PARTS_AT_ONCE = 3;

/** `fn` over `items`, at most `limit` at a time, results in order; stops starting new ones after a failure. */
async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        out[i] = await fn(items[i]);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * Reading a stored message aloud. Each message and voice is synthesised once and kept
 * (`SpeechClip`): later plays, on any instance, read the database and call no provider, and
 * count against no limit. Long messages are read in parts within the provider's input limit
 * and the MP3 parts joined.
 */
export class SpeakService {
  constructor(
    private readonly em: EntityManager,
    private readonly setup: SpeakSetup & { rateLimits: RateLimits },
  ) {}

  /**
   * Errors: BAD_REQUEST (INVALID messageId or voice, MESSAGE_NOT_FINISHED, EMPTY,
   * SERVICE_NOT_CONFIGURED), NOT_FOUND (not the viewer's message), RATE_LIMITED,
   * UPSTREAM_ERROR (PROVIDER_*).
   */
  async speak(viewer: Pick<Viewer, 'userId'>, messageId: string, voice?: string | null): Promise<Speech> {
    const chosen = this.voiceOf(voice);
    const { mimeType, durationSeconds } = await this.clip(viewer.userId, messageId, chosen, false);
    return { url: this.setup.links.url(messageId, chosen, viewer.userId), mimeType, durationSeconds };
  }

  /** The audio of speak(), for the viewer; same errors. */
  async audio(viewer: Pick<Viewer, 'userId'>, messageId: string, voice?: string | null): Promise<SpeechAudio> {
    const clip = await this.clip(viewer.userId, messageId, this.voiceOf(voice), true);
    return { ...clip, bytes: clip.bytes! };
  }

  /** audio() for the user a signed link (speakMessage's url) names: UNAUTHENTICATED when the link is bad or expired. */
  async audioByLink(token: string, messageId: string, voice?: string | null): Promise<SpeechAudio> {
    const chosen = this.voiceOf(voice);
    const userId = this.setup.links.verify(token, messageId, chosen);
    return this.audio({ userId }, messageId, chosen);
  }

  /** The voice asked for (omitted or blank: the default), checked: it goes into a URL and a provider request. */
  voiceOf(voice: string | null | undefined): string {
    const v = voice?.trim();
    if (!v) return this.setup.defaultVoice;
    if (!VOICE.test(v)) throw new BadRequestError('voice must be 1-32 of letters, digits, _ and -', { field: 'voice', reason: 'INVALID' });
    return v;
  }

  /** The message's clip in `voice`, made when there is none; `withBytes` false leaves a stored clip's audio unread. */
  private async clip(userId: string, messageId: string, voice: string, withBytes: boolean): Promise<Omit<SpeechAudio, 'bytes'> & { bytes?: Buffer }> {
    if (!isId(messageId)) throw new BadRequestError('messageId is not a message id', { field: 'messageId', reason: 'INVALID' });
    const message = await this.em.findOne(Message, { id: messageId, userId }, { fields: ['id', 'status', 'content'] });
    if (!message) throw new NotFoundError('Message');
    if (message.status === MessageStatus.STREAMING) throw new BadRequestError('The reply is still being written; read it aloud once it has finished', { field: 'messageId', reason: 'MESSAGE_NOT_FINISHED' });
    const text = message.content.trim();
    if (!text) throw new BadRequestError('The message has no text to read aloud', { field: 'messageId', reason: 'EMPTY' });

    const stored = await this.em.findOne(SpeechClip, { message: messageId, voice }, withBytes ? { populate: ['bytes'] } : {});
    if (stored) return { mimeType: stored.mimeType, durationSeconds: stored.durationSeconds ?? null, ...(withBytes ? { bytes: stored.bytes } : {}) };

    const { synthesizer } = this.setup;
    if (!synthesizer) {
      if (this.setup.placeholder) return placeholderAudio(text);
      throw new BadRequestError('Text to speech is not available: this server has no speech provider configured', { reason: 'SERVICE_NOT_CONFIGURED' });
    }
    // Only a provider call counts as an AI call; a stored clip is free.
    await this.setup.rateLimits.consume('ai', limitKey({ userId }));
    const started = Date.now();
    const usage = (outcome: 'OK' | 'FAILED') => this.setup.usage?.record({ userId, kind: 'SPEECH', model: synthesizer.model, upstream: synthesizer.upstream, reference: messageId, latencyMs: Date.now() - started, outcome });
    let bytes: Buffer;
    try {
      bytes = await this.synthesize(synthesizer, text, voice);
    } catch (err) {
      await usage('FAILED');
      throw err;
    }
    await usage('OK');
    const clip = { bytes, mimeType: 'audio/mpeg', durationSeconds: mp3DurationSeconds(bytes) };
    await this.store(userId, messageId, voice, clip);
    return clip;
  }

  /** Every part read aloud and joined; a failure is logged once here, without the key or the text. */
  private async synthesize(synthesizer: Synthesizer, text: string, voice: string): Promise<Buffer> {
    const parts = splitForSpeech(text);
    try {
      return joinMp3(await mapLimited(parts, PARTS_AT_ONCE, (part) => synthesizer.synthesize(part, voice)));
    } catch (err) {
      if (err instanceof ProviderError) {
        const { upstream, httpStatus, providerMessage, requestId } = err.info;
        this.setup.logger.warn({ model: synthesizer.model, upstream, httpStatus, providerMessage, requestId, reason: err.details?.reason, voice, parts: parts.length, characters: text.length }, 'text to speech failed');
      }
      throw err;
    }
  }

  /** Keeps the clip. Two plays at once both synthesise; the second to store finds the first's row and keeps it. */
  private async store(userId: string, messageId: string, voice: string, clip: SpeechAudio): Promise<void> {
    try {
      const row = this.em.create(SpeechClip, { message: messageId, userId, voice, mimeType: clip.mimeType, durationSeconds: clip.durationSeconds, bytes: clip.bytes }, { persist: false });
      await this.em.insert(row);
    } catch (err) {
      if (!(err instanceof UniqueConstraintViolationException)) throw err;
    }
  }
}

import { createHmac, timingSafeEqual } from 'node:crypto';
import { UnauthenticatedError } from '../core/errors';

/**
 * Signed audio links. A mini-program's `InnerAudioContext.src` (like an `<audio>` element)
 * cannot send an Authorization header, so the link itself carries a short-lived credential:
 * `<expiry>.<userId>.<HMAC-SHA256 over message, voice, expiry and user>`. It opens that one
 * message in that one voice, for that user, until it expires; nothing else.
 */
export class SpeechLinks {
  private readonly key: Buffer;

  constructor(
    jwtSecret: string,
    private readonly ttlSeconds: number,
  ) {
    // A key of its own derived from the JWT secret: a link's signature is never a valid JWT
    // signature, nor the other way round.
    this.key = createHmac('sha256', jwtSecret).update('speech-link/v1').digest();
  }

  private sign(messageId: string, voice: string, expires: number, userId: string): string {
    return createHmac('sha256', this.key).update(`${messageId}\n${voice}\n${expires}\n${userId}`).digest('base64url');
  }

  /** The REST path that plays the message, with a token valid for `ttlSeconds`. */
  url(messageId: string, voice: string, userId: string, now = Date.now()): string {
    const expires = Math.floor(now / 1000) + this.ttlSeconds;
    const token = `${expires}.${userId}.${this.sign(messageId, voice, expires, userId)}`;
    return `/v1/messages/${encodeURIComponent(messageId)}/speech?voice=${encodeURIComponent(voice)}&token=${encodeURIComponent(token)}`;
  }

  /** The user the token speaks for; UNAUTHENTICATED when it is malformed, altered, for another message or voice, or expired. */
  verify(token: string, messageId: string, voice: string, now = Date.now()): string {
    const [expiresText, userId, signature, ...extra] = token.split('.');
    if (extra.length || !/^\d{1,12}$/.test(expiresText ?? '') || !userId || !signature) throw new UnauthenticatedError('Invalid audio link: ask speakMessage for a new one');
    const expected = Buffer.from(this.sign(messageId, voice, Number(expiresText), userId));
    const given = Buffer.from(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new UnauthenticatedError('Invalid audio link: ask speakMessage for a new one');
    if (Number(expiresText) * 1000 <= now) throw new UnauthenticatedError('Audio link expired: ask speakMessage for a new one');
    return userId;
  }
}

import { createDecipheriv, createHash, timingSafeEqual } from 'node:crypto';

/**
 * The mini-program's message push ("消息推送"), framework-free: the URL check WeChat makes when
 * the push URL is configured, and safe-mode ("安全模式") bodies, which are signed with the push
 * token and AES-256-CBC encrypted with the EncodingAESKey. The routes only pass strings here.
 */

/** sha1 over the sorted, concatenated parts: WeChat's signature for both the URL check and msg_signature. */
export function pushSignature(...parts: string[]): string {
  return createHash('sha1').update([...parts].sort().join('')).digest('hex');
}

const sameHex = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/** GET on the push URL: `signature` = sha1(sort(token, timestamp, nonce)). */
export function verifyPushUrl(token: string, q: { signature?: string; timestamp?: string; nonce?: string }): boolean {
  if (!q.signature || !q.timestamp || !q.nonce) return false;
  return sameHex(pushSignature(token, q.timestamp, q.nonce), q.signature.toLowerCase());
}

/** A safe-mode POST: `msg_signature` = sha1(sort(token, timestamp, nonce, Encrypt)). */
export function verifyPushMessage(token: string, q: { msg_signature?: string; timestamp?: string; nonce?: string }, encrypted: string): boolean {
  if (!q.msg_signature || !q.timestamp || !q.nonce || !encrypted) return false;
  return sameHex(pushSignature(token, q.timestamp, q.nonce, encrypted), q.msg_signature.toLowerCase());
}

/** The 43-character EncodingAESKey -> the 32-byte AES key (base64 of the key plus '='). */
export function pushAesKey(encodingAesKey: string): Buffer {
  if (!/^[A-Za-z0-9+/]{43}$/.test(encodingAesKey)) throw new RangeError('EncodingAESKey must be 43 base64 characters');
  const key = Buffer.from(`${encodingAesKey}=`, 'base64');
  if (key.length !== 32) throw new RangeError('EncodingAESKey must decode to 32 bytes');
  return key;
}

export class PushDecryptError extends Error {}

/**
 * Decrypts `Encrypt`: AES-256-CBC, IV = the key's first 16 bytes, PKCS#7 padding to 32-byte
 * blocks (WeChat's, not OpenSSL's 16, so padding is removed here), plaintext = 16 random
 * bytes + 4-byte big-endian length + message + appid. The appid must be ours: a push
 * encrypted for another app with a shared key is not for us.
 */
export function decryptPush(key: Buffer, encrypted: string, appId: string): string {
  let plain: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-cbc', key, key.subarray(0, 16));
    decipher.setAutoPadding(false);
    plain = Buffer.concat([decipher.update(Buffer.from(encrypted, 'base64')), decipher.final()]);
  } catch {
    throw new PushDecryptError('not decryptable with this EncodingAESKey');
  }
  const pad = plain.at(-1) ?? 0;
  if (pad < 1 || pad > 32 || pad > plain.length || !plain.subarray(plain.length - pad).every((b) => b === pad)) throw new PushDecryptError('bad padding');
  const body = plain.subarray(0, plain.length - pad);
  if (body.length < 20) throw new PushDecryptError('too short');
  const length = body.readUInt32BE(16);
  if (20 + length > body.length) throw new PushDecryptError('bad length');
  const message = body.subarray(20, 20 + length).toString('utf8');
  const from = body.subarray(20 + length).toString('utf8');
  if (from !== appId) throw new PushDecryptError('encrypted for another appid');
  return message;
}

/** What the route answers: a status and a body, in WeChat's formats. */
export interface PushAnswer {
  status: number;
  contentType: 'text/plain' | 'application/json';
  body: string;
}

/** A push's decrypted message, handed to whoever acts on it (virtual payment's deliveries). */
export interface PushConsumer {
  handle(message: Record<string, unknown>): Promise<string>;
}

const text = (status: number, body: string): PushAnswer => ({ status, contentType: 'text/plain', body });
/** xpay_* events are answered in JSON; ErrCode other than 0 makes WeChat push again. */
const xpayAnswer = (ok: boolean): PushAnswer => ({ status: 200, contentType: 'application/json', body: JSON.stringify(ok ? { ErrCode: 0, ErrMsg: 'success' } : { ErrCode: 1, ErrMsg: 'retry later' }) });

/**
 * The push endpoint's logic, framework-free: the URL check (GET) and safe-mode JSON pushes
 * (POST). Only a push signed with our token, encrypted with our key, for our appid is read;
 * anything else is refused before it is looked at.
 */
export class WechatPush {
  private readonly key: Buffer;

  constructor(
    private readonly opts: { token: string; aesKey: string; appId: string },
    private readonly consumer: PushConsumer | undefined,
    private readonly onError: (err: unknown) => void,
  ) {
    this.key = pushAesKey(opts.aesKey);
  }

  verifyUrl(query: Record<string, unknown>): PushAnswer {
    const q = strings(query);
    if (!verifyPushUrl(this.opts.token, q) || !q.echostr) return text(403, 'invalid signature');
    return text(200, q.echostr);
  }

  async receive(query: Record<string, unknown>, raw: Buffer): Promise<PushAnswer> {
    const q = strings(query);
    let envelope: unknown;
    try {
      envelope = JSON.parse(raw.toString('utf8'));
    } catch {
      return text(400, 'not JSON');
    }
    const encrypted = typeof envelope === 'object' && envelope !== null ? (envelope as { Encrypt?: unknown }).Encrypt : undefined;
    // Safe mode only: a plain-text push could be sent by anyone who knows the URL.
    if (typeof encrypted !== 'string' || !verifyPushMessage(this.opts.token, q, encrypted)) return text(401, 'invalid signature');
    let message: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(decryptPush(this.key, encrypted, this.opts.appId));
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return text(400, 'not a JSON object');
      message = parsed as Record<string, unknown>;
    } catch (err) {
      return text(err instanceof PushDecryptError ? 401 : 400, 'not decryptable');
    }
    const isXpay = typeof message.Event === 'string' && message.Event.startsWith('xpay_');
    if (!this.consumer) return isXpay ? xpayAnswer(true) : text(200, 'success');
    try {
      await this.consumer.handle(message);
      return isXpay ? xpayAnswer(true) : text(200, 'success');
    } catch (err) {
      this.onError(err);
      return isXpay ? xpayAnswer(false) : text(500, 'fail');
    }
  }
}

const strings = (query: Record<string, unknown>): Record<string, string | undefined> => Object.fromEntries(Object.entries(query).map(([k, v]) => [k, typeof v === 'string' ? v : undefined]));

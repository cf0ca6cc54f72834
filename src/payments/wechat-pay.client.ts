import { createDecipheriv, createPrivateKey, createPublicKey, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import { providerReason, UpstreamError } from '../core/errors';

/**
 * WeChat Pay API v3 in "WeChat Pay public key" mode, Native (QR code) payments only. Written
 * against the protocol with node:crypto so every signature rule is visible here:
 * - we sign each request with the merchant key (the `Authorization` header);
 * - WeChat Pay signs each response and notification with its key, named by `Wechatpay-Serial`;
 *   nothing unsigned, late, or signed by an unknown key is believed;
 * - notification payloads are AES-256-GCM encrypted with the APIv3 key.
 */

export interface WechatPayConfig {
  mchId: string;
  appId: string;
  serialNo: string; // merchant certificate serial (goes into our Authorization header)
  privateKey: string; // merchant RSA private key, PEM (PKCS#8 or PKCS#1)
  publicKey: string; // WeChat Pay public key: SPKI PEM, or the bare base64 body
  publicKeyId: string; // e.g. "PUB_KEY_ID_0112..."; the Wechatpay-Serial WeChat Pay signs with
  apiV3Key: string; // 32-byte APIv3 key (utf8), for AES-256-GCM
  notifyUrl: string;
  baseUrl: string; // e.g. https://api.mch.weixin.qq.com
}

export type WechatTradeState = 'SUCCESS' | 'REFUND' | 'NOTPAY' | 'CLOSED' | 'REVOKED' | 'USERPAYING' | 'PAYERROR';

export interface WechatTransaction {
  appid: string;
  mchid: string;
  out_trade_no: string;
  transaction_id?: string;
  trade_state: WechatTradeState;
  success_time?: string;
  amount?: { total?: number; payer_total?: number; currency?: string };
}

/** Thrown by verifyNotification. kind 'signature' -> caller answers 401; 'content' -> 400. */
export class WechatPayNotificationError extends Error {
  constructor(
    readonly kind: 'signature' | 'content',
    message: string,
  ) {
    super(message);
    this.name = 'WechatPayNotificationError';
  }
}

type HeaderBag = Record<string, string | string[] | undefined>;

/** WeChat Pay's replay window (its documented rule, so not a setting): a signed message older or newer than this is refused. */
const MAX_SKEW_SECONDS = 300;
/** WeChat Pay sends such "signature probes" to check merchants really verify; they must fail. */
const SIGNTEST_PREFIX = 'WECHATPAY/SIGNTEST/';
const USER_AGENT = 'chat-assistant-server/0.1 (WeChat Pay APIv3; Node.js)';
const TRADE_STATES = new Set<string>(['SUCCESS', 'REFUND', 'NOTPAY', 'CLOSED', 'REVOKED', 'USERPAYING', 'PAYERROR']);

export class WechatPayClient {
  private readonly privateKey: KeyObject;
  private readonly verificationKeys = new Map<string, KeyObject>();
  private readonly apiV3Key: Buffer;
  private readonly timeoutMs: number;
  private readonly now: () => number;

  constructor(
    private readonly config: WechatPayConfig,
    options: { timeoutMs?: number; now?: () => number } = {},
  ) {
    // Keys are parsed once, so a broken key stops the server at start rather than at the first payment.
    this.privateKey = parsePrivateKey(config.privateKey);
    this.verificationKeys.set(config.publicKeyId, parsePublicKey(config.publicKey));
    this.apiV3Key = Buffer.from(config.apiV3Key, 'utf8');
    if (this.apiV3Key.length !== 32) throw new Error('WeChat Pay APIv3 key must be exactly 32 bytes');
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  /** Another verification key, e.g. a platform certificate's public key, by its serial. */
  addVerificationKey(serial: string, publicKeyPemOrBase64: string): void {
    this.verificationKeys.set(serial, parsePublicKey(publicKeyPemOrBase64));
  }

  /** POST /v3/pay/transactions/native -> code_url. */
  async createNativeOrder(input: { outTradeNo: string; description: string; amountFen: number; expiresAt: Date }): Promise<{ codeUrl: string }> {
    if (!Number.isSafeInteger(input.amountFen) || input.amountFen < 1) throw new RangeError(`not a payable amount in fen: ${input.amountFen}`);
    const answer = await this.call('POST', '/v3/pay/transactions/native', {
      appid: this.config.appId,
      mchid: this.config.mchId,
      // WeChat Pay refuses descriptions over 127 characters; a long product name should not block payment.
      description: Array.from(input.description).slice(0, 127).join(''),
      out_trade_no: input.outTradeNo,
      time_expire: toBeijingTime(input.expiresAt),
      notify_url: this.config.notifyUrl,
      amount: { total: input.amountFen, currency: 'CNY' },
    });
    const codeUrl = isObject(answer?.data) ? answer.data.code_url : undefined;
    if (typeof codeUrl !== 'string' || !codeUrl) throw badAnswer('a Native order without code_url');
    return { codeUrl };
  }

  /** GET /v3/pay/transactions/out-trade-no/{out_trade_no}?mchid=... ; null when WeChat says ORDER_NOT_EXIST (HTTP 404). */
  async queryOrder(outTradeNo: string): Promise<WechatTransaction | null> {
    const path = `/v3/pay/transactions/out-trade-no/${encodeURIComponent(outTradeNo)}?mchid=${encodeURIComponent(this.config.mchId)}`;
    const answer = await this.call('GET', path, undefined, { notFoundIsNull: true });
    if (!answer) return null;
    if (!isTransaction(answer.data)) throw badAnswer('a transaction without out_trade_no or a known trade_state');
    return answer.data;
  }

  /** POST /v3/pay/transactions/out-trade-no/{out_trade_no}/close {mchid}; 204 expected. */
  async closeOrder(outTradeNo: string): Promise<void> {
    await this.call('POST', `/v3/pay/transactions/out-trade-no/${encodeURIComponent(outTradeNo)}/close`, { mchid: this.config.mchId });
  }

  /**
   * Verify headers over the raw body, then decrypt resource. Returns the decrypted transaction
   * and the event type. Throws WechatPayNotificationError. Checks nothing about OUR database
   * (amount, mchid, appid against our order are the caller's business).
   */
  verifyNotification(headers: HeaderBag, rawBody: Buffer | string): { eventType: string; transaction: WechatTransaction } {
    const body = typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : rawBody;
    const problem = this.checkSignature((name) => headerValue(headers, name), body);
    if (problem) throw new WechatPayNotificationError('signature', `WeChat Pay notification refused: ${problem}`);

    const event = parseJson(body);
    const resource = isObject(event) ? event.resource : undefined;
    if (!isObject(event) || typeof event.event_type !== 'string' || !isObject(resource)) throw contentError('it is not a notification event');
    if (resource.algorithm !== 'AEAD_AES_256_GCM') throw contentError(`unsupported algorithm ${String(resource.algorithm).slice(0, 40)}`);
    const { ciphertext, nonce, associated_data: aad = '' } = resource;
    if (typeof ciphertext !== 'string' || typeof nonce !== 'string' || typeof aad !== 'string') throw contentError('resource fields are missing');

    let plaintext: Buffer;
    try {
      plaintext = this.decrypt(ciphertext, nonce, aad);
    } catch {
      throw contentError('resource could not be decrypted (wrong APIv3 key or altered ciphertext)');
    }
    const transaction = parseJson(plaintext);
    if (!isTransaction(transaction)) throw contentError('decrypted resource is not a transaction');
    return { eventType: event.event_type, transaction };
  }

  /** One signed request; returns the verified JSON answer (null data for an empty body), or null for ORDER_NOT_EXIST when asked. */
  private async call(method: 'GET' | 'POST', path: string, body?: object, opts: { notFoundIsNull?: boolean } = {}): Promise<{ data: unknown } | null> {
    const url = new URL(this.config.baseUrl.replace(/\/+$/, '') + path);
    const bodyText = body === undefined ? '' : JSON.stringify(body);
    const headers: Record<string, string> = {
      // Signed over the path as sent, so a base URL with a path prefix (a proxy) still verifies.
      Authorization: this.authorization(method, url.pathname + url.search, bodyText),
      Accept: 'application/json',
      'User-Agent': USER_AGENT,
      // Public-key mode: tells WeChat Pay which of its keys we verify with.
      'Wechatpay-Serial': this.config.publicKeyId,
    };
    if (body !== undefined) headers['Content-Type'] = 'application/json';

    let res: Response;
    let raw: Buffer;
    try {
      res = await fetch(url, { method, headers, body: body === undefined ? undefined : bodyText, signal: AbortSignal.timeout(this.timeoutMs) });
      raw = Buffer.from(await res.arrayBuffer());
    } catch {
      throw new UpstreamError('WeChat Pay could not be reached or did not answer in time', { reason: 'WECHATPAY_UNAVAILABLE' });
    }

    // A forged success must never be trusted; error answers are checked too whenever they are signed.
    const ok = res.status >= 200 && res.status < 300;
    if (ok || res.headers.has('wechatpay-signature')) {
      const problem = this.checkSignature((name) => res.headers.get(name) ?? undefined, raw);
      if (problem) throw new UpstreamError(`WeChat Pay answer failed verification: ${problem}`, { reason: 'WECHATPAY_BAD_SIGNATURE' });
    }
    const data = raw.length ? parseJson(raw) : null;
    if (ok) {
      if (data === undefined) throw badAnswer('something other than JSON');
      return { data };
    }
    const code = isObject(data) && typeof data.code === 'string' ? data.code : undefined;
    const message = isObject(data) && typeof data.message === 'string' ? data.message : '';
    if (opts.notFoundIsNull && res.status === 404 && code === 'ORDER_NOT_EXIST') return null;
    throw new UpstreamError(`WeChat Pay ${method} ${url.pathname} failed: HTTP ${res.status} ${code ?? ''} ${message}`.trim(), {
      reason: code ? providerReason('WECHATPAY_', code, 'WECHATPAY_REFUSED') : 'WECHATPAY_HTTP_ERROR',
    });
  }

  private authorization(method: string, pathWithQuery: string, body: string): string {
    const timestamp = String(Math.floor(this.now() / 1000));
    const nonce = randomBytes(16).toString('hex');
    const signature = sign('sha256', Buffer.from(`${method}\n${pathWithQuery}\n${timestamp}\n${nonce}\n${body}\n`), this.privateKey).toString('base64');
    const { mchId, serialNo } = this.config;
    return `WECHATPAY2-SHA256-RSA2048 mchid="${mchId}",nonce_str="${nonce}",signature="${signature}",timestamp="${timestamp}",serial_no="${serialNo}"`;
  }

  /** The four Wechatpay-* headers over the exact body bytes; returns what is wrong, or null when it is genuine. */
  private checkSignature(header: (name: string) => string | undefined, body: Buffer): string | null {
    const timestamp = header('wechatpay-timestamp');
    const nonce = header('wechatpay-nonce');
    const signature = header('wechatpay-signature');
    const serial = header('wechatpay-serial');
    if (!timestamp || !nonce || !signature || !serial) return 'Wechatpay-* signature headers are missing';
    if (signature.startsWith(SIGNTEST_PREFIX)) return 'a WECHATPAY/SIGNTEST signature probe';
    const key = this.verificationKeys.get(serial);
    if (!key) return `unknown Wechatpay-Serial ${serial.slice(0, 64)}`;
    if (!/^\d{1,12}$/.test(timestamp) || Math.abs(this.now() / 1000 - Number(timestamp)) > MAX_SKEW_SECONDS) {
      return 'Wechatpay-Timestamp is more than 300 s from now';
    }
    const message = Buffer.concat([Buffer.from(`${timestamp}\n${nonce}\n`), body, Buffer.from('\n')]);
    try {
      if (verify('sha256', message, key, Buffer.from(signature, 'base64'))) return null;
    } catch {
      // A malformed signature is just a wrong one.
    }
    return 'Wechatpay-Signature does not match';
  }

  /** AEAD_AES_256_GCM: the last 16 bytes of the ciphertext are the tag. Throws on any mismatch. */
  private decrypt(ciphertext: string, nonce: string, aad: string): Buffer {
    const data = Buffer.from(ciphertext, 'base64');
    if (data.length <= 16) throw new Error('ciphertext too short');
    const decipher = createDecipheriv('aes-256-gcm', this.apiV3Key, Buffer.from(nonce, 'utf8'), { authTagLength: 16 });
    decipher.setAuthTag(data.subarray(-16));
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    return Buffer.concat([decipher.update(data.subarray(0, -16)), decipher.final()]);
  }
}

/** PEM held in an env var often arrives with literal "\n"s. */
const unescapePem = (text: string) => text.replace(/\\n/g, '\n').trim();

/** Runs a key parser, keeping only RSA keys, with a clear message instead of OpenSSL's. */
function rsaKey(parse: () => KeyObject, problem: string): KeyObject {
  let key: KeyObject | undefined;
  try {
    key = parse();
  } catch {
    key = undefined;
  }
  if (key?.asymmetricKeyType !== 'rsa') throw new Error(problem);
  return key;
}

const parsePrivateKey = (text: string) =>
  rsaKey(() => createPrivateKey(unescapePem(text)), 'WeChat Pay merchant private key is not an RSA private key in PEM (PKCS#8 or PKCS#1)');

function parsePublicKey(text: string): KeyObject {
  const pem = unescapePem(text);
  const wrapped = `-----BEGIN PUBLIC KEY-----\n${pem.replace(/\s+/g, '').match(/.{1,64}/g)?.join('\n')}\n-----END PUBLIC KEY-----\n`;
  return rsaKey(() => {
    // createPublicKey would quietly derive the public half of a private key: a misconfiguration to report.
    if (pem.includes('PRIVATE KEY')) throw new Error('a private key');
    return createPublicKey(pem.includes('-----BEGIN') ? pem : wrapped);
  }, 'WeChat Pay public key is not an RSA public key (SPKI PEM or its bare base64 body)');
}

/** RFC 3339 in Beijing time, as WeChat Pay expects: 2026-11-21T10:34:56+08:00. */
function toBeijingTime(date: Date): string {
  if (Number.isNaN(date.getTime())) throw new RangeError('expiresAt is not a valid date');
  return `${new Date(date.getTime() + 8 * 3600_000).toISOString().slice(0, 19)}+08:00`;
}

function headerValue(headers: HeaderBag, name: string): string | undefined {
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== name) continue;
    // A repeated signature header is ambiguous, so it counts as missing.
    return Array.isArray(value) ? (value.length === 1 ? value[0] : undefined) : value;
  }
  return undefined;
}

function parseJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function isTransaction(v: unknown): v is WechatTransaction {
  return isObject(v) && typeof v.out_trade_no === 'string' && typeof v.trade_state === 'string' && TRADE_STATES.has(v.trade_state);
}

const badAnswer = (what: string) => new UpstreamError(`WeChat Pay answered with ${what}`, { reason: 'WECHATPAY_BAD_ANSWER' });
const contentError = (why: string) => new WechatPayNotificationError('content', `WeChat Pay notification refused: ${why}`);

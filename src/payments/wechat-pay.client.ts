import { createDecipheriv, createPrivateKey, createPublicKey, randomBytes, sign, verify, X509Certificate, type KeyObject } from 'node:crypto';
import { providerReason, UpstreamError } from '../core/errors';
import { jsapiPayParams, type WechatJsapiPayParams } from './wechat-jsapi';
import { withSpan } from '../core/trace';

/**
 * WeChat Pay API v3 in "WeChat Pay public key" mode: Native (QR code), H5 (phone browser) and
 * JSAPI (mini-program) payments, and refunds. Over 300 lines on purpose: every endpoint shares
 * the private request signing and answer verification, which stay in this one class. Written
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
  /** A platform certificate also accepted while WeChat Pay moves merchants to its public key; chosen by Wechatpay-Serial. */
  platformCert?: { serial: string; pem: string };
}

export type WechatRefundStatus = 'SUCCESS' | 'CLOSED' | 'PROCESSING' | 'ABNORMAL';

/** A refund as the refund API, its query and REFUND.* notifications describe it (the fields we use). */
export interface WechatRefund {
  out_refund_no: string;
  refund_id?: string;
  out_trade_no?: string;
  mchid?: string;
  /** `status` in API answers, `refund_status` in notifications. */
  status: WechatRefundStatus;
  success_time?: string;
  amount?: { total?: number; refund?: number };
}

/** A verified, decrypted notification: a payment's or a refund's. */
export type WechatEvent = { eventType: string; transaction: WechatTransaction; refund?: undefined } | { eventType: string; refund: WechatRefund; transaction?: undefined };

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
const REFUND_STATES = new Set<string>(['SUCCESS', 'CLOSED', 'PROCESSING', 'ABNORMAL']);

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
    if (config.platformCert) this.verificationKeys.set(config.platformCert.serial, certificateKey(config.platformCert));
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
    const answer = await this.call('POST', '/v3/pay/transactions/native', this.orderBody(input));
    const codeUrl = isObject(answer?.data) ? answer.data.code_url : undefined;
    if (typeof codeUrl !== 'string' || !codeUrl) throw badAnswer('a Native order without code_url');
    return { codeUrl };
  }

  /** POST /v3/pay/transactions/jsapi -> prepay_id, for the payer with this openid (of our appid). */
  async createJsapiOrder(input: { outTradeNo: string; description: string; amountFen: number; expiresAt: Date; openid: string }): Promise<{ prepayId: string }> {
    const answer = await this.call('POST', '/v3/pay/transactions/jsapi', { ...this.orderBody(input), payer: { openid: input.openid } });
    const prepayId = isObject(answer?.data) ? answer.data.prepay_id : undefined;
    if (typeof prepayId !== 'string' || !prepayId) throw badAnswer('a JSAPI order without prepay_id');
    return { prepayId };
  }

  /** POST /v3/pay/transactions/h5 -> h5_url, which the phone browser opens (WeChat checks the payer's IP against payer_client_ip). */
  async createH5Order(input: { outTradeNo: string; description: string; amountFen: number; expiresAt: Date; payerIp: string }): Promise<{ h5Url: string }> {
    const answer = await this.call('POST', '/v3/pay/transactions/h5', { ...this.orderBody(input), scene_info: { payer_client_ip: input.payerIp, h5_info: { type: 'Wap' } } });
    const h5Url = isObject(answer?.data) ? answer.data.h5_url : undefined;
    if (typeof h5Url !== 'string' || !h5Url) throw badAnswer('an H5 order without h5_url');
    return { h5Url };
  }

  /** The `wx.requestPayment` parameters for a prepay id, signed now with the merchant key. */
  jsapiParams(prepayId: string): WechatJsapiPayParams {
    return jsapiPayParams({ appId: this.config.appId, prepayId, privateKey: this.privateKey, now: this.now() });
  }

  /**
   * POST /v3/refund/domestic/refunds. Sending the same out_refund_no again is answered with
   * that refund, not a second one: retries are safe.
   */
  async createRefund(input: { outTradeNo: string; outRefundNo: string; reason: string; refundFen: number; totalFen: number }): Promise<WechatRefund> {
    const answer = await this.call('POST', '/v3/refund/domestic/refunds', {
      out_trade_no: input.outTradeNo,
      out_refund_no: input.outRefundNo,
      reason: Array.from(input.reason).slice(0, 80).join(''),
      notify_url: this.config.notifyUrl,
      amount: { refund: input.refundFen, total: input.totalFen, currency: 'CNY' },
    });
    const refund = asRefund(answer?.data);
    if (!refund || refund.out_refund_no !== input.outRefundNo) throw badAnswer('a refund answer about another refund');
    return refund;
  }

  /** GET /v3/refund/domestic/refunds/{out_refund_no}; null when WeChat Pay never got it (404 RESOURCE_NOT_EXISTS). */
  async queryRefund(outRefundNo: string): Promise<WechatRefund | null> {
    const answer = await this.call('GET', `/v3/refund/domestic/refunds/${encodeURIComponent(outRefundNo)}`, undefined, { notFoundIsNull: true });
    if (!answer) return null;
    const refund = asRefund(answer.data);
    if (!refund || refund.out_refund_no !== outRefundNo) throw badAnswer('a refund answer about another refund');
    return refund;
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
   * GET /v3/bill/tradebill: where the day's trade bill (all payments and refunds) can be
   * downloaded, and its SHA1. Bills for a day are ready from 10:00 Beijing time the next day.
   */
  async tradeBill(billDate: string): Promise<{ downloadUrl: string; hashType: string; hashValue: string } | null> {
    // NO_STATEMENT_EXIST: no successful payment or refund that day, so there is no bill (null).
    const answer = await this.call('GET', `/v3/bill/tradebill?bill_date=${encodeURIComponent(billDate)}&bill_type=ALL`, undefined, { nullOn: 'NO_STATEMENT_EXIST' });
    if (!answer) return null;
    const d = isObject(answer?.data) ? answer.data : {};
    if (typeof d.download_url !== 'string' || typeof d.hash_type !== 'string' || typeof d.hash_value !== 'string') throw badAnswer('a bill answer without download_url or hash');
    return { downloadUrl: d.download_url, hashType: d.hash_type, hashValue: d.hash_value };
  }

  /**
   * The bill file at a download_url, signed like any request. WeChat Pay does not sign the
   * file itself (the hash from tradeBill vouches for it), so the answer's signature is not checked.
   */
  async downloadBill(downloadUrl: string): Promise<Buffer> {
    const url = new URL(downloadUrl);
    if (url.origin !== new URL(this.config.baseUrl).origin) throw badAnswer('a download_url on another host');
    let res: Response;
    let raw: Buffer;
    try {
      const headers = { Authorization: this.authorization('GET', url.pathname + url.search, ''), 'User-Agent': USER_AGENT };
      res = await fetch(url, { headers, signal: AbortSignal.timeout(this.timeoutMs) });
      raw = Buffer.from(await res.arrayBuffer());
    } catch {
      throw new UpstreamError('WeChat Pay could not be reached or did not answer in time', { reason: 'WECHATPAY_UNAVAILABLE' });
    }
    if (res.status !== 200) throw new UpstreamError(`WeChat Pay bill download failed: HTTP ${res.status}`, { reason: 'WECHATPAY_HTTP_ERROR' });
    return raw;
  }

  /**
   * Verify headers over the raw body, then decrypt resource. Returns the decrypted transaction
   * and the event type. Throws WechatPayNotificationError. Checks nothing about OUR database
   * (amount, mchid, appid against our order are the caller's business).
   */
  verifyNotification(headers: HeaderBag, rawBody: Buffer | string): { eventType: string; transaction: WechatTransaction } {
    const event = this.verifyEvent(headers, rawBody);
    if (!event.transaction) throw contentError('decrypted resource is not a transaction');
    return { eventType: event.eventType, transaction: event.transaction };
  }

  /**
   * As verifyNotification, for payment and refund events alike: a REFUND.* event's resource
   * (original_type `refund`) must decrypt to a refund, any other to a transaction.
   */
  verifyEvent(headers: HeaderBag, rawBody: Buffer | string): WechatEvent {
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
    const data = parseJson(plaintext);
    if (event.event_type.startsWith('REFUND.')) {
      const refund = resource.original_type === 'refund' ? asRefund(data) : null;
      if (!refund) throw contentError('decrypted resource is not a refund');
      return { eventType: event.event_type, refund };
    }
    if (!isTransaction(data)) throw contentError('decrypted resource is not a transaction');
    return { eventType: event.event_type, transaction: data };
  }

  /** The fields every prepay request (Native, JSAPI, H5) shares. */
  private orderBody(input: { outTradeNo: string; description: string; amountFen: number; expiresAt: Date }) {
    if (!Number.isSafeInteger(input.amountFen) || input.amountFen < 1) throw new RangeError(`not a payable amount in fen: ${input.amountFen}`);
    return {
      appid: this.config.appId,
      mchid: this.config.mchId,
      // WeChat Pay refuses descriptions over 127 characters; a long product name should not block payment.
      description: Array.from(input.description).slice(0, 127).join(''),
      out_trade_no: input.outTradeNo,
      time_expire: toBeijingTime(input.expiresAt),
      notify_url: this.config.notifyUrl,
      amount: { total: input.amountFen, currency: 'CNY' },
    };
  }

  /** One signed request; returns the verified JSON answer (null data for an empty body), or null for ORDER_NOT_EXIST when asked. */
  /** Every API call, in a span named by its path (without the query: it may carry the merchant id). */
  private call(method: 'GET' | 'POST', path: string, body?: object, opts: { notFoundIsNull?: boolean; nullOn?: string } = {}): Promise<{ data: unknown } | null> {
    return withSpan('payment.wechatpay', { 'payment.provider': 'wechatpay', 'http.request.method': method, 'payment.api': path.split('?')[0] }, () => this.send(method, path, body, opts));
  }

  private async send(method: 'GET' | 'POST', path: string, body: object | undefined, opts: { notFoundIsNull?: boolean; nullOn?: string }): Promise<{ data: unknown } | null> {
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
    if (opts.notFoundIsNull && res.status === 404 && (code === 'ORDER_NOT_EXIST' || code === 'RESOURCE_NOT_EXISTS')) return null;
    if (opts.nullOn && code === opts.nullOn) return null;
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

/** A platform certificate's public key; its serial must be the certificate's own, so a mix-up of the two settings stops the server at start. */
function certificateKey(cert: { serial: string; pem: string }): KeyObject {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(unescapePem(cert.pem));
  } catch {
    throw new Error('WECHATPAY_PLATFORM_CERT is not a PEM certificate');
  }
  if (x509.serialNumber.toUpperCase() !== cert.serial.toUpperCase()) throw new Error('WECHATPAY_PLATFORM_CERT_SERIAL is not the serial of WECHATPAY_PLATFORM_CERT');
  if (x509.publicKey.asymmetricKeyType !== 'rsa') throw new Error('WECHATPAY_PLATFORM_CERT does not hold an RSA key');
  return x509.publicKey;
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

/** A refund from an API answer (`status`) or a notification (`refund_status`); null when it is not one. */
function asRefund(v: unknown): WechatRefund | null {
  if (!isObject(v) || typeof v.out_refund_no !== 'string') return null;
  const status = v.status ?? v.refund_status;
  if (typeof status !== 'string' || !REFUND_STATES.has(status)) return null;
  const amount = isObject(v.amount) ? { total: typeof v.amount.total === 'number' ? v.amount.total : undefined, refund: typeof v.amount.refund === 'number' ? v.amount.refund : undefined } : undefined;
  const text = (k: string) => (typeof v[k] === 'string' ? (v[k] as string) : undefined);
  return { out_refund_no: v.out_refund_no, refund_id: text('refund_id'), out_trade_no: text('out_trade_no'), mchid: text('mchid'), status: status as WechatRefundStatus, success_time: text('success_time'), amount };
}

const badAnswer = (what: string) => new UpstreamError(`WeChat Pay answered with ${what}`, { reason: 'WECHATPAY_BAD_ANSWER' });
const contentError = (why: string) => new WechatPayNotificationError('content', `WeChat Pay notification refused: ${why}`);

import { createCipheriv, generateKeyPair, randomBytes, randomInt, sign, verify, type KeyObject } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { promisify } from 'node:util';
import type { WechatPayConfig, WechatTradeState, WechatTransaction } from '../../src/payments/wechat-pay.client';
import { listenFake } from './http-fake';

const generateRsa = promisify(generateKeyPair);

/** A JSON value's fields when it is an object (none otherwise), for validating what was sent. */
const fields = (value: unknown): Record<string, unknown> => (value && typeof value === 'object' ? (value as Record<string, unknown>) : {});

export const FAKE_WECHATPAY_MCHID = '1900000109';
export const FAKE_WECHATPAY_APP_ID = 'wxfakepay0000001';
export const FAKE_WECHATPAY_NOTIFY_URL = 'https://example.com/v1/pay/wechat/notify';

export interface FakeWechatPayOrder {
  appid: string;
  mchid: string;
  out_trade_no: string;
  description: string;
  notify_url: string;
  /** Absent when the order was created without one. */
  time_expire?: string;
  /** What the order was created for, in fen. */
  total: number;
  code_url: string;
  trade_state: WechatTradeState;
  transaction_id?: string;
  success_time?: string;
  /** What WeChat reports as paid (`pay(no, { total })`), when it differs from `total`. */
  paid_total?: number;
  payer_openid?: string;
}

export interface FakeWechatPayCall {
  method: string;
  /** Path with query, as signed. */
  path: string;
  /** The JSON body (or the text, when it is not JSON). */
  body: unknown;
  headers: IncomingHttpHeaders;
  /** Whether our Authorization header verified (mchid, serial, timestamp, signature). */
  signatureValid: boolean;
}

/**
 * How the next request fails: 'http500' a signed SYSTEM_ERROR; 'badResponseSignature' a normal
 * answer whose Wechatpay-Signature does not match; 'hang' never answers.
 */
export type FakeWechatPayFailure = 'http500' | 'badResponseSignature' | 'hang';

export interface NotificationTamper {
  /** Signature 'WECHATPAY/SIGNTEST/...', as WeChat Pay's probes. */
  signtest?: boolean;
  badSignature?: boolean;
  timestampOffsetSeconds?: number;
  serial?: string;
  /** Flip a ciphertext byte; the signature is still valid over the altered body. */
  tamperCiphertext?: boolean;
  /** Fields to override in the transaction before encrypting (amount is merged). */
  transaction?: Partial<WechatTransaction>;
}

export interface SignOptions {
  timestampOffsetSeconds?: number;
  serial?: string;
  badSignature?: boolean;
  signature?: string;
}

export interface FakeWechatPayOptions {
  mchId?: string;
  appId?: string;
  notifyUrl?: string;
  /** The fake's clock (ms). */
  now?: () => number;
}

const TRADE_STATE_DESC: Record<WechatTradeState, string> = {
  SUCCESS: '支付成功',
  REFUND: '转入退款',
  NOTPAY: '未支付',
  CLOSED: '已关闭',
  REVOKED: '已撤销',
  USERPAYING: '用户支付中',
  PAYERROR: '支付失败',
};

const OUT_TRADE_NO = /^[A-Za-z0-9_*-]{6,32}$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?[+-]\d{2}:\d{2}$/;

const digits = (n: number) => Array.from({ length: n }, () => randomInt(10)).join('');
const beijingTime = (ms: number) => `${new Date(ms + 8 * 3600_000).toISOString().slice(0, 19)}+08:00`;
const pemOf = (key: KeyObject, type: 'pkcs8' | 'spki') => key.export({ type, format: 'pem' }).toString();

/**
 * A fake of the WeChat Pay API v3 (public-key mode, Native payments), strict like the real one:
 * it verifies our Authorization signature with the merchant public key, validates order bodies,
 * and signs every answer with its platform key (the four Wechatpay-* headers). Keys, serials and
 * the APIv3 key are generated fresh for each fake.
 */
export async function startFakeWechatPay(options: FakeWechatPayOptions = {}) {
  const [platform, merchant] = await Promise.all([generateRsa('rsa', { modulusLength: 2048 }), generateRsa('rsa', { modulusLength: 2048 })]);
  const mchId = options.mchId ?? FAKE_WECHATPAY_MCHID;
  const appId = options.appId ?? FAKE_WECHATPAY_APP_ID;
  const notifyUrl = options.notifyUrl ?? FAKE_WECHATPAY_NOTIFY_URL;
  const publicKeyId = `PUB_KEY_ID_${randomBytes(14).toString('hex').toUpperCase()}`;
  const merchantSerial = randomBytes(20).toString('hex').toUpperCase();
  const apiV3Key = randomBytes(16).toString('hex');
  const now = options.now ?? Date.now;
  const publicKeyPem = pemOf(platform.publicKey, 'spki');
  const merchantPrivateKeyPem = pemOf(merchant.privateKey, 'pkcs8');

  const orders = new Map<string, FakeWechatPayOrder>();
  const calls: FakeWechatPayCall[] = [];
  const failures: FakeWechatPayFailure[] = [];

  /** The four Wechatpay-* headers for a body, signed like WeChat Pay: `${timestamp}\n${nonce}\n${body}\n`. */
  function signBody(body: string, opts: SignOptions = {}): Record<string, string> {
    const timestamp = String(Math.floor(now() / 1000) + (opts.timestampOffsetSeconds ?? 0));
    const nonce = randomBytes(16).toString('hex').toUpperCase();
    // A bad signature is a genuine one over a different message, so only the body check can catch it.
    const message = `${timestamp}\n${nonce}\n${body}${opts.badSignature ? ' ' : ''}\n`;
    return {
      'Wechatpay-Timestamp': timestamp,
      'Wechatpay-Nonce': nonce,
      'Wechatpay-Signature': opts.signature ?? sign('sha256', Buffer.from(message), platform.privateKey).toString('base64'),
      'Wechatpay-Serial': opts.serial ?? publicKeyId,
    };
  }

  /** What is wrong with our Authorization header, or null. */
  function authProblem(req: IncomingMessage, body: string): string | null {
    const match = /^WECHATPAY2-SHA256-RSA2048 (.+)$/.exec(req.headers.authorization ?? '');
    if (!match) return 'Authorization 头格式错误';
    const params = Object.fromEntries(Array.from(match[1].matchAll(/(\w+)="([^"]*)"/g), (m) => [m[1], m[2]]));
    if (params.mchid !== mchId) return 'Authorization 中的商户号与请求不符';
    if (params.serial_no !== merchantSerial) return '商户证书序列号有误';
    if (!/^\d+$/.test(params.timestamp ?? '') || Math.abs(now() / 1000 - Number(params.timestamp)) > 300) return '请求时间戳已过期';
    const message = `${req.method}\n${req.url}\n${params.timestamp}\n${params.nonce_str}\n${body}\n`;
    const ok = verify('sha256', Buffer.from(message), merchant.publicKey, Buffer.from(params.signature ?? '', 'base64'));
    return ok ? null : '错误的签名，验签失败';
  }

  function transactionOf(order: FakeWechatPayOrder): WechatTransaction & Record<string, unknown> {
    const paid = order.trade_state === 'SUCCESS';
    const total = order.paid_total ?? order.total;
    const amount = { total, currency: 'CNY', payer_currency: 'CNY', ...(paid ? { payer_total: total } : {}) };
    return {
      appid: order.appid,
      mchid: order.mchid,
      out_trade_no: order.out_trade_no,
      ...(order.transaction_id ? { transaction_id: order.transaction_id } : {}),
      trade_type: 'NATIVE',
      trade_state: order.trade_state,
      trade_state_desc: TRADE_STATE_DESC[order.trade_state],
      ...(paid ? { bank_type: 'OTHERS', success_time: order.success_time, payer: { openid: order.payer_openid } } : {}),
      attach: '',
      amount,
    };
  }

  function pay(outTradeNo: string, opts: { total?: number } = {}): FakeWechatPayOrder {
    const order = orders.get(outTradeNo);
    if (!order) throw new Error(`fake WeChat Pay: no order ${outTradeNo}`);
    if (order.trade_state === 'CLOSED') throw new Error(`fake WeChat Pay: order ${outTradeNo} is closed`);
    if (order.trade_state !== 'SUCCESS') {
      order.trade_state = 'SUCCESS';
      order.transaction_id = `4200${digits(24)}`;
      order.success_time = beijingTime(now());
      order.payer_openid = `oFake${randomBytes(12).toString('base64url')}`;
    }
    if (opts.total !== undefined) order.paid_total = opts.total;
    return order;
  }

  function createOrder(raw: unknown): [number, object] {
    const body = fields(raw);
    if (body.appid !== appId || body.mchid !== mchId) return [400, { code: 'INVALID_REQUEST', message: 'appid和mch_id不匹配' }];
    const amount = fields(body.amount);
    const total = amount.total;
    if (typeof total !== 'number' || !Number.isSafeInteger(total) || total < 1) return [400, { code: 'PARAM_ERROR', message: '输入源“/body/amount/total”映射到值字段“总金额”字段值有误' }];
    if (amount.currency !== undefined && amount.currency !== 'CNY') return [400, { code: 'PARAM_ERROR', message: '币种有误' }];
    if (typeof body.out_trade_no !== 'string' || !OUT_TRADE_NO.test(body.out_trade_no)) return [400, { code: 'PARAM_ERROR', message: '商户订单号有误' }];
    if (typeof body.description !== 'string' || !body.description || Array.from(body.description).length > 127) return [400, { code: 'PARAM_ERROR', message: '商品描述有误' }];
    if (typeof body.notify_url !== 'string' || !body.notify_url.startsWith('https://')) return [400, { code: 'PARAM_ERROR', message: '通知地址有误' }];
    if (body.time_expire !== undefined && (typeof body.time_expire !== 'string' || !RFC3339.test(body.time_expire))) return [400, { code: 'PARAM_ERROR', message: '订单失效时间格式有误' }];

    const existing = orders.get(body.out_trade_no);
    if (existing) {
      // Like WeChat Pay: repeating the same order gives the same code_url; changing it is refused.
      if (existing.total !== total || existing.description !== body.description) return [400, { code: 'INVALID_REQUEST', message: '201 商户订单号重复' }];
      if (existing.trade_state === 'SUCCESS') return [400, { code: 'ORDERPAID', message: '该订单已支付' }];
      if (existing.trade_state === 'CLOSED') return [400, { code: 'ORDER_CLOSED', message: '该订单已关闭' }];
      return [200, { code_url: existing.code_url }];
    }
    const order: FakeWechatPayOrder = {
      appid: appId,
      mchid: mchId,
      out_trade_no: body.out_trade_no,
      description: body.description,
      notify_url: body.notify_url,
      time_expire: body.time_expire,
      total,
      code_url: `weixin://wxpay/bizpayurl?pr=${randomBytes(6).toString('base64url')}`,
      trade_state: 'NOTPAY',
    };
    orders.set(order.out_trade_no, order);
    return [200, { code_url: order.code_url }];
  }

  function route(method: string, url: URL, body: unknown): [number, object?] {
    if (method === 'POST' && url.pathname === '/v3/pay/transactions/native') return createOrder(body);
    const match = /^\/v3\/pay\/transactions\/out-trade-no\/([^/]+)(\/close)?$/.exec(url.pathname);
    if (!match) return [404, { code: 'NOT_FOUND', message: '请求的资源不存在' }];
    const order = orders.get(decodeURIComponent(match[1]));
    if (method === 'GET' && !match[2]) {
      if (url.searchParams.get('mchid') !== mchId) return [400, { code: 'PARAM_ERROR', message: 'mchid有误' }];
      return order ? [200, transactionOf(order)] : [404, { code: 'ORDER_NOT_EXIST', message: '订单不存在' }];
    }
    if (method === 'POST' && match[2]) {
      if (fields(body).mchid !== mchId) return [400, { code: 'PARAM_ERROR', message: 'mchid有误' }];
      if (!order) return [404, { code: 'ORDER_NOT_EXIST', message: '订单不存在' }];
      if (order.trade_state === 'SUCCESS') return [400, { code: 'ORDERPAID', message: '该订单已支付' }];
      order.trade_state = 'CLOSED';
      return [204];
    }
    return [405, { code: 'METHOD_NOT_ALLOWED', message: '不支持的请求方法' }];
  }

  const fake = await listenFake((req, res, raw) => {
    const bodyText = raw.toString('utf8');
    let body: unknown;
    try {
      body = bodyText ? JSON.parse(bodyText) : undefined;
    } catch {
      body = bodyText;
    }
    const problem = authProblem(req, bodyText);
    calls.push({ method: req.method ?? '', path: req.url ?? '', body, headers: req.headers, signatureValid: !problem });
    const failure = failures.shift();
    if (failure === 'hang') return; // never answers; close() drops the socket

    const reply = (status: number, payload?: object) => {
      const text = payload === undefined ? '' : JSON.stringify(payload);
      res.writeHead(status, {
        ...signBody(text, { badSignature: failure === 'badResponseSignature' }),
        'Request-ID': `08${digits(10)}-${randomBytes(8).toString('hex').toUpperCase()}`,
        ...(text ? { 'Content-Type': 'application/json; charset=utf-8' } : {}),
      });
      res.end(text);
    };
    if (failure === 'http500') return reply(500, { code: 'SYSTEM_ERROR', message: '系统错误' });
    if (problem) return reply(401, { code: 'SIGN_ERROR', message: problem });
    const [status, payload] = route(req.method ?? '', new URL(req.url ?? '/', 'http://fake'), body);
    reply(status, payload);
  });

  let events = 0;
  return {
    ...fake,
    mchId,
    appId,
    publicKeyId,
    /** WeChat Pay's public key, SPKI PEM. */
    publicKeyPem,
    merchantSerial,
    /** The merchant private key our app is configured with, PKCS#8 PEM. */
    merchantPrivateKeyPem,
    apiV3Key,
    orders,
    calls,
    signBody,
    /** The user pays: the order becomes SUCCESS. `total` is the amount WeChat then reports as paid. */
    pay,
    /**
     * The TRANSACTION.SUCCESS notification WeChat Pay would POST to notify_url for this order
     * (paying it first if needed), signed and encrypted, with the transaction it encrypted.
     */
    notification(outTradeNo: string, tamper: NotificationTamper = {}): { headers: Record<string, string>; body: string; transaction: WechatTransaction } {
      const order = orders.get(outTradeNo);
      if (order && order.trade_state !== 'SUCCESS') pay(outTradeNo);
      // An order the fake never saw still gets a notification, for "unknown order" tests.
      const base: WechatTransaction = order
        ? transactionOf(order)
        : { appid: appId, mchid: mchId, out_trade_no: outTradeNo, transaction_id: `4200${digits(24)}`, trade_state: 'SUCCESS', success_time: beijingTime(now()), amount: { total: 1, payer_total: 1, currency: 'CNY' } };
      const override = tamper.transaction ?? {};
      const transaction: WechatTransaction = { ...base, ...override, amount: { ...base.amount, ...override.amount } };

      const nonce = randomBytes(6).toString('hex');
      const cipher = createCipheriv('aes-256-gcm', Buffer.from(apiV3Key, 'utf8'), Buffer.from(nonce, 'utf8'));
      cipher.setAAD(Buffer.from('transaction', 'utf8'));
      const sealed = Buffer.concat([cipher.update(JSON.stringify(transaction), 'utf8'), cipher.final(), cipher.getAuthTag()]);
      if (tamper.tamperCiphertext) sealed[0] ^= 0x01;

      const body = JSON.stringify({
        id: `EV-${Date.now()}${++events}`,
        create_time: beijingTime(now()),
        resource_type: 'encrypt-resource',
        event_type: 'TRANSACTION.SUCCESS',
        summary: '支付成功',
        resource: { original_type: 'transaction', algorithm: 'AEAD_AES_256_GCM', ciphertext: sealed.toString('base64'), associated_data: 'transaction', nonce },
      });
      const headers = {
        ...signBody(body, {
          timestampOffsetSeconds: tamper.timestampOffsetSeconds,
          serial: tamper.serial,
          badSignature: tamper.badSignature,
          signature: tamper.signtest ? `WECHATPAY/SIGNTEST/${randomBytes(32).toString('base64')}` : undefined,
        }),
        'Wechatpay-Signature-Type': 'WECHATPAY2-SHA256-RSA2048',
        'Content-Type': 'application/json',
      };
      return { headers, body, transaction };
    },
    /** Make the next request (whatever it is) fail this way. */
    nextFailure(kind: FakeWechatPayFailure): void {
      failures.push(kind);
    },
    config(): WechatPayConfig {
      return {
        mchId,
        appId,
        serialNo: merchantSerial,
        privateKey: merchantPrivateKeyPem,
        publicKey: publicKeyPem,
        publicKeyId,
        apiV3Key,
        notifyUrl,
        baseUrl: fake.url,
      };
    },
    env(): Record<string, string> {
      return {
        WECHATPAY_MCHID: mchId,
        WECHATPAY_APP_ID: appId,
        WECHATPAY_SERIAL_NO: merchantSerial,
        WECHATPAY_PRIVATE_KEY: merchantPrivateKeyPem,
        WECHATPAY_PUBLIC_KEY: publicKeyPem,
        WECHATPAY_PUBLIC_KEY_ID: publicKeyId,
        WECHATPAY_APIV3_KEY: apiV3Key,
        WECHATPAY_NOTIFY_URL: notifyUrl,
        WECHATPAY_BASE_URL: fake.url,
      };
    },
  };
}

export type FakeWechatPay = Awaited<ReturnType<typeof startFakeWechatPay>>;

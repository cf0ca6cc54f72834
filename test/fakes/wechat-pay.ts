import { createCipheriv, createHash, generateKeyPair, randomBytes, randomInt, sign, verify, type KeyObject } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { promisify } from 'node:util';
import type { WechatPayConfig, WechatRefundStatus, WechatTradeState, WechatTransaction } from '../../src/payments/wechat-pay.client';
import { listenFake } from './http-fake';
import { type FakeBillRow, wechatTradeBillCsv } from './provider-bills';
import { selfSignedCertificate } from './x509';

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
  trade_type: 'NATIVE' | 'JSAPI' | 'MWEB';
  /** JSAPI: the payer named by the order; H5: the IP the order was placed for. */
  prepay_id?: string;
  h5_url?: string;
  payer_client_ip?: string;
}

export interface FakeWechatRefund {
  out_refund_no: string;
  refund_id: string;
  out_trade_no: string;
  transaction_id?: string;
  reason?: string;
  refund: number;
  total: number;
  status: WechatRefundStatus;
  success_time?: string;
  create_time: string;
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
  /** Signed with the platform certificate's key and serial (the older verification mode) instead of the public key. */
  platformCert?: boolean;
}

export interface SignOptions {
  timestampOffsetSeconds?: number;
  serial?: string;
  badSignature?: boolean;
  signature?: string;
  platformCert?: boolean;
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
  const [platform, merchant, certKeys] = await Promise.all([0, 1, 2].map(() => generateRsa('rsa', { modulusLength: 2048 })));
  // The platform certificate WeChat Pay signed with before its public key: another key, named by the certificate's serial.
  const platformCertSerial = randomBytes(20).toString('hex').toUpperCase().replace(/^[089A-F]/, '1');
  const platformCertPem = selfSignedCertificate({ serialHex: platformCertSerial, commonName: 'Tenpay.com Root CA', keys: certKeys });
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
  const refunds = new Map<string, FakeWechatRefund>();
  /** Trade bills by bill_date (yyyy-MM-dd); `billHashTampered` makes tradebill answer a wrong hash_value. */
  const tradeBills = new Map<string, FakeBillRow[]>();
  const billOptions = { billHashTampered: false };
  const billFiles = new Map<string, string>();
  /** How a new refund answers: PROCESSING (then `settleRefund` and a notification), or SUCCESS at once. */
  const refundBehaviour: { answer: 'PROCESSING' | 'SUCCESS' } = { answer: 'PROCESSING' };
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
      'Wechatpay-Signature': opts.signature ?? sign('sha256', Buffer.from(message), opts.platformCert ? certKeys.privateKey : platform.privateKey).toString('base64'),
      'Wechatpay-Serial': opts.serial ?? (opts.platformCert ? platformCertSerial : publicKeyId),
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
      trade_type: order.trade_type,
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

  function createOrder(raw: unknown, tradeType: FakeWechatPayOrder['trade_type']): [number, object] {
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
    const openid = fields(body.payer).openid;
    if (tradeType === 'JSAPI' && (typeof openid !== 'string' || !/^[A-Za-z0-9_-]{6,128}$/.test(openid))) return [400, { code: 'PARAM_ERROR', message: '输入源“/body/payer/openid”映射到值字段“用户标识”字段值有误' }];
    const scene = fields(body.scene_info);
    const ip = scene.payer_client_ip;
    if (tradeType === 'MWEB' && (typeof ip !== 'string' || !/^[0-9a-fA-F.:]{3,45}$/.test(ip))) return [400, { code: 'PARAM_ERROR', message: '输入源“/body/scene_info/payer_client_ip”映射到值字段“用户终端IP”字段值有误' }];
    if (tradeType === 'MWEB' && !['iOS', 'Android', 'Wap'].includes(String(fields(scene.h5_info).type))) return [400, { code: 'PARAM_ERROR', message: '场景类型有误' }];
    const answerOf = (o: FakeWechatPayOrder) => (o.trade_type === 'JSAPI' ? { prepay_id: o.prepay_id } : o.trade_type === 'MWEB' ? { h5_url: o.h5_url } : { code_url: o.code_url });

    const existing = orders.get(body.out_trade_no);
    if (existing) {
      // Like WeChat Pay: repeating the same order gives the same code_url; changing it is refused.
      if (existing.total !== total || existing.description !== body.description || existing.trade_type !== tradeType) return [400, { code: 'INVALID_REQUEST', message: '201 商户订单号重复' }];
      if (existing.trade_state === 'SUCCESS') return [400, { code: 'ORDERPAID', message: '该订单已支付' }];
      if (existing.trade_state === 'CLOSED') return [400, { code: 'ORDER_CLOSED', message: '该订单已关闭' }];
      return [200, answerOf(existing)];
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
      trade_type: tradeType,
      ...(tradeType === 'JSAPI' ? { prepay_id: `wx${digits(12)}${randomBytes(8).toString('hex')}`, payer_openid: String(openid) } : {}),
      ...(tradeType === 'MWEB' ? { h5_url: `https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=wx${digits(12)}&package=${digits(10)}`, payer_client_ip: String(ip) } : {}),
    };
    orders.set(order.out_trade_no, order);
    return [200, answerOf(order)];
  }

  function refundOf(r: FakeWechatRefund): Record<string, unknown> {
    return {
      refund_id: r.refund_id,
      out_refund_no: r.out_refund_no,
      transaction_id: r.transaction_id,
      out_trade_no: r.out_trade_no,
      channel: 'ORIGINAL',
      user_received_account: '支付用户零钱',
      ...(r.success_time ? { success_time: r.success_time } : {}),
      create_time: r.create_time,
      status: r.status,
      funds_account: 'AVAILABLE',
      amount: { total: r.total, refund: r.refund, payer_total: r.total, payer_refund: r.refund, settlement_refund: r.refund, settlement_total: r.total, discount_refund: 0, currency: 'CNY', refund_fee: 0 },
    };
  }

  /** POST /v3/refund/domestic/refunds, as strict as WeChat Pay: the order must be paid, refunds never add up to more than it. */
  function createRefund(raw: unknown): [number, object] {
    const body = fields(raw);
    const amount = fields(body.amount);
    if (typeof body.out_refund_no !== 'string' || !/^[A-Za-z0-9_*@|-]{1,64}$/.test(body.out_refund_no)) return [400, { code: 'PARAM_ERROR', message: '商户退款单号有误' }];
    if (typeof amount.refund !== 'number' || !Number.isSafeInteger(amount.refund) || amount.refund < 1) return [400, { code: 'PARAM_ERROR', message: '退款金额有误' }];
    if (amount.currency !== 'CNY') return [400, { code: 'PARAM_ERROR', message: '币种有误' }];
    if (body.reason !== undefined && (typeof body.reason !== 'string' || Array.from(body.reason).length > 80)) return [400, { code: 'PARAM_ERROR', message: '退款原因有误' }];
    if (body.notify_url !== undefined && (typeof body.notify_url !== 'string' || !body.notify_url.startsWith('https://'))) return [400, { code: 'PARAM_ERROR', message: '通知地址有误' }];
    const order = typeof body.out_trade_no === 'string' ? orders.get(body.out_trade_no) : undefined;
    if (!order) return [404, { code: 'RESOURCE_NOT_EXISTS', message: '订单不存在' }];
    const existing = refunds.get(body.out_refund_no);
    if (existing) {
      // The same out_refund_no is the same refund: answered again, never made twice.
      if (existing.refund !== amount.refund || existing.out_trade_no !== order.out_trade_no) return [400, { code: 'INVALID_REQUEST', message: '退款单号重复但参数不一致' }];
      return [200, refundOf(existing)];
    }
    if (order.trade_state !== 'SUCCESS' && order.trade_state !== 'REFUND') return [400, { code: 'INVALID_REQUEST', message: '订单未支付' }];
    const paid = order.paid_total ?? order.total;
    if (amount.total !== paid) return [400, { code: 'PARAM_ERROR', message: '订单金额与原订单不符' }];
    const refunded = Array.from(refunds.values()).filter((r) => r.out_trade_no === order.out_trade_no && r.status !== 'CLOSED' && r.status !== 'ABNORMAL').reduce((n, r) => n + r.refund, 0);
    if (refunded + amount.refund > paid) return [400, { code: 'INVALID_REQUEST', message: '申请退款金额超过订单可退金额' }];
    const refund: FakeWechatRefund = {
      out_refund_no: body.out_refund_no,
      refund_id: `50${digits(30)}`,
      out_trade_no: order.out_trade_no,
      transaction_id: order.transaction_id,
      reason: typeof body.reason === 'string' ? body.reason : undefined,
      refund: amount.refund,
      total: paid,
      status: 'PROCESSING',
      create_time: beijingTime(now()),
    };
    refunds.set(refund.out_refund_no, refund);
    if (refundBehaviour.answer === 'SUCCESS') settleRefund(refund.out_refund_no, 'SUCCESS');
    return [200, refundOf(refund)];
  }

  /** The refund reaches its end at WeChat Pay (then `refundNotification` tells the merchant). */
  function settleRefund(outRefundNo: string, status: WechatRefundStatus = 'SUCCESS'): FakeWechatRefund {
    const refund = refunds.get(outRefundNo);
    if (!refund) throw new Error(`fake WeChat Pay: no refund ${outRefundNo}`);
    refund.status = status;
    if (status === 'SUCCESS') {
      refund.success_time = beijingTime(now());
      const order = orders.get(refund.out_trade_no);
      if (order) order.trade_state = 'REFUND';
    }
    return refund;
  }

  /** AEAD_AES_256_GCM with the APIv3 key, as WeChat Pay seals notification resources. */
  function seal(plaintext: object, aad: string, tamper = false) {
    const nonce = randomBytes(6).toString('hex');
    const cipher = createCipheriv('aes-256-gcm', Buffer.from(apiV3Key, 'utf8'), Buffer.from(nonce, 'utf8'));
    cipher.setAAD(Buffer.from(aad, 'utf8'));
    const sealed = Buffer.concat([cipher.update(JSON.stringify(plaintext), 'utf8'), cipher.final(), cipher.getAuthTag()]);
    if (tamper) sealed[0] ^= 0x01;
    return { algorithm: 'AEAD_AES_256_GCM', ciphertext: sealed.toString('base64'), associated_data: aad, nonce };
  }

  /** GET /v3/bill/tradebill: where to download the day's bill and its SHA1 (the file itself is served unsigned). */
  function tradeBill(url: URL): [number, object?] {
    const billDate = url.searchParams.get('bill_date') ?? '';
    const rows = tradeBills.get(billDate);
    if (!rows) return [400, { code: 'NO_STATEMENT_EXIST', message: '账单文件不存在' }];
    const csv = wechatTradeBillCsv(rows, { appId, mchId, billDate });
    const token = randomBytes(12).toString('hex');
    billFiles.set(token, csv);
    const hash = createHash('sha1').update(csv).digest('hex');
    return [200, { hash_type: 'SHA1', hash_value: billOptions.billHashTampered ? hash.replace(/^./, (c) => (c === '0' ? '1' : '0')) : hash, download_url: `${fake.url}/v3/billdownload/file?token=${token}` }];
  }

  function route(method: string, url: URL, body: unknown): [number, object?] {
    if (method === 'POST' && url.pathname === '/v3/pay/transactions/native') return createOrder(body, 'NATIVE');
    if (method === 'POST' && url.pathname === '/v3/pay/transactions/jsapi') return createOrder(body, 'JSAPI');
    if (method === 'POST' && url.pathname === '/v3/pay/transactions/h5') return createOrder(body, 'MWEB');
    if (method === 'POST' && url.pathname === '/v3/refund/domestic/refunds') return createRefund(body);
    const refundMatch = /^\/v3\/refund\/domestic\/refunds\/([^/]+)$/.exec(url.pathname);
    if (method === 'GET' && refundMatch) {
      const refund = refunds.get(decodeURIComponent(refundMatch[1]));
      return refund ? [200, refundOf(refund)] : [404, { code: 'RESOURCE_NOT_EXISTS', message: '退款单不存在' }];
    }
    if (method === 'GET' && url.pathname === '/v3/bill/tradebill') return tradeBill(url);
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
    const requested = new URL(req.url ?? '/', 'http://fake');
    if (req.method === 'GET' && requested.pathname === '/v3/billdownload/file') {
      const file = billFiles.get(requested.searchParams.get('token') ?? '');
      if (file === undefined) return reply(400, { code: 'INVALID_REQUEST', message: '下载token无效' });
      return void res.writeHead(200, { 'Content-Type': 'text/csv; charset=utf-8' }).end(file);
    }
    const [status, payload] = route(req.method ?? '', requested, body);
    reply(status, payload);
  });

  /** The Wechatpay-* headers WeChat Pay sends with a notification body. */
  function notifyHeaders(body: string, tamper: NotificationTamper): Record<string, string> {
    return {
      ...signBody(body, {
        timestampOffsetSeconds: tamper.timestampOffsetSeconds,
        serial: tamper.serial,
        badSignature: tamper.badSignature,
        signature: tamper.signtest ? `WECHATPAY/SIGNTEST/${randomBytes(32).toString('base64')}` : undefined,
        platformCert: tamper.platformCert,
      }),
      'Wechatpay-Signature-Type': 'WECHATPAY2-SHA256-RSA2048',
      'Content-Type': 'application/json',
    };
  }

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
    /** Trade bills by bill_date: the rows WeChat Pay lists for that day. */
    tradeBills,
    billOptions,
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

      const body = JSON.stringify({
        id: `EV-${Date.now()}${++events}`,
        create_time: beijingTime(now()),
        resource_type: 'encrypt-resource',
        event_type: 'TRANSACTION.SUCCESS',
        summary: '支付成功',
        resource: { original_type: 'transaction', ...seal(transaction, 'transaction', tamper.tamperCiphertext) },
      });
      return { headers: notifyHeaders(body, tamper), body, transaction };
    },
    refunds,
    /** How new refunds answer (PROCESSING by default, as WeChat Pay mostly does). */
    refundBehaviour,
    settleRefund,
    /**
     * The REFUND.* notification for a refund in its current state (SUCCESS, ABNORMAL, CLOSED),
     * signed and sealed like WeChat Pay's (resource original_type `refund`). `refund` overrides fields.
     */
    refundNotification(outRefundNo: string, opts: { refund?: Record<string, unknown>; platformCert?: boolean } = {}): { headers: Record<string, string>; body: string } {
      const refund = refunds.get(outRefundNo);
      if (!refund) throw new Error(`fake WeChat Pay: no refund ${outRefundNo}`);
      const resource = {
        mchid: mchId,
        out_trade_no: refund.out_trade_no,
        transaction_id: refund.transaction_id,
        out_refund_no: refund.out_refund_no,
        refund_id: refund.refund_id,
        refund_status: refund.status,
        ...(refund.success_time ? { success_time: refund.success_time } : {}),
        user_received_account: '支付用户零钱',
        amount: { total: refund.total, refund: refund.refund, payer_total: refund.total, payer_refund: refund.refund },
        ...opts.refund,
      };
      const summary = { SUCCESS: '退款成功', ABNORMAL: '退款异常', CLOSED: '退款关闭', PROCESSING: '退款处理中' }[refund.status];
      const body = JSON.stringify({
        id: `EV-${Date.now()}${++events}`,
        create_time: beijingTime(now()),
        resource_type: 'encrypt-resource',
        event_type: `REFUND.${refund.status}`,
        summary,
        resource: { original_type: 'refund', ...seal(resource, 'refund') },
      });
      return { headers: notifyHeaders(body, { platformCert: opts.platformCert }), body };
    },
    /** The platform certificate (PEM) and its serial, as WECHATPAY_PLATFORM_CERT(_SERIAL) hold them. */
    platformCertPem,
    platformCertSerial,
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
    /** The settings that add the platform certificate as a second verification key. */
    platformCertEnv(): Record<string, string> {
      return { WECHATPAY_PLATFORM_CERT_SERIAL: platformCertSerial, WECHATPAY_PLATFORM_CERT: platformCertPem };
    },
  };
}

export type FakeWechatPay = Awaited<ReturnType<typeof startFakeWechatPay>>;

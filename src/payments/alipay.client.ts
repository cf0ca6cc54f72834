import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { AlipayRequestError, AlipaySdk, type AlipaySdkCommonResult } from 'alipay-sdk';
import { providerReason, UpstreamError } from '../core/errors';
import { fenToYuanString, yuanStringToFen } from './money';
import { withSpan } from '../core/trace';

export interface AlipayConfig {
  appId: string;
  /** App private key: PKCS#1 ("BEGIN RSA PRIVATE KEY") or PKCS#8 PEM (a bare base64 body works too). */
  privateKey: string;
  /** Alipay public key: SPKI PEM, or the bare base64 body Alipay's console shows. */
  publicKey: string;
  notifyUrl: string;
  returnUrl?: string;
  /** e.g. https://openapi.alipay.com/gateway.do */
  gateway: string;
}

export type AlipayTradeStatus = 'WAIT_BUYER_PAY' | 'TRADE_CLOSED' | 'TRADE_SUCCESS' | 'TRADE_FINISHED';

export interface AlipayTrade {
  outTradeNo: string;
  tradeNo?: string;
  status: AlipayTradeStatus;
  totalAmountFen: number;
  paidAt?: Date;
}

export interface AlipayNotification extends AlipayTrade {
  appId: string;
  /** Set when the app acts for another merchant by authorisation (then it is the merchant's app id). */
  authAppId?: string;
  sellerId?: string;
  notifyId: string;
  /** Refund notifications: our out_request_no of the refund. */
  outBizNo?: string;
}

/** A refund as Alipay confirms it: done (with the total refunded of the trade when it says), or not (yet). */
export type AlipayRefundResult = { done: true; tradeNo?: string } | { done: false };

const TRADE_STATUSES: readonly string[] = ['WAIT_BUYER_PAY', 'TRADE_CLOSED', 'TRADE_SUCCESS', 'TRADE_FINISHED'];
/** Alipay's answer when it has never seen the out_trade_no (nobody opened the pay page yet). */
const TRADE_NOT_EXIST = 'ACQ.TRADE_NOT_EXIST';

/** The classic OpenAPI (gateway.do) through the official SDK: RSA2 both ways, every answer's signature checked. */
export class AlipayClient {
  private readonly sdk: AlipaySdk;
  private readonly timeoutMs: number;

  constructor(
    private readonly config: AlipayConfig,
    options: { timeoutMs?: number } = {},
  ) {
    const { privateKey, keyType } = normalisePrivateKey(config.privateKey);
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.sdk = new AlipaySdk({
      appId: config.appId,
      privateKey,
      keyType,
      alipayPublicKey: normalisePublicKey(config.publicKey),
      gateway: config.gateway,
      signType: 'RSA2',
      timeout: this.timeoutMs,
      // Keep Alipay's own snake_case field names, as in its documentation.
      camelcase: false,
    });
  }

  pagePayUrl(input: { outTradeNo: string; subject: string; amountFen: number; expiresAt: Date }): string {
    return this.sdk.pageExecute('alipay.trade.page.pay', 'GET', {
      bizContent: {
        out_trade_no: input.outTradeNo,
        product_code: 'FAST_INSTANT_TRADE_PAY',
        total_amount: fenToYuanString(input.amountFen),
        subject: input.subject,
        time_expire: formatBeijingTime(input.expiresAt),
      },
      notifyUrl: this.config.notifyUrl,
      timestamp: formatBeijingTime(new Date()),
      ...(this.config.returnUrl ? { returnUrl: this.config.returnUrl } : {}),
    });
  }

  /** alipay.trade.wap.pay: the phone-browser cashier, opened with GET. */
  wapPayUrl(input: { outTradeNo: string; subject: string; amountFen: number; expiresAt: Date }): string {
    return this.sdk.pageExecute('alipay.trade.wap.pay', 'GET', {
      bizContent: {
        out_trade_no: input.outTradeNo,
        product_code: 'QUICK_WAP_WAY',
        total_amount: fenToYuanString(input.amountFen),
        subject: input.subject,
        time_expire: formatBeijingTime(input.expiresAt),
        ...(this.config.returnUrl ? { quit_url: this.config.returnUrl } : {}),
      },
      notifyUrl: this.config.notifyUrl,
      timestamp: formatBeijingTime(new Date()),
      ...(this.config.returnUrl ? { returnUrl: this.config.returnUrl } : {}),
    });
  }

  /**
   * alipay.trade.refund, synchronous. `fund_change: Y` means this call moved the money; `N`
   * means it did not (a repeat of an earlier call with the same out_request_no, or not done):
   * then the refund query says which.
   */
  async refund(input: { outTradeNo: string; outRequestNo: string; amountFen: number; reason: string }): Promise<AlipayRefundResult> {
    const res = await this.exec('alipay.trade.refund', {
      out_trade_no: input.outTradeNo,
      out_request_no: input.outRequestNo,
      refund_amount: fenToYuanString(input.amountFen),
      refund_reason: Array.from(input.reason).slice(0, 256).join(''),
    });
    if (res.code !== '10000') throw businessError('refund', res);
    if (res.out_trade_no !== undefined && res.out_trade_no !== input.outTradeNo) throw new UpstreamError('Alipay answered the refund about another trade', { reason: 'ALIPAY_BAD_ANSWER' });
    if (res.fund_change === 'Y') return { done: true, ...(typeof res.trade_no === 'string' ? { tradeNo: res.trade_no } : {}) };
    return this.queryRefund(input.outTradeNo, input.outRequestNo);
  }

  /**
   * alipay.trade.fastpay.refund.query. Code 10000 only means the query worked: the refund is
   * done when the answer carries it (refund_status REFUND_SUCCESS, or for synchronous refunds
   * no refund_status but the refund's amount); otherwise Alipay has not made it.
   */
  async queryRefund(outTradeNo: string, outRequestNo: string): Promise<AlipayRefundResult> {
    const res = await this.exec('alipay.trade.fastpay.refund.query', { out_trade_no: outTradeNo, out_request_no: outRequestNo });
    if (res.code !== '10000') {
      if (res.sub_code === TRADE_NOT_EXIST) return { done: false };
      throw businessError('refund query', res);
    }
    const status = res.refund_status;
    const amount = typeof res.refund_amount === 'string' ? yuanStringToFen(res.refund_amount) : null;
    const done = status === 'REFUND_SUCCESS' || ((status === undefined || status === '') && amount !== null && amount > 0);
    if (done && res.out_request_no !== undefined && res.out_request_no !== outRequestNo) throw new UpstreamError('Alipay answered the refund query about another refund', { reason: 'ALIPAY_BAD_ANSWER' });
    return done ? { done: true, ...(typeof res.trade_no === 'string' ? { tradeNo: res.trade_no } : {}) } : { done: false };
  }

  async queryTrade(outTradeNo: string): Promise<AlipayTrade | null> {
    const res = await this.exec('alipay.trade.query', { out_trade_no: outTradeNo });
    if (res.code !== '10000') {
      if (res.sub_code === TRADE_NOT_EXIST) return null;
      throw businessError('trade query', res);
    }
    const trade = parseTrade(res, 'send_pay_date');
    if (!trade || trade.outTradeNo !== outTradeNo) {
      throw new UpstreamError('Alipay answered the trade query with an unexpected trade', { reason: 'ALIPAY_BAD_ANSWER' });
    }
    return trade;
  }

  async closeTrade(outTradeNo: string): Promise<void> {
    const res = await this.exec('alipay.trade.close', { out_trade_no: outTradeNo });
    // A trade Alipay never saw has nothing to close: the order can simply be dropped.
    if (res.code === '10000' || res.sub_code === TRADE_NOT_EXIST) return;
    throw businessError('trade close', res);
  }

  /** alipay.data.dataservice.bill.downloadurl.query (bill_type trade), then the zip of GBK CSVs at the URL it answers (valid 30 seconds). */
  async downloadTradeBill(billDate: string): Promise<Buffer> {
    const res = await this.exec('alipay.data.dataservice.bill.downloadurl.query', { bill_type: 'trade', bill_date: billDate });
    if (res.code !== '10000') throw businessError('bill download URL query', res);
    if (typeof res.bill_download_url !== 'string' || !res.bill_download_url) throw new UpstreamError('Alipay answered the bill query without a URL', { reason: 'ALIPAY_BAD_ANSWER' });
    try {
      const file = await fetch(res.bill_download_url, { signal: AbortSignal.timeout(this.timeoutMs) });
      if (file.status !== 200) throw new UpstreamError(`Alipay's bill download answered HTTP ${file.status}`, { reason: 'ALIPAY_HTTP_ERROR' });
      return Buffer.from(await file.arrayBuffer());
    } catch (err) {
      if (err instanceof UpstreamError) throw err;
      throw new UpstreamError('Alipay could not be reached for the bill download (timeout or network)', { reason: 'ALIPAY_UNAVAILABLE' });
    }
  }

  verifyNotification(form: Record<string, string>): AlipayNotification | null {
    let verified: boolean;
    try {
      // V2 checks the raw values: the form is already decoded once, and Alipay signs every
      // field but sign/sign_type as received (V1 would URI-decode again and choke on "%").
      verified = this.sdk.checkNotifySignV2(form);
    } catch {
      return null;
    }
    if (!verified || !form.app_id || !form.notify_id) return null;
    const trade = parseTrade(form, 'gmt_payment');
    if (!trade) return null;
    const optional = (field: string) => (form[field] ? form[field] : undefined);
    return { ...trade, appId: form.app_id, authAppId: optional('auth_app_id'), sellerId: optional('seller_id'), notifyId: form.notify_id, outBizNo: optional('out_biz_no') };
  }

  /** Every API call, in a span named by its method (the business content stays out: order details). */
  private exec(method: string, bizContent: Record<string, string>): Promise<AlipaySdkCommonResult> {
    return withSpan('payment.alipay', { 'payment.provider': 'alipay', 'payment.api': method }, () => this.execUntraced(method, bizContent));
  }

  private async execUntraced(method: string, bizContent: Record<string, string>): Promise<AlipaySdkCommonResult> {
    try {
      // The SDK stamps requests in the server's local zone; Alipay reads them as Beijing time.
      return await this.sdk.exec(method, { bizContent, timestamp: formatBeijingTime(new Date()) }, { validateSign: true });
    } catch (err) {
      throw transportError(method, err);
    }
  }
}

/** The trade fields shared by query answers and notifications; null when any is missing or malformed. */
function parseTrade(fields: Record<string, unknown>, paidAtField: 'send_pay_date' | 'gmt_payment'): AlipayTrade | null {
  const { out_trade_no: outTradeNo, trade_no: tradeNo, trade_status: status, total_amount: amount } = fields;
  const paidAtText = fields[paidAtField];
  if (typeof outTradeNo !== 'string' || !outTradeNo || typeof status !== 'string' || !TRADE_STATUSES.includes(status)) return null;
  const totalAmountFen = typeof amount === 'string' ? yuanStringToFen(amount) : null;
  if (totalAmountFen === null) return null;
  const paidAt = typeof paidAtText === 'string' && paidAtText ? parseBeijingTime(paidAtText) : undefined;
  if (paidAt === null) return null;
  return {
    outTradeNo,
    ...(typeof tradeNo === 'string' && tradeNo ? { tradeNo } : {}),
    status: status as AlipayTradeStatus,
    totalAmountFen,
    ...(paidAt ? { paidAt } : {}),
  };
}

function businessError(action: string, res: AlipaySdkCommonResult): UpstreamError {
  // Only the codes: sub_msg can echo the whole string Alipay tried to verify.
  const code = typeof res.sub_code === 'string' ? res.sub_code : String(res.code);
  return new UpstreamError(`Alipay refused the ${action}: ${code}`, { reason: providerReason('ALIPAY_', code, 'ALIPAY_REFUSED') });
}

/**
 * The SDK's own messages can carry the signed request URL or the response signature, so they
 * are never passed on; only the kind of failure is.
 */
function transportError(method: string, err: unknown): UpstreamError {
  if (err instanceof AlipayRequestError) {
    if (err.message.startsWith('HttpClient Request error')) {
      return new UpstreamError(`Alipay could not be reached for ${method} (timeout or network)`, { reason: 'ALIPAY_UNAVAILABLE' });
    }
    const status = /status: (\d{3})/.exec(err.message)?.[1];
    if (status) return new UpstreamError(`Alipay answered ${method} with HTTP ${status}`, { reason: 'ALIPAY_HTTP_ERROR' });
  }
  return new UpstreamError(`Alipay's answer to ${method} was unsigned, badly signed or unreadable`, { reason: 'ALIPAY_BAD_ANSWER' });
}

/** "yyyy-MM-dd HH:mm:ss" in Beijing time (UTC+8, no daylight saving), as Alipay reads and writes times. */
function formatBeijingTime(date: Date): string {
  return new Date(date.getTime() + 8 * 3600_000).toISOString().slice(0, 19).replace('T', ' ');
}

function parseBeijingTime(text: string): Date | null {
  if (!/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(text)) return null;
  const date = new Date(`${text.replace(' ', 'T')}+08:00`);
  // The round trip refuses dates like 2024-02-30 that Date would silently roll over.
  return Number.isNaN(date.getTime()) || formatBeijingTime(date) !== text ? null : date;
}

/**
 * The SDK labels the key body with whatever keyType says, so a PKCS#8 key sent as PKCS#1 (its
 * default) would fail at the first signature. Parse it here, fail fast at startup, and hand the
 * SDK a clean PEM with the matching type. Env files often carry "\n" literally.
 */
function normalisePrivateKey(text: string): { privateKey: string; keyType: 'PKCS1' | 'PKCS8' } {
  const pem = text.replace(/\\n/g, '\n').trim();
  let key: KeyObject | undefined;
  let type: 'pkcs1' | 'pkcs8';
  if (pem.includes('-----BEGIN')) {
    key = tryKey(() => createPrivateKey(pem));
    type = pem.includes('BEGIN RSA PRIVATE KEY') ? 'pkcs1' : 'pkcs8';
  } else {
    // A bare base64 body, as Alipay's key tool shows it: whichever DER structure parses says the type.
    const der = Buffer.from(pem, 'base64');
    key = tryKey(() => createPrivateKey({ key: der, format: 'der', type: 'pkcs1' }));
    type = key ? 'pkcs1' : 'pkcs8';
    key ??= tryKey(() => createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }));
  }
  if (key?.asymmetricKeyType !== 'rsa') throw new Error('The Alipay app private key is not an unencrypted RSA key in PKCS#1 or PKCS#8');
  return { privateKey: String(key.export({ type, format: 'pem' })).trim(), keyType: type === 'pkcs1' ? 'PKCS1' : 'PKCS8' };
}

/** SPKI PEM for the SDK, from a PEM (SPKI or PKCS#1) or the bare base64 SPKI body the console shows. */
function normalisePublicKey(text: string): string {
  const pem = text.replace(/\\n/g, '\n').trim();
  const key = pem.includes('-----BEGIN')
    ? tryKey(() => createPublicKey(pem))
    : tryKey(() => createPublicKey({ key: Buffer.from(pem, 'base64'), format: 'der', type: 'spki' }));
  if (key?.asymmetricKeyType !== 'rsa') throw new Error('The Alipay public key is not an RSA public key');
  return String(key.export({ type: 'spki', format: 'pem' })).trim();
}

function tryKey(parse: () => KeyObject): KeyObject | undefined {
  try {
    return parse();
  } catch {
    return undefined;
  }
}

import { createSign, createVerify, generateKeyPair, randomBytes, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import type { AlipayConfig, AlipayTradeStatus } from '../../src/payments/alipay.client';
import { listenFake } from './http-fake';
import { alipayTradeBillZip, type FakeBillRow } from './provider-bills';

export const FAKE_ALIPAY_APP_ID = '2021000000000001';
export const FAKE_ALIPAY_NOTIFY_URL = 'https://example.com/v1/pay/alipay/notify';
export const FAKE_ALIPAY_RETURN_URL = 'https://example.com/pay/alipay/return';

export interface FakeAlipayTrade {
  outTradeNo: string;
  tradeNo: string;
  status: AlipayTradeStatus;
  amountFen: number;
  subject: string;
  createdAt: Date;
  paidAt?: Date;
}

export interface FakeAlipayRefund {
  outTradeNo: string;
  outRequestNo: string;
  amountFen: number;
  reason?: string;
  refundedAt: Date;
}

export type FakeAlipayFailure = 'http500' | 'badResponseSignature' | 'hang';

/** How the keys are written in env()/config(): the forms people paste from Alipay's console. */
export interface FakeAlipayKeyFormats {
  privateKey?: 'pkcs1' | 'pkcs8';
  publicKey?: 'base64' | 'pem';
}

/** Form fields to replace before signing (undefined drops the field); badSignature signs with a stranger's key. */
export type NotificationOverrides = { [field: string]: string | boolean | undefined; badSignature?: boolean };

const generateRsa = promisify(generateKeyPair);

/**
 * A fake of Alipay's classic OpenAPI gateway (`POST /gateway.do`) as alipay-sdk 4 talks to it:
 * common params in the query string, `biz_content` in a urlencoded body, requests signed RSA2
 * with the app key over the sorted `key=value` pairs (all but `sign`), answers shaped
 * `{"<method>_response":{...},"sign":"..."}` and signed with the Alipay key over the exact JSON
 * text of the response object. The pay page itself is a browser flow, so tests drive trades
 * with `open()` / `pay()` and build signed async notifications with `notification()`.
 */
export async function startFakeAlipay() {
  const [app, alipay, stranger] = await Promise.all([0, 1, 2].map(() => generateRsa('rsa', { modulusLength: 2048 })));
  const trades = new Map<string, FakeAlipayTrade>();
  /** Refunds by out_request_no (Alipay keys them per trade; ours are unique anyway). */
  const refunds = new Map<string, FakeAlipayRefund>();
  const METHODS = ['alipay.trade.query', 'alipay.trade.close', 'alipay.trade.refund', 'alipay.trade.fastpay.refund.query', 'alipay.data.dataservice.bill.downloadurl.query'];
  /** Trade bills by bill_date (yyyy-MM-dd), served as Alipay does: a short-lived URL to a zip of GBK CSVs. */
  const tradeBills = new Map<string, FakeBillRow[]>();
  const calls: Array<{ method: string; bizContent: Record<string, unknown>; signatureOk: boolean }> = [];
  const failures: FakeAlipayFailure[] = [];

  const fake = await listenFake((req, res, body) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    if (url.pathname === '/downloadBillFile.resource' && req.method === 'GET') {
      const rows = tradeBills.get(url.searchParams.get('billDate') ?? '');
      if (!rows) return void res.writeHead(404).end();
      return alipayTradeBillZip(rows, url.searchParams.get('billDate') ?? '').then((zip) => void res.writeHead(200, { 'content-type': 'application/oct-stream' }).end(zip));
    }
    if (url.pathname !== '/gateway.do' || req.method !== 'POST') return void res.writeHead(404).end();
    const failure = failures.shift();
    if (failure === 'hang') return; // never answers
    if (failure === 'http500') return void res.writeHead(500, { 'content-type': 'text/html' }).end('<html>500 Internal Server Error</html>');

    const params = { ...Object.fromEntries(url.searchParams), ...Object.fromEntries(new URLSearchParams(body.toString('utf8'))) };
    const method = params.method ?? '';
    const answer = (result: Record<string, unknown>) => {
      // Signed over this exact text, which the SDK cuts back out of the raw body to verify.
      const json = JSON.stringify(result);
      const sign = rsaSign(json, failure === 'badResponseSignature' ? stranger.privateKey : alipay.privateKey);
      res.writeHead(200, { 'content-type': 'text/html;charset=utf-8' }).end(`{"${method.replaceAll('.', '_')}_response":${json},"sign":"${sign}"}`);
    };
    if (!METHODS.includes(method)) {
      return void res
        .writeHead(200, { 'content-type': 'text/html;charset=utf-8' })
        .end(JSON.stringify({ error_response: { code: '40002', msg: 'Invalid Arguments', sub_code: 'isv.invalid-method', sub_msg: '不存在的方法名' } }));
    }
    const signatureOk = verifyParams(params, app.publicKey);
    const bizContent = parseObject(params.biz_content);
    calls.push({ method, bizContent, signatureOk });
    if (params.app_id !== FAKE_ALIPAY_APP_ID) {
      return answer({ code: '40002', msg: 'Invalid Arguments', sub_code: 'isv.invalid-app-id', sub_msg: '无效的AppID参数' });
    }
    if (!signatureOk) {
      return answer({
        code: '40002',
        msg: 'Invalid Arguments',
        sub_code: 'isv.invalid-signature',
        sub_msg: `验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配，网关生成的验签字符串为：${signContent(params)}`,
      });
    }
    if (method === 'alipay.data.dataservice.bill.downloadurl.query') {
      const billDate = String(bizContent.bill_date ?? '');
      if (bizContent.bill_type !== 'trade' || !tradeBills.has(billDate)) return answer({ code: '40004', msg: 'Business Failed', sub_code: 'isp.bill_not_exist', sub_msg: '账单不存在' });
      return answer({ code: '10000', msg: 'Success', bill_download_url: `${fake.url}/downloadBillFile.resource?bizType=trade&userId=2088102177846881&fileType=csv.zip&billDate=${billDate}&downloadFileName=${billDate}.csv.zip` });
    }
    const outTradeNo = typeof bizContent.out_trade_no === 'string' ? bizContent.out_trade_no : '';
    if (!outTradeNo) return answer({ code: '40004', msg: 'Business Failed', sub_code: 'ACQ.INVALID_PARAMETER', sub_msg: '参数无效' });
    const trade = trades.get(outTradeNo);
    if (!trade) {
      return answer({ code: '40004', msg: 'Business Failed', sub_code: 'ACQ.TRADE_NOT_EXIST', sub_msg: '交易不存在', out_trade_no: outTradeNo });
    }
    if (method === 'alipay.trade.refund') return answer(refund(trade, bizContent));
    if (method === 'alipay.trade.fastpay.refund.query') {
      const found = refunds.get(String(bizContent.out_request_no ?? outTradeNo));
      // 10000 only means the query worked; without the refund's fields, Alipay has not made it.
      if (!found || found.outTradeNo !== outTradeNo) return answer({ code: '10000', msg: 'Success', out_trade_no: outTradeNo });
      return answer({
        code: '10000',
        msg: 'Success',
        out_request_no: found.outRequestNo,
        out_trade_no: outTradeNo,
        trade_no: trade.tradeNo,
        total_amount: yuan(trade.amountFen),
        refund_amount: yuan(found.amountFen),
        refund_status: 'REFUND_SUCCESS',
      });
    }
    if (method === 'alipay.trade.query') {
      const paid = trade.paidAt ? { buyer_pay_amount: yuan(trade.amountFen), receipt_amount: yuan(trade.amountFen), send_pay_date: beijingTime(trade.paidAt) } : {};
      return answer({ code: '10000', msg: 'Success', out_trade_no: outTradeNo, trade_no: trade.tradeNo, trade_status: trade.status, total_amount: yuan(trade.amountFen), ...paid });
    }
    if (trade.status === 'TRADE_SUCCESS' || trade.status === 'TRADE_FINISHED') {
      return answer({ code: '40004', msg: 'Business Failed', sub_code: 'ACQ.TRADE_STATUS_ERROR', sub_msg: '交易状态不合法' });
    }
    trade.status = 'TRADE_CLOSED';
    return answer({ code: '10000', msg: 'Success', out_trade_no: outTradeNo, trade_no: trade.tradeNo });
  });

  /** alipay.trade.refund as Alipay answers it: synchronous, `fund_change` Y when this call moved money, N for a repeat. */
  function refund(trade: FakeAlipayTrade, biz: Record<string, unknown>): Record<string, unknown> {
    const amountFen = typeof biz.refund_amount === 'string' ? fenOf(biz.refund_amount) : NaN;
    if (!/^\d{1,9}(\.\d{1,2})?$/.test(String(biz.refund_amount)) || !(amountFen > 0)) return { code: '40004', msg: 'Business Failed', sub_code: 'ACQ.INVALID_PARAMETER', sub_msg: '参数无效' };
    const outRequestNo = typeof biz.out_request_no === 'string' ? biz.out_request_no : trade.outTradeNo;
    const refunded = () => Array.from(refunds.values()).filter((r) => r.outTradeNo === trade.outTradeNo).reduce((n, r) => n + r.amountFen, 0);
    const answer = (fundChange: 'Y' | 'N') => ({
      code: '10000',
      msg: 'Success',
      buyer_logon_id: '159****5620',
      fund_change: fundChange,
      gmt_refund_pay: beijingTime(new Date()),
      out_trade_no: trade.outTradeNo,
      refund_fee: yuan(refunded()),
      send_back_fee: '0.00',
      trade_no: trade.tradeNo,
    });
    const existing = refunds.get(outRequestNo);
    if (existing) {
      if (existing.amountFen !== amountFen) return { code: '40004', msg: 'Business Failed', sub_code: 'ACQ.REFUND_AMT_NOT_EQUAL_TOTAL', sub_msg: '退款金额与原请求不一致' };
      return answer('N');
    }
    if (trade.status !== 'TRADE_SUCCESS') return { code: '40004', msg: 'Business Failed', sub_code: 'ACQ.TRADE_STATUS_ERROR', sub_msg: '交易状态不合法' };
    if (refunded() + amountFen > trade.amountFen) return { code: '40004', msg: 'Business Failed', sub_code: 'ACQ.REFUND_AMT_NOT_EQUAL_TOTAL', sub_msg: '退款金额超限' };
    refunds.set(outRequestNo, { outTradeNo: trade.outTradeNo, outRequestNo, amountFen, reason: typeof biz.refund_reason === 'string' ? biz.refund_reason : undefined, refundedAt: wholeSecondsNow() });
    // A trade refunded in full is closed.
    if (refunded() === trade.amountFen) trade.status = 'TRADE_CLOSED';
    return answer('Y');
  }

  const pem = {
    pkcs1: String(app.privateKey.export({ type: 'pkcs1', format: 'pem' })),
    pkcs8: String(app.privateKey.export({ type: 'pkcs8', format: 'pem' })),
    alipayPublic: String(alipay.publicKey.export({ type: 'spki', format: 'pem' })),
    appPublic: String(app.publicKey.export({ type: 'spki', format: 'pem' })),
  };
  const gateway = `${fake.url}/gateway.do`;

  function open(outTradeNo: string, amountFen: number, subject = 'AI 助手会员'): FakeAlipayTrade {
    const existing = trades.get(outTradeNo);
    if (existing) return existing;
    const trade: FakeAlipayTrade = { outTradeNo, tradeNo: tradeNumber(), status: 'WAIT_BUYER_PAY', amountFen, subject, createdAt: wholeSecondsNow() };
    trades.set(outTradeNo, trade);
    return trade;
  }

  function env(keys: FakeAlipayKeyFormats = {}): Record<string, string> {
    return {
      ALIPAY_APP_ID: FAKE_ALIPAY_APP_ID,
      ALIPAY_PRIVATE_KEY: keys.privateKey === 'pkcs8' ? pem.pkcs8 : pem.pkcs1,
      ALIPAY_PUBLIC_KEY: keys.publicKey === 'pem' ? pem.alipayPublic : pemBody(pem.alipayPublic),
      ALIPAY_NOTIFY_URL: FAKE_ALIPAY_NOTIFY_URL,
      ALIPAY_RETURN_URL: FAKE_ALIPAY_RETURN_URL,
      ALIPAY_GATEWAY: gateway,
    };
  }

  return {
    ...fake,
    gateway,
    trades,
    refunds,
    calls,
    tradeBills,
    /** The app public key (SPKI PEM) Alipay holds to check our signatures. */
    appPublicKey: pem.appPublic,
    /** The buyer opened the pay page: the trade now exists, waiting for payment. */
    open,
    /** The buyer opened a URL from pagePayUrl() or wapPayUrl(); throws unless it is signed by the app key and its product code fits its method. */
    openPayUrl(payUrl: string): FakeAlipayTrade {
      const params = Object.fromEntries(new URL(payUrl).searchParams);
      if (params.app_id !== FAKE_ALIPAY_APP_ID || !verifyParams(params, app.publicKey)) throw new Error('fake alipay: pay URL not signed by the app key');
      const biz = parseObject(params.biz_content);
      const product = { 'alipay.trade.page.pay': 'FAST_INSTANT_TRADE_PAY', 'alipay.trade.wap.pay': 'QUICK_WAP_WAY' }[params.method];
      if (!product || biz.product_code !== product) throw new Error(`fake alipay: ${params.method} with product_code ${String(biz.product_code)}`);
      return open(String(biz.out_trade_no), fenOf(String(biz.total_amount)), String(biz.subject));
    },
    /** The buyer paid (amountFen: what was actually paid, to test mismatches). Opens the trade if needed. */
    pay(outTradeNo: string, opts: { amountFen?: number } = {}): FakeAlipayTrade {
      const trade = trades.get(outTradeNo) ?? (opts.amountFen !== undefined ? open(outTradeNo, opts.amountFen) : undefined);
      if (!trade) throw new Error(`fake alipay: trade ${outTradeNo} was never opened`);
      if (trade.status !== 'WAIT_BUYER_PAY') throw new Error(`fake alipay: trade ${outTradeNo} is ${trade.status}`);
      trade.status = 'TRADE_SUCCESS';
      trade.paidAt = wholeSecondsNow();
      if (opts.amountFen !== undefined) trade.amountFen = opts.amountFen;
      return trade;
    },
    /** The form fields of the async notification Alipay would POST for this trade now. */
    notification(outTradeNo: string, overrides: NotificationOverrides = {}): Record<string, string> {
      const trade = trades.get(outTradeNo);
      if (!trade) throw new Error(`fake alipay: trade ${outTradeNo} was never opened`);
      const amount = yuan(trade.amountFen);
      const fields: Record<string, string> = {
        notify_time: beijingTime(new Date()),
        notify_type: 'trade_status_sync',
        notify_id: randomBytes(17).toString('hex'),
        app_id: FAKE_ALIPAY_APP_ID,
        auth_app_id: FAKE_ALIPAY_APP_ID,
        charset: 'utf-8',
        version: '1.0',
        sign_type: 'RSA2',
        trade_no: trade.tradeNo,
        out_trade_no: trade.outTradeNo,
        buyer_id: '2088102177846880',
        seller_id: '2088102177846881',
        trade_status: trade.status,
        total_amount: amount,
        subject: trade.subject,
        gmt_create: beijingTime(trade.createdAt),
        ...(trade.paidAt
          ? {
              receipt_amount: amount,
              invoice_amount: amount,
              buyer_pay_amount: amount,
              point_amount: '0.00',
              gmt_payment: beijingTime(trade.paidAt),
              fund_bill_list: JSON.stringify([{ amount, fundChannel: 'ALIPAYACCOUNT' }]),
            }
          : {}),
      };
      for (const [field, value] of Object.entries(overrides)) {
        if (field === 'badSignature') continue;
        if (value === undefined) delete fields[field];
        else fields[field] = String(value);
      }
      // Alipay signs every field but sign and sign_type, sorted, with the raw (decoded) values.
      const { sign_type: _signType, ...signed } = fields;
      return { ...fields, sign: rsaSign(signContent(signed), overrides.badSignature ? stranger.privateKey : alipay.privateKey) };
    },
    /** Makes the next gateway request fail this way (queued, one request each). */
    nextFailure(failure: FakeAlipayFailure): void {
      failures.push(failure);
    },
    /** Settings as the server reads them; the app private key is PKCS#1 PEM and the Alipay key a bare base64 body unless asked otherwise. */
    env,
    config(keys: FakeAlipayKeyFormats = {}): AlipayConfig {
      const e = env(keys);
      return {
        appId: e.ALIPAY_APP_ID,
        privateKey: e.ALIPAY_PRIVATE_KEY,
        publicKey: e.ALIPAY_PUBLIC_KEY,
        notifyUrl: e.ALIPAY_NOTIFY_URL,
        returnUrl: e.ALIPAY_RETURN_URL,
        gateway: e.ALIPAY_GATEWAY,
      };
    },
  };
}

/** Alipay's sign content: sorted `key=value` pairs joined by `&`, without `sign` and empty values. */
function signContent(params: Record<string, string>): string {
  return Object.keys(params)
    .filter((key) => key !== 'sign' && params[key] !== '')
    .sort()
    .map((key) => `${key}=${params[key]}`)
    .join('&');
}

function verifyParams(params: Record<string, string>, publicKey: KeyObject): boolean {
  if (!params.sign) return false;
  return createVerify('RSA-SHA256').update(signContent(params), 'utf8').verify(publicKey, params.sign, 'base64');
}

function rsaSign(text: string, privateKey: KeyObject): string {
  return createSign('RSA-SHA256').update(text, 'utf8').sign(privateKey, 'base64');
}

function parseObject(json: string | undefined): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(json ?? '');
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** The base64 body of a PEM, as Alipay's console shows keys. */
function pemBody(text: string): string {
  return text.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
}

/** Alipay's time format: "yyyy-MM-dd HH:mm:ss" in Beijing time (UTC+8). */
function beijingTime(date: Date): string {
  return new Date(date.getTime() + 8 * 3600_000).toISOString().slice(0, 19).replace('T', ' ');
}

function yuan(fen: number): string {
  return `${Math.floor(fen / 100)}.${String(fen % 100).padStart(2, '0')}`;
}

function fenOf(yuanText: string): number {
  const [whole, cents = ''] = yuanText.split('.');
  return Number(whole) * 100 + Number(cents.padEnd(2, '0'));
}

/** Alipay's times have whole seconds; keeping the fake's the same lets tests compare Dates exactly. */
function wholeSecondsNow(): Date {
  return new Date(Math.floor(Date.now() / 1000) * 1000);
}

/** 28 digits like Alipay's: the Beijing date, then digits. */
function tradeNumber(): string {
  const digits = Array.from(randomBytes(20), (b) => b % 10).join('');
  return `${beijingTime(new Date()).slice(0, 10).replaceAll('-', '')}${digits}`;
}

import { describe, expect, it } from '@jest/globals';
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { AlipayClient } from './alipay.client';

/**
 * Alipay's RSA2 notification signature, with keys made here: verifyNotification runs the SDK's
 * check offline, so no gateway is contacted.
 */

const rsa = () => generateKeyPairSync('rsa', { modulusLength: 2048 });
const app = rsa();
const alipay = rsa();
const stranger = rsa();

const client = new AlipayClient({
  appId: '2021000000000001',
  privateKey: String(app.privateKey.export({ type: 'pkcs1', format: 'pem' })),
  publicKey: String(alipay.publicKey.export({ type: 'spki', format: 'pem' })),
  notifyUrl: 'https://example.com/v1/pay/alipay/notify',
  gateway: 'https://openapi.alipay.com/gateway.do',
});

/** What Alipay signs: every field but sign and sign_type, sorted by name, as raw `k=v` joined by `&`. */
function signedContent(form: Record<string, string>): string {
  return Object.keys(form)
    .filter((key) => key !== 'sign' && key !== 'sign_type')
    .sort()
    .map((key) => `${key}=${form[key]}`)
    .join('&');
}

function signForm(fields: Record<string, string>, key: KeyObject = alipay.privateKey): Record<string, string> {
  return { ...fields, sign_type: 'RSA2', sign: sign('sha256', Buffer.from(signedContent(fields)), key).toString('base64') };
}

const fields: Record<string, string> = {
  gmt_create: '2026-01-15 15:59:30',
  charset: 'utf-8',
  gmt_payment: '2026-01-15 16:00:05',
  notify_time: '2026-01-15 16:00:06',
  subject: 'AI 助手会员 · 月卡',
  buyer_id: '2088102122524333',
  invoice_amount: '19.99',
  version: '1.0',
  notify_id: '2026011500222160006003111234567890',
  notify_type: 'trade_status_sync',
  out_trade_no: 'ORDER20260115001',
  total_amount: '19.99',
  trade_status: 'TRADE_SUCCESS',
  trade_no: '2026011522001400001234567890',
  auth_app_id: '2021000000000001',
  receipt_amount: '19.99',
  app_id: '2021000000000001',
  buyer_pay_amount: '19.99',
  seller_id: '2088101117955611',
};

describe('AlipayClient.verifyNotification', () => {
  it('signs what the test means to sign', () => {
    expect(signedContent({ b: '2', sign: 's', a: '1', sign_type: 'RSA2' })).toBe('a=1&b=2');
  });

  it('reads a notification signed by Alipay', () => {
    expect(client.verifyNotification(signForm(fields))).toEqual({
      outTradeNo: 'ORDER20260115001',
      tradeNo: '2026011522001400001234567890',
      status: 'TRADE_SUCCESS',
      totalAmountFen: 1999,
      // gmt_payment is Beijing time, eight hours ahead of UTC.
      paidAt: new Date('2026-01-15T08:00:05Z'),
      appId: '2021000000000001',
      authAppId: '2021000000000001',
      sellerId: '2088101117955611',
      notifyId: '2026011500222160006003111234567890',
    });
  });

  it('checks the raw values, so "%", "+", "=" and "&" in a field do not break it', () => {
    const notification = client.verifyNotification(signForm({ ...fields, subject: '100% 满意 a+b=c&d' }));
    expect(notification?.outTradeNo).toBe('ORDER20260115001');
  });

  it('reads a notification without payment time or trade number', () => {
    const { gmt_payment: _paid, trade_no: _tradeNo, ...waiting } = fields;
    expect(client.verifyNotification(signForm({ ...waiting, trade_status: 'WAIT_BUYER_PAY', total_amount: '0.5' }))).toEqual({
      outTradeNo: 'ORDER20260115001',
      status: 'WAIT_BUYER_PAY',
      totalAmountFen: 50,
      appId: '2021000000000001',
      authAppId: '2021000000000001',
      sellerId: '2088101117955611',
      notifyId: '2026011500222160006003111234567890',
    });
  });

  describe('is null for a notification that is not genuine', () => {
    const genuine = signForm(fields);

    it.each<[string, Record<string, string>]>([
      ['a changed amount', { ...genuine, total_amount: '0.01' }],
      ['a changed status', { ...genuine, trade_status: 'TRADE_FINISHED' }],
      ['a changed order number', { ...genuine, out_trade_no: 'ORDER20260115002' }],
      ['a field added after signing', { ...genuine, passback_params: 'x' }],
      ['a signature by another key', signForm(fields, stranger.privateKey)],
      ['a signature that is not base64 RSA', { ...genuine, sign: 'bm90IGEgc2lnbmF0dXJl' }],
      ['an empty signature', { ...genuine, sign: '' }],
      ['an unknown sign_type', { ...genuine, sign_type: 'HMAC-SHA256' }],
    ])('%s', (_name, form) => {
      expect(client.verifyNotification(form)).toBeNull();
    });

    it('a removed field or signature', () => {
      const { total_amount: _amount, ...withoutAmount } = genuine;
      const { sign: _sign, ...unsigned } = genuine;
      expect(client.verifyNotification(withoutAmount)).toBeNull();
      expect(client.verifyNotification(unsigned)).toBeNull();
    });
  });

  it.each<[string, Record<string, string>]>([
    ['no notify_id', { notify_id: '' }],
    ['no app_id', { app_id: '' }],
    ['no out_trade_no', { out_trade_no: '' }],
    ['an amount with three decimals', { total_amount: '19.999' }],
    ['a negative amount', { total_amount: '-19.99' }],
    ['an unknown trade status', { trade_status: 'TRADE_PENDING' }],
    ['a payment time that is not a date', { gmt_payment: '2026-02-30 10:00:00' }],
    ['a payment time in another format', { gmt_payment: '2026-01-15T16:00:05+08:00' }],
  ])('is null for a genuine notification with %s', (_name, overrides) => {
    expect(client.verifyNotification(signForm({ ...fields, ...overrides }))).toBeNull();
  });
});

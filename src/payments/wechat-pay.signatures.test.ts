import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { createCipheriv, generateKeyPairSync, type KeyObject, sign, verify } from 'node:crypto';
import { UpstreamError } from '../core/errors';
import { WechatPayClient, WechatPayNotificationError, type WechatPayConfig, type WechatTransaction } from './wechat-pay.client';

/**
 * The signature rules of WeChat Pay API v3 checked byte for byte, with keys made here and
 * `fetch` replaced, so nothing leaves the process.
 */

const rsa = () => generateKeyPairSync('rsa', { modulusLength: 2048 });
const merchant = rsa();
const platform = rsa();
const stranger = rsa();
const pem = {
  privateKey: (key: KeyObject) => String(key.export({ type: 'pkcs8', format: 'pem' })),
  publicKey: (key: KeyObject) => String(key.export({ type: 'spki', format: 'pem' })),
};

const NOW_MS = Date.UTC(2026, 0, 15, 8, 0, 0);
const NOW_S = NOW_MS / 1000;
const API_V3_KEY = 'Vc2sT8kQ4mZp7LxN1bR6yH3wJ9dF5gA0';
const PUBLIC_KEY_ID = 'PUB_KEY_ID_0119000001092026011500000000000001';
const MERCHANT_SERIAL = '5157F09EFDC096DE15EBE81A47057A7232F1B8E1';

const config: WechatPayConfig = {
  mchId: '1900000109',
  appId: 'wxd678efh567hg6787',
  serialNo: MERCHANT_SERIAL,
  privateKey: pem.privateKey(merchant.privateKey),
  publicKey: pem.publicKey(platform.publicKey),
  publicKeyId: PUBLIC_KEY_ID,
  apiV3Key: API_V3_KEY,
  notifyUrl: 'https://example.com/v1/pay/wechat/notify',
  baseUrl: 'https://api.mch.weixin.qq.com',
};

const newClient = (overrides: Partial<WechatPayConfig> = {}) => new WechatPayClient({ ...config, ...overrides }, { now: () => NOW_MS });

const transaction: WechatTransaction = {
  appid: config.appId,
  mchid: config.mchId,
  out_trade_no: 'T20260115001',
  transaction_id: '4200000001202601150000000001',
  trade_state: 'SUCCESS',
  success_time: '2026-01-15T16:00:00+08:00',
  amount: { total: 1999, payer_total: 1999, currency: 'CNY' },
};

interface Signing {
  timestamp?: number;
  nonce?: string;
  serial?: string;
  key?: KeyObject;
}

/** The Wechatpay-* headers WeChat Pay puts on an answer or a notification: SHA256-RSA over "timestamp\nnonce\nbody\n". */
function wechatHeaders(body: string, { timestamp = NOW_S, nonce = 'c5ac7061fccab6bf3e254dcf98995b8c', serial = PUBLIC_KEY_ID, key = platform.privateKey }: Signing = {}): Record<string, string> {
  const signature = sign('sha256', Buffer.from(`${timestamp}\n${nonce}\n${body}\n`), key).toString('base64');
  return { 'Wechatpay-Timestamp': String(timestamp), 'Wechatpay-Nonce': nonce, 'Wechatpay-Signature': signature, 'Wechatpay-Serial': serial };
}

interface SentRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string | undefined;
}

describe('requests and answers', () => {
  let sent: SentRequest[];
  let answer: () => Response;

  beforeEach(() => {
    sent = [];
    jest.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
      sent.push({ method: init?.method ?? 'GET', url: String(input), headers: init?.headers as Record<string, string>, body: init?.body as string | undefined });
      return answer();
    });
  });
  afterEach(() => {
    jest.restoreAllMocks();
  });

  const signedJson = (data: object, signing?: Signing) => {
    const body = JSON.stringify(data);
    return () => new Response(body, { status: 200, headers: { 'Content-Type': 'application/json', ...wechatHeaders(body, signing) } });
  };
  const signedNoContent = () => new Response(null, { status: 204, headers: wechatHeaders('') });

  /** The fields of our Authorization header; fails the test when its format is off. */
  function authorization(request: SentRequest) {
    const match = /^WECHATPAY2-SHA256-RSA2048 mchid="(\d+)",nonce_str="([0-9a-f]{32})",signature="([A-Za-z0-9+/]+={0,2})",timestamp="(\d+)",serial_no="([0-9A-F]+)"$/.exec(request.headers.Authorization);
    expect(match).not.toBeNull();
    const [, mchid, nonce, signature, timestamp, serial] = match!;
    return { mchid, nonce, signature, timestamp, serial };
  }

  describe('our request signature', () => {
    it('signs "GET\\npath?query\\ntimestamp\\nnonce\\n\\n" with the merchant key', async () => {
      answer = signedJson(transaction);
      await newClient().queryOrder('T20260115001');

      const [request] = sent;
      expect(request.url).toBe('https://api.mch.weixin.qq.com/v3/pay/transactions/out-trade-no/T20260115001?mchid=1900000109');
      expect(request.body).toBeUndefined();
      const auth = authorization(request);
      expect(auth).toMatchObject({ mchid: '1900000109', timestamp: String(NOW_S), serial: MERCHANT_SERIAL });

      const message = `GET\n/v3/pay/transactions/out-trade-no/T20260115001?mchid=1900000109\n${NOW_S}\n${auth.nonce}\n\n`;
      expect(verify('sha256', Buffer.from(message), merchant.publicKey, Buffer.from(auth.signature, 'base64'))).toBe(true);
      // PKCS#1 v1.5 is deterministic: the same message and key give the same signature.
      expect(auth.signature).toBe(sign('sha256', Buffer.from(message), merchant.privateKey).toString('base64'));
      expect(request.headers).toMatchObject({ Accept: 'application/json', 'Wechatpay-Serial': PUBLIC_KEY_ID });
      expect(request.headers['Content-Type']).toBeUndefined();
    });

    it('signs the exact JSON body it sends, over the encoded path', async () => {
      answer = signedNoContent;
      await newClient().closeOrder('T 1/2');

      const [request] = sent;
      expect(request).toMatchObject({ method: 'POST', url: 'https://api.mch.weixin.qq.com/v3/pay/transactions/out-trade-no/T%201%2F2/close', body: '{"mchid":"1900000109"}' });
      expect(request.headers['Content-Type']).toBe('application/json');
      const { nonce, signature } = authorization(request);
      const message = `POST\n/v3/pay/transactions/out-trade-no/T%201%2F2/close\n${NOW_S}\n${nonce}\n{"mchid":"1900000109"}\n`;
      expect(signature).toBe(sign('sha256', Buffer.from(message), merchant.privateKey).toString('base64'));
    });

    it('includes the path prefix of a base URL (a proxy) in what it signs', async () => {
      answer = signedJson(transaction);
      await newClient({ baseUrl: 'https://proxy.example.com/wxpay//' }).queryOrder('T20260115001');

      const [request] = sent;
      expect(request.url).toBe('https://proxy.example.com/wxpay/v3/pay/transactions/out-trade-no/T20260115001?mchid=1900000109');
      const { nonce, signature } = authorization(request);
      const message = `GET\n/wxpay/v3/pay/transactions/out-trade-no/T20260115001?mchid=1900000109\n${NOW_S}\n${nonce}\n\n`;
      expect(verify('sha256', Buffer.from(message), merchant.publicKey, Buffer.from(signature, 'base64'))).toBe(true);
    });

    it('uses a fresh nonce for each request', async () => {
      const client = newClient();
      answer = signedJson(transaction);
      await client.queryOrder('T20260115001');
      answer = signedJson(transaction);
      await client.queryOrder('T20260115001');
      expect(authorization(sent[0]).nonce).not.toBe(authorization(sent[1]).nonce);
    });
  });

  describe('answer verification', () => {
    async function refusal(promise: Promise<unknown>): Promise<UpstreamError> {
      const err = await promise.then(
        () => new Error('the answer was believed'),
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(UpstreamError);
      return err as UpstreamError;
    }

    it('believes an answer signed by the configured WeChat Pay key', async () => {
      answer = signedJson(transaction);
      expect(await newClient().queryOrder('T20260115001')).toEqual(transaction);
    });

    it('believes an answer 300 s old, not 301 s', async () => {
      answer = signedJson(transaction, { timestamp: NOW_S - 300 });
      expect(await newClient().queryOrder('T20260115001')).toEqual(transaction);

      answer = signedJson(transaction, { timestamp: NOW_S + 301 });
      const err = await refusal(newClient().queryOrder('T20260115001'));
      expect(err.message).toBe('WeChat Pay answer failed verification: Wechatpay-Timestamp is more than 300 s from now');
      expect(err.details).toEqual({ reason: 'WECHATPAY_BAD_SIGNATURE' });
    });

    it('refuses a body changed after signing', async () => {
      const signed = JSON.stringify(transaction);
      const forged = JSON.stringify({ ...transaction, amount: { ...transaction.amount, total: 1 } });
      answer = () => new Response(forged, { status: 200, headers: wechatHeaders(signed) });
      const err = await refusal(newClient().queryOrder('T20260115001'));
      expect(err.message).toBe('WeChat Pay answer failed verification: Wechatpay-Signature does not match');
      expect(err.details).toEqual({ reason: 'WECHATPAY_BAD_SIGNATURE' });
    });

    it('refuses an answer signed by another key under the right serial', async () => {
      answer = signedJson(transaction, { key: stranger.privateKey });
      expect((await refusal(newClient().queryOrder('T20260115001'))).message).toContain('Wechatpay-Signature does not match');
    });

    it('refuses an answer naming a serial it has no key for', async () => {
      answer = signedJson(transaction, { serial: 'PUB_KEY_ID_OTHER' });
      const err = await refusal(newClient().queryOrder('T20260115001'));
      expect(err.message).toBe('WeChat Pay answer failed verification: unknown Wechatpay-Serial PUB_KEY_ID_OTHER');
    });

    it('refuses an unsigned success, even an empty 204', async () => {
      answer = () => new Response(JSON.stringify(transaction), { status: 200 });
      expect((await refusal(newClient().queryOrder('T20260115001'))).message).toContain('Wechatpay-* signature headers are missing');
      answer = () => new Response(null, { status: 204 });
      expect((await refusal(newClient().closeOrder('T20260115001'))).details).toEqual({ reason: 'WECHATPAY_BAD_SIGNATURE' });
    });

    it('checks a signed error answer too', async () => {
      const body = JSON.stringify({ code: 'ORDERPAID', message: '订单已支付' });
      answer = () => new Response(body, { status: 400, headers: wechatHeaders(body) });
      expect((await refusal(newClient().closeOrder('T20260115001'))).details).toEqual({ reason: 'WECHATPAY_ORDERPAID' });

      answer = () => new Response(body, { status: 400, headers: wechatHeaders(body, { key: stranger.privateKey }) });
      expect((await refusal(newClient().closeOrder('T20260115001'))).details).toEqual({ reason: 'WECHATPAY_BAD_SIGNATURE' });
    });
  });
});

describe('verifyNotification', () => {
  /** The resource as WeChat Pay encrypts it: AES-256-GCM under the APIv3 key, the 16-byte tag appended. */
  function encrypt(plaintext: string, { key = API_V3_KEY, nonce = 'fdasflkja484', aad = 'transaction' } = {}) {
    const cipher = createCipheriv('aes-256-gcm', Buffer.from(key, 'utf8'), Buffer.from(nonce, 'utf8'));
    cipher.setAAD(Buffer.from(aad, 'utf8'));
    const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return { algorithm: 'AEAD_AES_256_GCM', ciphertext: data.toString('base64'), associated_data: aad, nonce, original_type: 'transaction' };
  }

  const eventBody = (resource: object) =>
    JSON.stringify({
      id: 'EV-2018022511223320873',
      create_time: '2026-01-15T16:00:00+08:00',
      resource_type: 'encrypt-resource',
      event_type: 'TRANSACTION.SUCCESS',
      summary: '支付成功',
      resource,
    });

  function refusal(fn: () => unknown): WechatPayNotificationError {
    try {
      fn();
    } catch (err) {
      expect(err).toBeInstanceOf(WechatPayNotificationError);
      return err as WechatPayNotificationError;
    }
    throw new Error('the notification was believed');
  }

  const client = newClient();
  const body = eventBody(encrypt(JSON.stringify(transaction)));

  it('verifies the signature and decrypts the transaction', () => {
    expect(client.verifyNotification(wechatHeaders(body), body)).toEqual({ eventType: 'TRANSACTION.SUCCESS', transaction });
    // As fastify hands them over: lower-case names, the raw body as a Buffer.
    const lower = Object.fromEntries(Object.entries(wechatHeaders(body)).map(([k, v]) => [k.toLowerCase(), v]));
    expect(client.verifyNotification(lower, Buffer.from(body)).transaction).toEqual(transaction);
  });

  it.each<[string, () => [Record<string, string | string[]>, string], string]>([
    ['a body changed after signing', () => [wechatHeaders(body), body.replace('支付成功', '支付失败')], 'Wechatpay-Signature does not match'],
    ['a signature by another key', () => [wechatHeaders(body, { key: stranger.privateKey }), body], 'Wechatpay-Signature does not match'],
    ['a signature over another nonce', () => [{ ...wechatHeaders(body), 'Wechatpay-Nonce': 'another-nonce' }, body], 'Wechatpay-Signature does not match'],
    ['a signature that is not base64 RSA', () => [{ ...wechatHeaders(body), 'Wechatpay-Signature': 'bm90IGEgc2lnbmF0dXJl' }, body], 'Wechatpay-Signature does not match'],
    ['an unknown serial', () => [wechatHeaders(body, { serial: 'PUB_KEY_ID_ROTATED' }), body], 'unknown Wechatpay-Serial PUB_KEY_ID_ROTATED'],
    ['a timestamp 301 s old', () => [wechatHeaders(body, { timestamp: NOW_S - 301 }), body], 'Wechatpay-Timestamp is more than 300 s from now'],
    ['a timestamp 301 s ahead', () => [wechatHeaders(body, { timestamp: NOW_S + 301 }), body], 'Wechatpay-Timestamp is more than 300 s from now'],
    ['a timestamp in milliseconds', () => [wechatHeaders(body, { timestamp: NOW_MS }), body], 'Wechatpay-Timestamp is more than 300 s from now'],
    ['a missing header', () => [{ ...wechatHeaders(body), 'Wechatpay-Signature': '' }, body], 'Wechatpay-* signature headers are missing'],
    ['a repeated header', () => [{ ...wechatHeaders(body), 'Wechatpay-Serial': [PUBLIC_KEY_ID, PUBLIC_KEY_ID] }, body], 'Wechatpay-* signature headers are missing'],
    ['a signature probe', () => [{ ...wechatHeaders(body), 'Wechatpay-Signature': 'WECHATPAY/SIGNTEST/abc' }, body], 'a WECHATPAY/SIGNTEST signature probe'],
  ])('refuses %s as a signature problem', (_name, make, problem) => {
    const [headers, rawBody] = make();
    const err = refusal(() => client.verifyNotification(headers, rawBody));
    expect(err.kind).toBe('signature');
    expect(err.message).toBe(`WeChat Pay notification refused: ${problem}`);
  });

  it('believes a key added for a new serial', () => {
    const rotating = newClient();
    const signing = { serial: 'PUB_KEY_ID_ROTATED', key: stranger.privateKey };
    expect(refusal(() => rotating.verifyNotification(wechatHeaders(body, signing), body)).kind).toBe('signature');
    rotating.addVerificationKey('PUB_KEY_ID_ROTATED', pem.publicKey(stranger.publicKey));
    expect(rotating.verifyNotification(wechatHeaders(body, signing), body).transaction).toEqual(transaction);
  });

  const flipByte = (base64: string, index: number) => {
    const data = Buffer.from(base64, 'base64');
    data[index] ^= 0x01;
    return data.toString('base64');
  };
  const resource = encrypt(JSON.stringify(transaction));

  it.each<[string, object, string]>([
    ['an altered ciphertext byte', { ...resource, ciphertext: flipByte(resource.ciphertext, 3) }, 'resource could not be decrypted (wrong APIv3 key or altered ciphertext)'],
    ['an altered tag byte', { ...resource, ciphertext: flipByte(resource.ciphertext, Buffer.from(resource.ciphertext, 'base64').length - 1) }, 'resource could not be decrypted (wrong APIv3 key or altered ciphertext)'],
    ['other associated data', { ...resource, associated_data: 'refund' }, 'resource could not be decrypted (wrong APIv3 key or altered ciphertext)'],
    ['another nonce', { ...resource, nonce: 'aaaaaaaaaaaa' }, 'resource could not be decrypted (wrong APIv3 key or altered ciphertext)'],
    ['another APIv3 key', encrypt(JSON.stringify(transaction), { key: 'x'.repeat(32) }), 'resource could not be decrypted (wrong APIv3 key or altered ciphertext)'],
    ['a ciphertext shorter than its tag', { ...resource, ciphertext: 'AAAA' }, 'resource could not be decrypted (wrong APIv3 key or altered ciphertext)'],
    ['another algorithm', { ...resource, algorithm: 'AEAD_AES_128_GCM' }, 'unsupported algorithm AEAD_AES_128_GCM'],
    ['a missing nonce', { ...resource, nonce: undefined }, 'resource fields are missing'],
    ['a resource that is not a transaction', encrypt(JSON.stringify({ ...transaction, trade_state: 'PAID' })), 'decrypted resource is not a transaction'],
  ])('refuses %s, though signed, as a content problem', (_name, altered, problem) => {
    const signedBody = eventBody(altered);
    const err = refusal(() => client.verifyNotification(wechatHeaders(signedBody), signedBody));
    expect(err.kind).toBe('content');
    expect(err.message).toBe(`WeChat Pay notification refused: ${problem}`);
  });

  it('refuses a signed body that is not a notification event as a content problem', () => {
    for (const signedBody of ['not json', '[]', JSON.stringify({ event_type: 'TRANSACTION.SUCCESS' })]) {
      const err = refusal(() => client.verifyNotification(wechatHeaders(signedBody), signedBody));
      expect([signedBody, err.kind, err.message]).toEqual([signedBody, 'content', 'WeChat Pay notification refused: it is not a notification event']);
    }
  });
});

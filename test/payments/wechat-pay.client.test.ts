import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { UpstreamError } from '../../src/core/errors';
import { WechatPayClient, WechatPayNotificationError, type WechatPayConfig } from '../../src/payments/wechat-pay.client';
import { startFakeWechatPay, type FakeWechatPay, type NotificationTamper } from '../fakes/wechat-pay';

let seq = 0;
const tradeNo = () => `T${Date.now()}_${++seq}`;
const inFifteenMinutes = () => new Date(Date.now() + 15 * 60_000);

/** The UpstreamError a promise rejects with (fails the test if it resolves or throws something else). */
async function upstreamError(promise: Promise<unknown>): Promise<UpstreamError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UpstreamError);
  return err as UpstreamError;
}

function notificationError(fn: () => unknown): WechatPayNotificationError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(WechatPayNotificationError);
    return err as WechatPayNotificationError;
  }
  throw new Error('verifyNotification accepted the notification');
}

describe('WechatPayClient against the fake WeChat Pay', () => {
  let fake: FakeWechatPay;
  let client: WechatPayClient;

  beforeAll(async () => {
    fake = await startFakeWechatPay();
    client = new WechatPayClient(fake.config());
  });
  afterAll(() => fake.close());

  const createOrder = (c: WechatPayClient, outTradeNo: string, amountFen = 1999) =>
    c.createNativeOrder({ outTradeNo, description: '会员月卡', amountFen, expiresAt: inFifteenMinutes() });

  describe('createNativeOrder', () => {
    it('returns the code_url, sending a correctly signed Native order', async () => {
      const no = tradeNo();
      const { codeUrl } = await client.createNativeOrder({ outTradeNo: no, description: '会员月卡', amountFen: 1999, expiresAt: new Date('2026-11-21T02:34:56.789Z') });

      expect(codeUrl).toMatch(/^weixin:\/\/wxpay\/bizpayurl\?pr=[\w-]+$/);
      expect(codeUrl).toBe(fake.orders.get(no)!.code_url);
      const call = fake.calls.at(-1)!;
      expect(call).toMatchObject({ method: 'POST', path: '/v3/pay/transactions/native', signatureValid: true });
      expect(call.body).toEqual({
        appid: 'wxfakepay0000001',
        mchid: '1900000109',
        description: '会员月卡',
        out_trade_no: no,
        time_expire: '2026-11-21T10:34:56+08:00',
        notify_url: 'https://example.com/v1/pay/wechat/notify',
        amount: { total: 1999, currency: 'CNY' },
      });
      expect(call.headers.authorization).toMatch(/^WECHATPAY2-SHA256-RSA2048 mchid="1900000109",nonce_str="\w+",signature="[\w+/=]+",timestamp="\d+",serial_no="[0-9A-F]{40}"$/);
      expect(call.headers).toMatchObject({ accept: 'application/json', 'content-type': 'application/json', 'wechatpay-serial': fake.publicKeyId });
      expect(call.headers['user-agent']).toMatch(/chat-assistant-server/);
      expect(fake.orders.get(no)).toMatchObject({ trade_state: 'NOTPAY', total: 1999 });
    });

    it('cuts the description to 127 characters and refuses a non-payable amount before calling', async () => {
      const no = tradeNo();
      await client.createNativeOrder({ outTradeNo: no, description: '长'.repeat(200), amountFen: 1, expiresAt: inFifteenMinutes() });
      expect(fake.orders.get(no)!.description).toBe('长'.repeat(127));

      const before = fake.calls.length;
      await expect(createOrder(client, tradeNo(), 0)).rejects.toThrow(RangeError);
      await expect(createOrder(client, tradeNo(), 12.5)).rejects.toThrow(RangeError);
      expect(fake.calls.length).toBe(before);
    });

    it('gives the same code_url for a repeat, and UpstreamError when the amount changes', async () => {
      const no = tradeNo();
      const first = await createOrder(client, no, 500);
      expect(await createOrder(client, no, 500)).toEqual(first);
      const err = await upstreamError(createOrder(client, no, 600));
      expect(err.details?.reason).toBe('WECHATPAY_INVALID_REQUEST');
      expect(err.message).toContain('INVALID_REQUEST');
      expect(fake.orders.get(no)!.total).toBe(500);
    });

    it('is refused by the fake when signed with the wrong merchant key, and leaks no secret in the error', async () => {
      const wrongKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
      const impostor = new WechatPayClient({ ...fake.config(), privateKey: wrongKey });
      const no = tradeNo();
      const err = await upstreamError(createOrder(impostor, no));

      expect(err.details?.reason).toBe('WECHATPAY_SIGN_ERROR');
      expect(err.message).toContain('HTTP 401');
      expect(fake.calls.at(-1)!.signatureValid).toBe(false);
      expect(fake.orders.has(no)).toBe(false);
      const text = JSON.stringify({ message: err.message, details: err.details });
      for (const secret of ['WECHATPAY2-SHA256', 'signature=', 'PRIVATE KEY', fake.apiV3Key]) expect(text).not.toContain(secret);
    });
  });

  describe('queryOrder and closeOrder', () => {
    it('answers null for an order WeChat Pay does not know', async () => {
      const no = tradeNo();
      expect(await client.queryOrder(no)).toBeNull();
      expect(fake.calls.at(-1)).toMatchObject({ method: 'GET', path: `/v3/pay/transactions/out-trade-no/${no}?mchid=1900000109`, signatureValid: true, body: undefined });
    });

    it('reports NOTPAY, then SUCCESS with the amounts once paid', async () => {
      const no = tradeNo();
      await createOrder(client, no, 1999);
      expect(await client.queryOrder(no)).toMatchObject({ out_trade_no: no, trade_state: 'NOTPAY', amount: { total: 1999, currency: 'CNY' } });

      const paid = fake.pay(no);
      const tx = await client.queryOrder(no);
      expect(tx).toMatchObject({
        appid: 'wxfakepay0000001',
        mchid: '1900000109',
        out_trade_no: no,
        trade_state: 'SUCCESS',
        transaction_id: paid.transaction_id,
        success_time: paid.success_time,
        amount: { total: 1999, payer_total: 1999, currency: 'CNY' },
      });
      expect(tx!.success_time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$/);
    });

    it('closes an unpaid order (204) and refuses to close a paid one', async () => {
      const no = tradeNo();
      await createOrder(client, no);
      await expect(client.closeOrder(no)).resolves.toBeUndefined();
      expect(fake.calls.at(-1)).toMatchObject({ method: 'POST', path: `/v3/pay/transactions/out-trade-no/${no}/close`, body: { mchid: '1900000109' }, signatureValid: true });
      expect(fake.orders.get(no)!.trade_state).toBe('CLOSED');
      expect((await client.queryOrder(no))!.trade_state).toBe('CLOSED');

      const paidNo = tradeNo();
      await createOrder(client, paidNo);
      fake.pay(paidNo);
      expect((await upstreamError(client.closeOrder(paidNo))).details?.reason).toBe('WECHATPAY_ORDERPAID');
      expect(fake.orders.get(paidNo)!.trade_state).toBe('SUCCESS');
    });
  });

  describe('untrusted answers and failures', () => {
    it('refuses answers whose signature does not verify, including an empty 204', async () => {
      const no = tradeNo();
      fake.nextFailure('badResponseSignature');
      const err = await upstreamError(createOrder(client, no));
      expect(err.details?.reason).toBe('WECHATPAY_BAD_SIGNATURE');
      expect(err.message).toContain('Wechatpay-Signature does not match');

      fake.nextFailure('badResponseSignature');
      expect((await upstreamError(client.closeOrder(no))).details?.reason).toBe('WECHATPAY_BAD_SIGNATURE');
      fake.nextFailure('badResponseSignature');
      expect((await upstreamError(client.queryOrder(tradeNo()))).details?.reason).toBe('WECHATPAY_BAD_SIGNATURE');
    });

    it('refuses answers signed by an unknown serial or a different key, until that key is added', async () => {
      const other = new WechatPayClient({ ...fake.config(), publicKeyId: 'PUB_KEY_ID_OTHER' });
      const err = await upstreamError(createOrder(other, tradeNo()));
      expect(err.message).toContain('unknown Wechatpay-Serial');
      other.addVerificationKey(fake.publicKeyId, fake.publicKeyPem);
      expect((await createOrder(other, tradeNo())).codeUrl).toMatch(/^weixin:/);

      const stranger = createPublicKey(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey).export({ type: 'spki', format: 'pem' }).toString();
      const fooled = new WechatPayClient({ ...fake.config(), publicKey: stranger });
      expect((await upstreamError(fooled.queryOrder(tradeNo()))).message).toContain('Wechatpay-Signature does not match');
    });

    it('refuses answers more than 300 s away from our clock', async () => {
      const late = new WechatPayClient(fake.config(), { now: () => Date.now() + 301_000 });
      const err = await upstreamError(late.queryOrder(tradeNo()));
      expect(err.details?.reason).toBe('WECHATPAY_BAD_SIGNATURE');
      expect(err.message).toContain('Wechatpay-Timestamp');
    });

    it('turns a 500 into UpstreamError with the WeChat code', async () => {
      fake.nextFailure('http500');
      const err = await upstreamError(createOrder(client, tradeNo()));
      expect(err.details?.reason).toBe('WECHATPAY_SYSTEM_ERROR');
      expect(err.message).toContain('HTTP 500 SYSTEM_ERROR');
      expect(err.status).toBe(502);
    });

    it('gives up after timeoutMs, and when WeChat Pay cannot be reached', async () => {
      const impatient = new WechatPayClient(fake.config(), { timeoutMs: 200 });
      fake.nextFailure('hang');
      const started = Date.now();
      expect((await upstreamError(impatient.queryOrder(tradeNo()))).details?.reason).toBe('WECHATPAY_UNAVAILABLE');
      expect(Date.now() - started).toBeLessThan(2000);

      const unreachable = new WechatPayClient({ ...fake.config(), baseUrl: 'http://127.0.0.1:1' });
      expect((await upstreamError(unreachable.queryOrder(tradeNo()))).details?.reason).toBe('WECHATPAY_UNAVAILABLE');
    });
  });

  describe('verifyNotification', () => {
    it('verifies and decrypts a genuine notification to the transaction the fake encrypted', async () => {
      const no = tradeNo();
      await createOrder(client, no, 2500);
      const n = fake.notification(no);

      const result = client.verifyNotification(n.headers, n.body);
      expect(result.eventType).toBe('TRANSACTION.SUCCESS');
      expect(result.transaction).toEqual(n.transaction);
      expect(result.transaction).toMatchObject({ out_trade_no: no, trade_state: 'SUCCESS', mchid: '1900000109', amount: { total: 2500, payer_total: 2500 } });

      // As a web framework hands them over: lower-case header names, a Buffer body.
      const lower = Object.fromEntries(Object.entries(n.headers).map(([k, v]) => [k.toLowerCase(), v]));
      expect(client.verifyNotification(lower, Buffer.from(n.body)).transaction).toEqual(n.transaction);
      expect(JSON.parse(n.body)).toMatchObject({ event_type: 'TRANSACTION.SUCCESS', resource_type: 'encrypt-resource', summary: '支付成功', resource: { original_type: 'transaction', algorithm: 'AEAD_AES_256_GCM', associated_data: 'transaction', nonce: expect.stringMatching(/^\w{12}$/) } });
    });

    it('hands over overridden fields as decrypted, leaving the business checks to the caller', async () => {
      const no = tradeNo();
      await createOrder(client, no, 2500);
      const n = fake.notification(no, { transaction: { amount: { total: 1 }, mchid: '1900000999', trade_state: 'NOTPAY' } });
      const { transaction } = client.verifyNotification(n.headers, n.body);
      expect(transaction).toMatchObject({ mchid: '1900000999', trade_state: 'NOTPAY', amount: { total: 1, payer_total: 2500, currency: 'CNY' } });
    });

    const cases: Array<[string, NotificationTamper, 'signature' | 'content', RegExp]> = [
      ['a WECHATPAY/SIGNTEST probe', { signtest: true }, 'signature', /SIGNTEST/],
      ['a bad signature', { badSignature: true }, 'signature', /Wechatpay-Signature does not match/],
      ['a timestamp 301 s old', { timestampOffsetSeconds: -301 }, 'signature', /Wechatpay-Timestamp/],
      ['a timestamp 301 s ahead', { timestampOffsetSeconds: 301 }, 'signature', /Wechatpay-Timestamp/],
      ['an unknown serial', { serial: 'PUB_KEY_ID_unknown' }, 'signature', /unknown Wechatpay-Serial PUB_KEY_ID_unknown/],
      ['an altered ciphertext', { tamperCiphertext: true }, 'content', /could not be decrypted/],
    ];
    it.each(cases)('refuses %s', async (_name, tamper, kind, message) => {
      const no = tradeNo();
      await createOrder(client, no);
      const n = fake.notification(no, tamper);
      const err = notificationError(() => client.verifyNotification(n.headers, n.body));
      expect(err.kind).toBe(kind);
      expect(err.message).toMatch(message);
    });

    it('accepts a timestamp within 300 s', async () => {
      const no = tradeNo();
      await createOrder(client, no);
      const n = fake.notification(no, { timestampOffsetSeconds: -290 });
      expect(client.verifyNotification(n.headers, n.body).transaction.out_trade_no).toBe(no);
    });

    it('refuses missing headers and a body changed after signing as signature problems', async () => {
      const no = tradeNo();
      await createOrder(client, no);
      const n = fake.notification(no);
      const { 'Wechatpay-Nonce': _nonce, ...withoutNonce } = n.headers;
      expect(notificationError(() => client.verifyNotification(withoutNonce, n.body)).kind).toBe('signature');
      expect(notificationError(() => client.verifyNotification({}, n.body)).kind).toBe('signature');
      expect(notificationError(() => client.verifyNotification({ ...n.headers, 'Wechatpay-Serial': [fake.publicKeyId, fake.publicKeyId] }, n.body)).kind).toBe('signature');
      expect(notificationError(() => client.verifyNotification(n.headers, n.body.replace('支付成功', '支付失败'))).kind).toBe('signature');
    });

    it('refuses genuinely signed bodies that are not JSON, use another algorithm, or decrypt to garbage, as content problems', async () => {
      const no = tradeNo();
      await createOrder(client, no);
      const event = JSON.parse(fake.notification(no).body);
      const signedBodies = [
        'not json',
        JSON.stringify({ ...event, resource: { ...event.resource, algorithm: 'AEAD_AES_128_GCM' } }),
        JSON.stringify({ ...event, resource: { ...event.resource, associated_data: 'refund' } }),
        JSON.stringify({ ...event, resource: { ...event.resource, ciphertext: 'AAAA' } }),
        JSON.stringify({ ...event, resource: undefined }),
      ];
      for (const body of signedBodies) {
        const err = notificationError(() => client.verifyNotification(fake.signBody(body), body));
        expect([body.slice(0, 20), err.kind]).toEqual([body.slice(0, 20), 'content']);
      }
      const wrongKeyClient = new WechatPayClient({ ...fake.config(), apiV3Key: 'x'.repeat(32) });
      const n = fake.notification(no);
      expect(notificationError(() => wrongKeyClient.verifyNotification(n.headers, n.body)).kind).toBe('content');
    });
  });

  describe('keys', () => {
    it('works with a PKCS#1 private key and a bare base64 public key (also with escaped newlines)', async () => {
      const pkcs1 = createPrivateKey(fake.merchantPrivateKeyPem).export({ type: 'pkcs1', format: 'pem' }).toString();
      expect(pkcs1).toContain('BEGIN RSA PRIVATE KEY');
      const bare = fake.publicKeyPem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
      const configs: WechatPayConfig[] = [
        { ...fake.config(), privateKey: pkcs1, publicKey: bare },
        { ...fake.config(), privateKey: fake.merchantPrivateKeyPem.replace(/\n/g, '\\n'), publicKey: fake.publicKeyPem.replace(/\n/g, '\\n') },
      ];
      for (const config of configs) {
        const c = new WechatPayClient(config);
        const no = tradeNo();
        expect((await createOrder(c, no)).codeUrl).toBe(fake.orders.get(no)!.code_url);
        expect(fake.calls.at(-1)!.signatureValid).toBe(true);
        const n = fake.notification(no);
        expect(c.verifyNotification(n.headers, n.body).transaction.out_trade_no).toBe(no);
      }
    });

    it('fails at construction on a bad key or APIv3 key', () => {
      const config = fake.config();
      expect(() => new WechatPayClient({ ...config, privateKey: 'not a key' })).toThrow(/merchant private key/);
      expect(() => new WechatPayClient({ ...config, publicKey: 'bm90IGEga2V5' })).toThrow(/public key/);
      expect(() => new WechatPayClient({ ...config, publicKey: config.privateKey })).toThrow(/public key/);
      expect(() => new WechatPayClient({ ...config, apiV3Key: 'short' })).toThrow(/APIv3 key/);
      const c = new WechatPayClient(config);
      expect(() => c.addVerificationKey('PUB_KEY_ID_X', 'garbage')).toThrow(/public key/);
    });
  });
});

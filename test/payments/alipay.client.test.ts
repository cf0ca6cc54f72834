import { createVerify, generateKeyPairSync } from 'node:crypto';
import { UpstreamError } from '../../src/core/errors';
import { AlipayClient } from '../../src/payments/alipay.client';
import { FAKE_ALIPAY_APP_ID, FAKE_ALIPAY_NOTIFY_URL, FAKE_ALIPAY_RETURN_URL, startFakeAlipay } from '../fakes/alipay';
import { listenFake } from '../fakes/http-fake';

let fake: Awaited<ReturnType<typeof startFakeAlipay>>;
let client: AlipayClient;

beforeAll(async () => {
  fake = await startFakeAlipay();
  client = new AlipayClient(fake.config());
});
afterAll(() => fake.close());

let n = 0;
const newOrderNo = () => `ORDER${Date.now()}${++n}`;

/** Awaits a rejection, checks it is an UpstreamError and that no signature or key leaks into it. */
async function upstreamError(promise: Promise<unknown>): Promise<UpstreamError> {
  const err = await promise.then(
    () => new Error('expected a rejection'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UpstreamError);
  const error = err as UpstreamError;
  expect(error.status).toBe(502);
  expect(error.message).not.toMatch(/[A-Za-z0-9+/=]{40,}/);
  return error;
}

describe('pagePayUrl', () => {
  it('builds a GET URL on the gateway, signed with the app key, with the trade in biz_content', () => {
    // 16:30 UTC is 00:30 the next day in Beijing: the date must roll over too.
    const url = client.pagePayUrl({ outTradeNo: 'ORDER-URL-1', subject: 'AI 助手会员 · 月卡', amountFen: 1234, expiresAt: new Date('2024-05-01T16:30:00Z') });

    expect(url.startsWith(`${fake.gateway}?`)).toBe(true);
    const params = Object.fromEntries(new URL(url).searchParams);
    expect(params).toMatchObject({
      method: 'alipay.trade.page.pay',
      app_id: FAKE_ALIPAY_APP_ID,
      charset: 'utf-8',
      sign_type: 'RSA2',
      version: '1.0',
      notify_url: FAKE_ALIPAY_NOTIFY_URL,
      return_url: FAKE_ALIPAY_RETURN_URL,
    });
    expect(JSON.parse(params.biz_content)).toEqual({
      out_trade_no: 'ORDER-URL-1',
      product_code: 'FAST_INSTANT_TRADE_PAY',
      total_amount: '12.34',
      subject: 'AI 助手会员 · 月卡',
      time_expire: '2024-05-02 00:30:00',
    });
    // Alipay reads the request timestamp as Beijing time, whatever the server's own zone.
    const stamped = new Date(`${params.timestamp.replace(' ', 'T')}+08:00`).getTime();
    expect(Math.abs(stamped - Date.now())).toBeLessThan(60_000);

    // Checked here by hand rather than by the fake: sorted key=value of everything but sign.
    const { sign, ...signed } = params;
    const content = Object.keys(signed)
      .sort()
      .map((key) => `${key}=${signed[key]}`)
      .join('&');
    expect(createVerify('RSA-SHA256').update(content).verify(fake.appPublicKey, sign, 'base64')).toBe(true);
    expect(createVerify('RSA-SHA256').update(content.replace('12.34', '0.01')).verify(fake.appPublicKey, sign, 'base64')).toBe(false);
  });

  it('gives Alipay a page that opens the trade it describes', async () => {
    const outTradeNo = newOrderNo();
    fake.openPayUrl(client.pagePayUrl({ outTradeNo, subject: 'Pro', amountFen: 5, expiresAt: new Date(Date.now() + 15 * 60_000) }));
    expect(await client.queryTrade(outTradeNo)).toMatchObject({ outTradeNo, status: 'WAIT_BUYER_PAY', totalAmountFen: 5 });
  });
});

describe('queryTrade', () => {
  it('is null for a trade nobody has opened yet', async () => {
    const outTradeNo = newOrderNo();
    expect(await client.queryTrade(outTradeNo)).toBeNull();
    expect(fake.calls.at(-1)).toEqual({ method: 'alipay.trade.query', bizContent: { out_trade_no: outTradeNo }, signatureOk: true });
  });

  it('reports an opened trade as waiting for payment', async () => {
    const outTradeNo = newOrderNo();
    const { tradeNo } = fake.open(outTradeNo, 1234);
    expect(await client.queryTrade(outTradeNo)).toEqual({ outTradeNo, tradeNo, status: 'WAIT_BUYER_PAY', totalAmountFen: 1234 });
  });

  it('reports a paid trade with its amount in fen and when it was paid', async () => {
    const outTradeNo = newOrderNo();
    fake.open(outTradeNo, 1234);
    const { tradeNo, paidAt } = fake.pay(outTradeNo, { amountFen: 99900 });
    const trade = await client.queryTrade(outTradeNo);
    expect(trade).toEqual({ outTradeNo, tradeNo, status: 'TRADE_SUCCESS', totalAmountFen: 99900, paidAt });
    expect(trade?.paidAt).toBeInstanceOf(Date);
  });

  it('refuses an answer whose signature is not Alipay’s', async () => {
    const outTradeNo = newOrderNo();
    fake.open(outTradeNo, 100);
    fake.nextFailure('badResponseSignature');
    const err = await upstreamError(client.queryTrade(outTradeNo));
    expect(err.details).toEqual({ reason: 'ALIPAY_BAD_ANSWER' });
  });

  it('fails upstream on HTTP 500', async () => {
    fake.nextFailure('http500');
    const err = await upstreamError(client.queryTrade(newOrderNo()));
    expect(err.message).toContain('HTTP 500');
    expect(err.details).toEqual({ reason: 'ALIPAY_HTTP_ERROR' });
  });

  it('gives up after the timeout when Alipay hangs', async () => {
    const quick = new AlipayClient(fake.config(), { timeoutMs: 300 });
    fake.nextFailure('hang');
    const started = Date.now();
    const err = await upstreamError(quick.queryTrade(newOrderNo()));
    expect(err.details).toEqual({ reason: 'ALIPAY_UNAVAILABLE' });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('fails upstream when the gateway cannot be reached', async () => {
    const gone = await listenFake(() => undefined);
    await gone.close();
    const err = await upstreamError(new AlipayClient({ ...fake.config(), gateway: `${gone.url}/gateway.do` }).queryTrade(newOrderNo()));
    expect(err.details).toEqual({ reason: 'ALIPAY_UNAVAILABLE' });
  });

  it('fails upstream when Alipay refuses our signature (wrong app private key)', async () => {
    const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' });
    const wrongKey = new AlipayClient({ ...fake.config(), privateKey: String(stranger) });
    const err = await upstreamError(wrongKey.queryTrade(newOrderNo()));
    expect(err.message).toContain('isv.invalid-signature');
    expect(err.details).toEqual({ reason: 'ALIPAY_isv.invalid-signature' });
    expect(fake.calls.at(-1)?.signatureOk).toBe(false);
  });
});

describe('closeTrade', () => {
  it('closes a trade waiting for payment', async () => {
    const outTradeNo = newOrderNo();
    fake.open(outTradeNo, 1234);
    await client.closeTrade(outTradeNo);
    expect(fake.trades.get(outTradeNo)?.status).toBe('TRADE_CLOSED');
    expect(await client.queryTrade(outTradeNo)).toMatchObject({ status: 'TRADE_CLOSED', totalAmountFen: 1234 });
    expect(fake.calls.filter((c) => c.method === 'alipay.trade.close').at(-1)?.bizContent).toEqual({ out_trade_no: outTradeNo });
  });

  it('treats a trade Alipay never saw as closed', async () => {
    const outTradeNo = newOrderNo();
    await expect(client.closeTrade(outTradeNo)).resolves.toBeUndefined();
    expect(fake.trades.has(outTradeNo)).toBe(false);
  });

  it('fails upstream with ACQ.TRADE_STATUS_ERROR when the trade is already paid', async () => {
    const outTradeNo = newOrderNo();
    fake.pay(outTradeNo, { amountFen: 1234 });
    const err = await upstreamError(client.closeTrade(outTradeNo));
    expect(err.message).toContain('ACQ.TRADE_STATUS_ERROR');
    expect(fake.trades.get(outTradeNo)?.status).toBe('TRADE_SUCCESS');
  });
});

describe('verifyNotification', () => {
  let outTradeNo: string;
  beforeEach(() => {
    outTradeNo = newOrderNo();
    fake.pay(outTradeNo, { amountFen: 1234 });
  });

  it('parses a notification signed by Alipay', () => {
    const form = fake.notification(outTradeNo);
    const trade = fake.trades.get(outTradeNo)!;
    expect(client.verifyNotification(form)).toEqual({
      outTradeNo,
      tradeNo: trade.tradeNo,
      status: 'TRADE_SUCCESS',
      totalAmountFen: 1234,
      paidAt: trade.paidAt,
      appId: FAKE_ALIPAY_APP_ID,
      authAppId: FAKE_ALIPAY_APP_ID,
      sellerId: form.seller_id,
      notifyId: form.notify_id,
    });
  });

  it('reads gmt_payment as Beijing time and the fields Alipay signed', () => {
    const form = fake.notification(outTradeNo, { gmt_payment: '2024-05-02 00:30:05', total_amount: '0.5', trade_status: 'TRADE_CLOSED', app_id: '2021000000009999' });
    expect(client.verifyNotification(form)).toMatchObject({
      paidAt: new Date('2024-05-01T16:30:05Z'),
      totalAmountFen: 50,
      status: 'TRADE_CLOSED',
      appId: '2021000000009999',
    });
  });

  it('verifies raw values, so a "%" in the subject does not break it', () => {
    expect(client.verifyNotification(fake.notification(outTradeNo, { subject: '100% 满意 a+b=c&d' }))).not.toBeNull();
  });

  it('is null when the signature is not Alipay’s', () => {
    expect(client.verifyNotification(fake.notification(outTradeNo, { badSignature: true }))).toBeNull();
  });

  it('is null when a field was changed after signing', () => {
    const form = fake.notification(outTradeNo);
    expect(client.verifyNotification({ ...form, total_amount: '0.01' })).toBeNull();
    expect(client.verifyNotification({ ...form, trade_status: 'TRADE_FINISHED' })).toBeNull();
    const { sign: _sign, ...unsigned } = form;
    expect(client.verifyNotification(unsigned)).toBeNull();
  });

  it('is null when a signed field is missing or malformed', () => {
    for (const overrides of [
      { out_trade_no: undefined },
      { notify_id: undefined },
      { total_amount: '12.345' },
      { total_amount: '-1.00' },
      { trade_status: 'TRADE_PENDING' },
      { gmt_payment: '2024-02-30 10:00:00' },
    ]) {
      expect(client.verifyNotification(fake.notification(outTradeNo, overrides))).toBeNull();
    }
  });
});

describe('keys', () => {
  const pemBody = (pem: string) => pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');

  it.each([
    ['PKCS#1 private key, bare base64 public key', { privateKey: 'pkcs1', publicKey: 'base64' }],
    ['PKCS#8 private key, bare base64 public key', { privateKey: 'pkcs8', publicKey: 'base64' }],
    ['PKCS#1 private key, PEM public key', { privateKey: 'pkcs1', publicKey: 'pem' }],
    ['PKCS#8 private key, PEM public key', { privateKey: 'pkcs8', publicKey: 'pem' }],
  ] as const)('signs and verifies with a %s', async (_name, formats) => {
    const config = fake.config(formats);
    expect(config.privateKey).toContain(formats.privateKey === 'pkcs1' ? 'BEGIN RSA PRIVATE KEY' : 'BEGIN PRIVATE KEY');
    expect(config.publicKey.includes('BEGIN PUBLIC KEY')).toBe(formats.publicKey === 'pem');
    const keyed = new AlipayClient(config);
    const outTradeNo = newOrderNo();
    fake.open(outTradeNo, 300);
    expect(await keyed.queryTrade(outTradeNo)).toMatchObject({ status: 'WAIT_BUYER_PAY', totalAmountFen: 300 });
    expect(keyed.verifyNotification(fake.notification(outTradeNo))).toMatchObject({ outTradeNo, totalAmountFen: 300 });
  });

  it.each([
    ['bare base64 PKCS#1', (c: { privateKey: string }) => pemBody(c.privateKey), 'pkcs1' as const],
    ['bare base64 PKCS#8', (c: { privateKey: string }) => pemBody(c.privateKey), 'pkcs8' as const],
    ['PEM with literal \\n and CRLF', (c: { privateKey: string }) => c.privateKey.replace(/\n/g, '\\n').replace('\\n', '\r\n'), 'pkcs1' as const],
  ])('accepts an app private key given as %s', async (_name, rewrite, privateKey) => {
    const config = fake.config({ privateKey });
    const keyed = new AlipayClient({ ...config, privateKey: rewrite(config) });
    const outTradeNo = newOrderNo();
    fake.open(outTradeNo, 1);
    expect(await keyed.queryTrade(outTradeNo)).toMatchObject({ status: 'WAIT_BUYER_PAY', totalAmountFen: 1 });
  });

  it('refuses keys that are not RSA keys, without echoing them', () => {
    expect(() => new AlipayClient({ ...fake.config(), privateKey: 'not-a-key' })).toThrow('The Alipay app private key is not an unencrypted RSA key in PKCS#1 or PKCS#8');
    expect(() => new AlipayClient({ ...fake.config(), publicKey: 'bm90LWEta2V5' })).toThrow('The Alipay public key is not an RSA public key');
  });
});

import { ConfigError, parseConfig } from '../../src/config';
import { WechatPayClient } from '../../src/payments/wechat-pay.client';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeWechatPay, type FakeWechatPay } from '../fakes/wechat-pay';
import { rows } from '../helpers/accounts';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { balanceOf, ledgerOf, pendingOrder, postAlipayNotification, postWechatNotification, startAppWithPayments } from '../helpers/payments';

type Fx = Awaited<ReturnType<typeof startAppWithPayments>>;

/** The fake's default seller_id: the one this server is configured with. */
const OUR_SELLER = '2088102177846881';

describe('notification hardening', () => {
  let fx: Fx;
  beforeAll(async () => {
    fx = await startAppWithPayments({ ALIPAY_SELLER_ID: OUR_SELLER });
  });
  afterAll(() => fx.close());

  const orderStatus = async (outTradeNo: string) => String((await rows(fx.t, 'select status from payment_orders where out_trade_no = ?', [outTradeNo]))[0].status);

  describe('Alipay names our app and seller', () => {
    const paidAtAlipay = async (amount: number) => {
      const o = await pendingOrder(fx.t, 'ALIPAY', amount, { openAlipay: (url) => fx.alipay.openPayUrl(url) });
      fx.alipay.pay(o.outTradeNo);
      return o;
    };

    it.each([
      ['another app_id and auth_app_id', { app_id: '2021000000009999', auth_app_id: '2021000000009999' }],
      ['another app_id and no auth_app_id', { app_id: '2021000000009999', auth_app_id: undefined }],
      ['another seller_id', { seller_id: '2088000000000999' }],
      ['no seller_id', { seller_id: undefined }],
    ])('refuses a genuinely signed notification with %s: fail, nothing credited', async (_name, overrides) => {
      const o = await paidAtAlipay(9);
      const answer = await postAlipayNotification(fx.t, fx.alipay.notification(o.outTradeNo, overrides));
      expect(answer).toEqual({ status: 200, text: 'fail' });
      expect(await balanceOf(fx.t, o.user)).toBe(0);
      expect(await ledgerOf(fx.t, o.user.userId)).toEqual([]);
      expect(await orderStatus(o.outTradeNo)).toBe('PENDING');
    });

    it('accepts our app named as auth_app_id (an app acting for us) with our seller', async () => {
      const o = await paidAtAlipay(2);
      const answer = await postAlipayNotification(fx.t, fx.alipay.notification(o.outTradeNo, { app_id: '2021000000009999' }));
      expect(answer.text).toBe('success');
      expect(await balanceOf(fx.t, o.user)).toBe(200);
    });
  });

  describe('WeChat Pay: a query answering REFUND', () => {
    it('credits nothing for an order we never saw paid, and closes it', async () => {
      const o = await pendingOrder(fx.t, 'WECHAT', 7);
      // Paid and refunded at WeChat Pay (in the merchant platform) before any notification reached us.
      fx.wechat.pay(o.outTradeNo);
      fx.wechat.orders.get(o.outTradeNo)!.trade_state = 'REFUND';
      await fx.t.app.deps.payments.settlement.reconcile();
      expect(await orderStatus(o.outTradeNo)).toBe('FAILED');
      expect(await balanceOf(fx.t, o.user)).toBe(0);
      expect(await ledgerOf(fx.t, o.user.userId)).toEqual([]);
    });
  });
});

describe('WeChat Pay verification keys during the switch to the public key', () => {
  let fx: { t: TestApp; wechat: FakeWechatPay };
  beforeAll(async () => {
    const wechat = await startFakeWechatPay();
    // Both keys configured: the WeChat Pay public key and the platform certificate.
    fx = { wechat, t: await startTestApp({ env: { ...wechat.env(), ...wechat.platformCertEnv() } }) };
  });
  afterAll(async () => {
    await fx.t.close();
    await fx.wechat.close();
  });

  it('accepts notifications signed with the WeChat Pay public key and with the platform certificate, chosen by Wechatpay-Serial', async () => {
    const byKey = await pendingOrder(fx.t, 'WECHAT', 3);
    const keyNote = fx.wechat.notification(byKey.outTradeNo);
    expect(keyNote.headers['Wechatpay-Serial']).toBe(fx.wechat.publicKeyId);
    expect((await postWechatNotification(fx.t, keyNote)).status).toBe(204);
    expect(await balanceOf(fx.t, byKey.user)).toBe(300);

    const byCert = await pendingOrder(fx.t, 'WECHAT', 4);
    const certNote = fx.wechat.notification(byCert.outTradeNo, { platformCert: true });
    expect(certNote.headers['Wechatpay-Serial']).toBe(fx.wechat.platformCertSerial);
    expect((await postWechatNotification(fx.t, certNote)).status).toBe(204);
    expect(await balanceOf(fx.t, byCert.user)).toBe(400);
  });

  it('refuses a platform-certificate signature sent under the public key id, and the reverse', async () => {
    const o = await pendingOrder(fx.t, 'WECHAT', 5);
    const swapped1 = fx.wechat.notification(o.outTradeNo, { platformCert: true, serial: fx.wechat.publicKeyId });
    expect((await postWechatNotification(fx.t, swapped1)).status).toBe(401);
    const swapped2 = fx.wechat.notification(o.outTradeNo, { serial: fx.wechat.platformCertSerial });
    expect((await postWechatNotification(fx.t, swapped2)).status).toBe(401);
    expect(await balanceOf(fx.t, o.user)).toBe(0);
  });

  it('refuses to start with a certificate serial that is not the certificate\'s, or a certificate that is not one', () => {
    const config = fx.wechat.config();
    expect(() => new WechatPayClient({ ...config, platformCert: { serial: '0A0B0C', pem: fx.wechat.platformCertPem } })).toThrow(/SERIAL/);
    expect(() => new WechatPayClient({ ...config, platformCert: { serial: fx.wechat.platformCertSerial, pem: fx.wechat.publicKeyPem } })).toThrow(/not a PEM certificate/);
  });
});

describe('payment settings', () => {
  const problemsOf = (env: Record<string, string>): string[] => {
    try {
      parseConfig(env, mkdtempSync(join(tmpdir(), 'cfg-')));
    } catch (err) {
      if (err instanceof ConfigError) return err.problems;
      throw err;
    }
    return [];
  };
  const production = { NODE_ENV: 'production', JWT_SECRET: 's'.repeat(32), WECHAT_APP_ID: 'a', WECHAT_APP_SECRET: 'b', OPENAI_API_KEY: 'sk-real' };

  it('refuses an http WECHATPAY_NOTIFY_URL in production, and one half of the platform certificate pair', () => {
    expect(problemsOf({ ...production, WECHATPAY_NOTIFY_URL: 'http://example.com/v1/pay/wechat/notify' })).toContain('WECHATPAY_NOTIFY_URL: must be an https URL in production');
    expect(problemsOf({ ...production, WECHATPAY_NOTIFY_URL: 'https://example.com/v1/pay/wechat/notify' }).join('\n')).not.toContain('must be an https URL');
    expect(problemsOf({ WECHATPAY_NOTIFY_URL: 'http://localhost/v1/pay/wechat/notify' }).join('\n')).not.toContain('must be an https URL');
    expect(problemsOf({ WECHATPAY_PLATFORM_CERT_SERIAL: 'ABC' })).toContain('WECHATPAY_PLATFORM_CERT_SERIAL and WECHATPAY_PLATFORM_CERT: set both or neither');
  });
});

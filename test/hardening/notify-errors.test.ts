import { startAppWithPayments } from '../helpers/payments';
import type { TestApp } from '../helpers/test-app';
import { dbState } from './db-state';

/*
 * The payment callbacks answer every refusal in their provider's format, also those made
 * before the handler runs (a body over 64 KiB, a malformed Content-Type), which used to get
 * the /v1 envelope: WeChat Pay reads `{"code": "FAIL", "message"}`, Alipay the text `fail`.
 */

const BIG = 'x'.repeat(65 * 1024);

async function notify(t: TestApp, provider: 'wechat' | 'alipay', contentType: string, body: string) {
  const res = await fetch(`${t.url}/v1/pay/${provider}/notify`, { method: 'POST', headers: { 'content-type': contentType }, body });
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
}

describe('payment notification refusals in the providers’ formats', () => {
  let t: TestApp;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ t, close } = await startAppWithPayments());
  });
  afterAll(() => close());

  it.each([
    ['a body over the limit', 'application/json', BIG, 413],
    ['a malformed Content-Type', '; ;', '{}', 415],
  ])('WeChat Pay: %s is {"code": "FAIL"} with a 4xx', async (_name, contentType, body, status) => {
    const before = await dbState(t);
    const res = await notify(t, 'wechat', contentType, body);
    expect(res.status).toBe(status);
    expect(res.type).toMatch(/^application\/json/);
    expect(JSON.parse(res.text)).toEqual({ code: 'FAIL', message: expect.any(String) });
    expect(await dbState(t)).toBe(before);
  });

  it.each([
    ['a body over the limit', 'application/x-www-form-urlencoded', BIG, 413],
    ['a malformed Content-Type', '; ;', 'a=1', 415],
  ])('Alipay: %s is the text "fail"', async (_name, contentType, body, status) => {
    const before = await dbState(t);
    const res = await notify(t, 'alipay', contentType, body);
    expect(res).toEqual({ status, type: 'text/plain; charset=utf-8', text: 'fail' });
    expect(await dbState(t)).toBe(before);
  });

  it('leaves the handlers’ own answers as they were', async () => {
    const wechat = await notify(t, 'wechat', 'application/json', '{"not":"signed"}');
    expect(wechat.status).toBe(401);
    expect(JSON.parse(wechat.text)).toEqual({ code: 'FAIL', message: 'signature verification failed' });
    expect(await notify(t, 'alipay', 'application/x-www-form-urlencoded', 'out_trade_no=x')).toEqual({ status: 200, type: 'text/plain; charset=utf-8', text: 'fail' });
  });

  it('keeps the /v1 envelope for the other routes', async () => {
    const res = await fetch(`${t.url}/v1/chats`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: BIG.repeat(20) });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ code: 413, data: null, error: { details: { reason: 'BODY_TOO_LARGE' } } });
  });
});

import { login } from '../helpers/accounts';
import { startTestApp, type TestApp } from '../helpers/test-app';

/** How `wx.request({ method: 'POST' })` without `data` arrives: a JSON content type and no body. */
describe('JSON bodies', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  const post = (path: string, body: string, token?: string) =>
    fetch(`${t.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body });

  it('reads an empty body as {}', async () => {
    const { token } = await login(t);
    const res = await post('/v1/auth/logout', '', token);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ code: 200, message: '已成功退出登录' });
    // The token is gone: the logout really ran.
    expect((await post('/v1/auth/logout', '', token)).status).toBe(401);
  });

  it('still refuses a body that is not JSON, or that tries prototype poisoning', async () => {
    for (const body of ['{"a":', 'nope', '{"__proto__":{"admin":true}}']) {
      const res = await post('/v1/chat/message', body);
      expect(res.status).toBe(400);
      expect((await res.json()) as unknown).toMatchObject({ error: { details: { reason: 'MALFORMED_BODY' } } });
    }
  });
});

import { decodeJwt, decodeProtectedHeader } from 'jose';
import { parseConfig } from '../../src/config';
import { rows } from '../helpers/accounts';
import { captureLogs } from '../helpers/log-capture';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { FAKE_WECHAT_SECRET, startFakeWechat } from '../fakes/wechat';
import { WechatLoginFullDocument as LOGIN } from '../generated/graphql';

/** POST /v1/auth/wechat-login's data. */
interface RestLogin {
  token: string;
  expiresAt: string;
  userInfo: { id: string; openid: string; nickName: string; avatar: string | null; createdAt: string };
}

describe('WeChat mini-program login', () => {
  let wechat: Awaited<ReturnType<typeof startFakeWechat>>;
  let t: TestApp;
  const logs = captureLogs(parseConfig({ JWT_SECRET: 'x'.repeat(40) }), 'trace');

  beforeAll(async () => {
    wechat = await startFakeWechat();
    t = await startTestApp({ env: { ...wechat.env(), WECHAT_TIMEOUT_MS: '300', JWT_TTL: '2h' }, overrides: { logger: logs.logger } });
  });
  afterAll(async () => {
    await t.close();
    await wechat.close();
  });

  const userCount = async () => Number((await rows(t, 'select count(*) as n from users'))[0].n);

  it('creates the user on first login and finds the same user on the next', async () => {
    const before = await userCount();
    const first = await t.gql(LOGIN, { input: { code: wechat.code('openid-alice'), userInfo: { nickName: 'Alice', avatarUrl: 'https://img.example/a.png' } } });
    expect(first.status).toBe(200);
    const user = first.body.data!.wechatLogin.userInfo;
    expect(user).toMatchObject({ openid: 'openid-alice', nickName: 'Alice', avatar: 'https://img.example/a.png', balance: 0, settings: { isDarkMode: false, autoRead: false, saveHistory: true } });
    expect(await userCount()).toBe(before + 1);

    const second = await t.gql(LOGIN, { input: { code: wechat.code('openid-alice') } });
    expect(second.body.data!.wechatLogin.userInfo.id).toBe(user.id);
    expect(second.body.data!.wechatLogin.userInfo.nickName).toBe('Alice');
    expect(second.body.data!.wechatLogin.token).not.toBe(first.body.data!.wechatLogin.token);
    expect(await userCount()).toBe(before + 1);
    // The exchange used our app id and secret with grant_type=authorization_code.
    expect(wechat.calls.at(-1)).toMatchObject({ appid: 'wxfake0123456789', secret: FAKE_WECHAT_SECRET, grant_type: 'authorization_code' });
  });

  it('keys a user by unionid when WeChat returns one', async () => {
    const a = await t.gql(LOGIN, { input: { code: wechat.code('openid-in-app-a', 'union-bob') } });
    const b = await t.gql(LOGIN, { input: { code: wechat.code('openid-other', 'union-bob') } });
    expect(b.body.data!.wechatLogin.userInfo.id).toBe(a.body.data!.wechatLogin.userInfo.id);
    const stored = await rows(t, 'select unionid from users where id = ?', [a.body.data!.wechatLogin.userInfo.id]);
    expect(stored[0].unionid).toBe('union-bob');
  });

  it('fills defaults when no profile is sent', async () => {
    const res = await t.gql(LOGIN, { input: { code: wechat.code('openid-carol') } });
    expect(res.body.data!.wechatLogin.userInfo).toMatchObject({ nickName: '微信用户', avatar: null });
  });

  it('issues an HS256 JWT with sub, jti and exp = JWT_TTL, and expiresAt to match', async () => {
    const res = await t.gql(LOGIN, { input: { code: wechat.code('openid-dave') } });
    const { token, expiresAt, userInfo } = res.body.data!.wechatLogin;
    expect(decodeProtectedHeader(token).alg).toBe('HS256');
    const claims = decodeJwt(token);
    expect(claims.sub).toBe(userInfo.id);
    expect(claims.jti).toMatch(/^[0-9a-f-]{36}$/);
    expect(claims.exp! - claims.iat!).toBe(7200);
    expect(new Date(expiresAt).getTime()).toBe(claims.exp! * 1000);
    expect(Object.keys(claims).sort()).toEqual(['exp', 'iat', 'jti', 'sub']);
  });

  it.each([
    ['an unknown code', () => 'never-issued', 'BAD_REQUEST', 400, 'INVALID_CODE'],
    ['WeChat 40029', () => wechat.failingCode({ errcode: 40029 }), 'BAD_REQUEST', 400, 'INVALID_CODE'],
    ['WeChat 45011', () => wechat.failingCode({ errcode: 45011 }), 'RATE_LIMITED', 429, undefined],
    ['WeChat 40226', () => wechat.failingCode({ errcode: 40226 }), 'FORBIDDEN', 403, 'WECHAT_RISKY_USER'],
    ['WeChat -1 (busy)', () => wechat.failingCode({ errcode: -1 }), 'UPSTREAM_ERROR', 502, 'WECHAT_-1'],
    ['a timeout', () => wechat.failingCode({ mode: 'hang' }), 'UPSTREAM_ERROR', 502, 'WECHAT_UNAVAILABLE'],
    ['a non-JSON answer', () => wechat.failingCode({ mode: 'html' }), 'UPSTREAM_ERROR', 502, 'WECHAT_BAD_ANSWER'],
  ])('maps %s to its code and creates nobody', async (_label, makeCode, code, status, reason) => {
    const before = await userCount();
    const res = await t.gql(LOGIN, { input: { code: makeCode() } });
    expect(res.status).toBe(status);
    expect(res.body.errors?.[0].extensions).toMatchObject({ code, status });
    if (reason) expect(res.body.errors?.[0].extensions.details?.reason).toBe(reason);
    if (code === 'RATE_LIMITED') expect(res.body.errors?.[0].extensions.retryAfterSeconds).toBe(60);
    expect(await userCount()).toBe(before);
  });

  it('refuses a used code with BAD_REQUEST (40163)', async () => {
    const code = wechat.code('openid-erin');
    expect((await t.gql(LOGIN, { input: { code } })).status).toBe(200);
    const again = await t.gql(LOGIN, { input: { code } });
    expect(again.status).toBe(400);
    expect(again.body.errors?.[0].extensions.details).toEqual({ field: 'code', reason: 'CODE_USED' });
  });

  it('answers the same errors over REST with the envelope and HTTP status', async () => {
    const ok = await t.rest<RestLogin>('POST', '/v1/auth/wechat-login', { body: { code: wechat.code('openid-rest'), userInfo: { nickName: '小明', avatarUrl: 'https://img.example/m.png' } } });
    expect(ok.status).toBe(200);
    expect(ok.body.code).toBe(200);
    expect(ok.body.message).toBe('success');
    expect(Object.keys(ok.body.data).sort()).toEqual(['expiresAt', 'token', 'userInfo']);
    expect(ok.body.data.userInfo).toEqual({ id: expect.any(String), openid: 'openid-rest', nickName: '小明', avatar: 'https://img.example/m.png', createdAt: expect.any(String) });

    const used = await t.rest('POST', '/v1/auth/wechat-login', { body: { code: 'never-issued' } });
    expect(used.status).toBe(400);
    expect(used.body).toEqual({ code: 400, message: 'The login code is invalid', data: null, error: { code: 400, message: 'The login code is invalid', details: { field: 'code', reason: 'INVALID_CODE' } } });

    const limited = await t.rest('POST', '/v1/auth/wechat-login', { body: { code: wechat.failingCode({ errcode: 45011 }) } });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('60');
  });

  it.each([
    [{ code: '' }, 'code'],
    [{ code: 'x'.repeat(129) }, 'code'],
    [{ code: 'ok', userInfo: { nickName: 'n'.repeat(65) } }, 'userInfo.nickName'],
    [{ code: 'ok', userInfo: { avatarUrl: 'javascript:alert(1)' } }, 'userInfo.avatarUrl'],
  ])('refuses malformed input %j with BAD_REQUEST naming %s, without calling WeChat', async (input, field) => {
    const calls = wechat.calls.length;
    const res = await t.gql(LOGIN, { input });
    expect(res.status).toBe(400);
    expect(res.body.errors?.[0].extensions).toMatchObject({ code: 'BAD_REQUEST', details: { field } });
    expect(wechat.calls.length).toBe(calls);
  });

  it('refuses a REST login without a code with a 400 envelope naming the field', async () => {
    const res = await t.rest('POST', '/v1/auth/wechat-login', { body: { userInfo: {} } });
    expect(res.status).toBe(400);
    expect(res.body.error?.details?.field).toBe('code');
  });

  it('never puts session_key, the code or the app secret in a response or a log line', async () => {
    const code = wechat.code('openid-secretive');
    const gql = await t.gql(LOGIN, { input: { code } });
    const rest = await t.rest('POST', '/v1/auth/wechat-login', { body: { code: wechat.code('openid-secretive') } });
    const everything = JSON.stringify(gql.body) + JSON.stringify(rest.body) + logs.text();
    expect(logs.lines.length).toBeGreaterThan(10);
    expect(wechat.sessionKeys.length).toBeGreaterThan(5);
    for (const key of wechat.sessionKeys) expect(everything).not.toContain(key);
    expect(everything).not.toContain('session_key');
    expect(everything).not.toContain(FAKE_WECHAT_SECRET);
    expect(logs.text()).not.toContain(code);
    const stored = JSON.stringify(await rows(t, 'select * from users'));
    for (const key of wechat.sessionKeys) expect(stored).not.toContain(key);
  });
});

describe('local login (development without WeChat credentials)', () => {
  const logs = captureLogs(parseConfig({ JWT_SECRET: 'x'.repeat(40) }), 'info');
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ overrides: { logger: logs.logger } });
  });
  afterAll(() => t.close());

  it('says so in the startup log', () => {
    expect(logs.text()).toContain('WeChat login is in local mode');
  });

  it('logs any code in as a stable local user: same code, same user; other code, other user', async () => {
    const a1 = (await t.gql(LOGIN, { input: { code: 'my-dev-code' } })).body.data!.wechatLogin.userInfo;
    const a2 = (await t.gql(LOGIN, { input: { code: 'my-dev-code' } })).body.data!.wechatLogin.userInfo;
    const b = (await t.gql(LOGIN, { input: { code: 'another-code' } })).body.data!.wechatLogin.userInfo;
    expect(a1.id).toBe(a2.id);
    expect(b.id).not.toBe(a1.id);
    expect(a1.openid).toMatch(/^local_[0-9a-f]{28}$/);
    expect(a1.openid).not.toContain('my-dev-code');
  });
});

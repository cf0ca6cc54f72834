import { SignJWT } from 'jose';
import { TokenService } from '../../src/accounts/token.service';
import { login, rows } from '../helpers/accounts';
import { openGraphqlWs } from '../helpers/raw-ws';
import { collect, startTestApp, type TestApp } from '../helpers/test-app';
import { LoginDocument, LogoutDocument, MeDocument as ME, ModelIdsDocument } from '../generated/graphql';

const SECRET = 'test-secret-that-is-long-enough-for-hs256-signing';

describe('tokens on every transport', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { JWT_SECRET: SECRET } });
  });
  afterAll(() => t.close());

  /** Every way a token can be bad, each made fresh for one user. */
  async function badTokens(): Promise<Array<[string, string]>> {
    const { token, userId } = await login(t);
    const [h, p, s] = token.split('.');
    const flipped = s[0] === 'A' ? `B${s.slice(1)}` : `A${s.slice(1)}`;
    const expired = await new TokenService(SECRET, 60).issue(userId, new Date(Date.now() - 3600_000));
    const otherSecret = await new TokenService('another-secret-another-secret-another', 3600).issue(userId);
    const hs512 = await new SignJWT({}).setProtectedHeader({ alg: 'HS512' }).setSubject(userId).setJti('x').setExpirationTime('1h').sign(new TextEncoder().encode(SECRET));
    const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${p}.`;
    const revoked = await login(t);
    await t.gql(LogoutDocument, {}, { token: revoked.token });
    return [
      ['tampered', `${h}.${p}.${flipped}`],
      ['expired', expired.token],
      ['signed with another secret', otherSecret.token],
      ['HS512 instead of HS256', hs512],
      ['alg none', unsigned],
      ['garbage', 'not-a-jwt'],
      ['revoked', revoked.token],
    ];
  }

  it('refuses each bad token with UNAUTHENTICATED: GraphQL 401, REST 401 envelope, graphql-ws close 4403', async () => {
    for (const [label, token] of await badTokens()) {
      const gql = await t.gql(ME, {}, { token });
      expect([label, gql.status, gql.body.errors?.[0].extensions.code]).toEqual([label, 401, 'UNAUTHENTICATED']);

      const rest = await t.rest('GET', '/v1/user/info', { token });
      expect([label, rest.status, rest.body.code, rest.body.data]).toEqual([label, 401, 401, null]);

      const ws = await openGraphqlWs(t.wsUrl, { authorization: `Bearer ${token}` });
      expect([label, ws.acked, (await ws.closed).code]).toEqual([label, false, 4403]);
    }
  });

  it('says which: expired or revoked', async () => {
    const tokens = Object.fromEntries(await badTokens());
    expect((await t.gql(ME, {}, { token: tokens.expired })).body.errors?.[0].message).toBe('Token expired');
    expect((await t.gql(ME, {}, { token: tokens.revoked })).body.errors?.[0].message).toBe('Token revoked');
  });

  it('refuses a malformed Authorization header', async () => {
    const { token } = await login(t);
    const res = await t.gql(ME, {}, { headers: { authorization: `Token ${token}` } });
    expect(res.status).toBe(401);
    expect(res.body.errors?.[0].message).toContain('Bearer');
  });

  it('refuses no credential at all with UNAUTHENTICATED on GraphQL, REST and graphql-ws operations', async () => {
    const gql = await t.gql(ME);
    expect([gql.status, gql.body.errors?.[0].extensions.code]).toEqual([401, 'UNAUTHENTICATED']);
    const rest = await t.rest('GET', '/v1/user/info');
    expect(rest.status).toBe(401);
    expect(rest.body.error?.code).toBe(401);
    const res = await collect(t.ws(), ME);
    expect(res.results[0].errors![0].extensions!.code).toBe('UNAUTHENTICATED');
  });

  it('still serves public operations when a stale token is sent (a client re-logging in)', async () => {
    const [, expired] = (await badTokens()).find(([label]) => label === 'expired')!;
    const models = await t.gql(ModelIdsDocument, {}, { token: expired });
    expect(models.status).toBe(200);
    const relogin = await t.gql(LoginDocument, { input: { code: 'again' } }, { token: expired });
    expect(relogin.body.data!.wechatLogin.token).toEqual(expect.any(String));
  });

  it('accepts a good token on all three transports', async () => {
    const { token, userId } = await login(t);
    expect((await t.gql(ME, {}, { token })).body.data!.me.id).toBe(userId);
    expect((await t.rest<{ id: string }>('GET', '/v1/user/info', { token })).body.data.id).toBe(userId);
    const res = await collect(t.ws({ authorization: `Bearer ${token}` }), ME);
    expect(res.results[0].data!.me.id).toBe(userId);
  });
});

describe('logout', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('revokes only the token it was called with, everywhere', async () => {
    const code = `logout-user-${Math.random()}`;
    const a = await login(t, code);
    const b = await login(t, code); // the same user on another device
    expect(b.userId).toBe(a.userId);

    const res = await t.gql(LogoutDocument, {}, { token: a.token });
    expect(res.body).toEqual({ data: { logout: true } });

    expect((await t.gql(ME, {}, { token: a.token })).status).toBe(401);
    expect((await t.rest('GET', '/v1/user/info', { token: a.token })).status).toBe(401);
    expect((await openGraphqlWs(t.wsUrl, { authorization: `Bearer ${a.token}` })).acked).toBe(false);
    expect((await t.gql(ME, {}, { token: b.token })).body.data!.me.id).toBe(a.userId);
    // A second logout with the revoked token is refused like any other use of it.
    expect((await t.gql(LogoutDocument, {}, { token: a.token })).status).toBe(401);
  });

  it('stores the revocation until the token would have expired', async () => {
    const { token } = await login(t);
    await t.gql(LogoutDocument, {}, { token });
    const [row] = await rows(t, 'select * from revoked_tokens order by expires_at desc limit 1');
    const { exp } = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as { exp: number };
    expect(new Date(row.expires_at as string).getTime()).toBe(exp * 1000);
  });

  it('closes an open graphql-ws socket that used the token, and leaves the others open', async () => {
    const code = `socket-user-${Math.random()}`;
    const a = await login(t, code);
    const b = await login(t, code);
    const wsA = await openGraphqlWs(t.wsUrl, { authorization: `Bearer ${a.token}` });
    const wsB = await openGraphqlWs(t.wsUrl, { authorization: `Bearer ${b.token}` });
    expect([wsA.acked, wsB.acked]).toEqual([true, true]);

    await t.gql(LogoutDocument, {}, { token: a.token });
    expect(await wsA.closed).toEqual({ code: 4403, reason: 'Token revoked' });
    expect(wsB.socket.readyState).toBe(wsB.socket.OPEN);
    wsB.socket.close();
  });

  it('answers REST logout with data null and 已成功退出登录', async () => {
    const { token } = await login(t);
    const res = await t.rest('POST', '/v1/auth/logout', { token });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ code: 200, message: '已成功退出登录', data: null });
    expect((await t.rest('POST', '/v1/auth/logout', { token })).status).toBe(401);
    expect((await t.rest('POST', '/v1/auth/logout')).status).toBe(401);
  });
});

describe('token expiry on an open socket', () => {
  it('closes the socket with 4403 when its token expires', async () => {
    const t = await startTestApp({ env: { JWT_TTL: '2' } });
    try {
      const { token } = await login(t);
      const ws = await openGraphqlWs(t.wsUrl, { authorization: `Bearer ${token}` });
      expect(ws.acked).toBe(true);
      expect(await ws.closed).toEqual({ code: 4403, reason: 'Token expired' });
    } finally {
      await t.close();
    }
  });
});

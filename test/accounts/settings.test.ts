import { login } from '../helpers/accounts';
import { invalidVariables, startTestApp, type TestApp } from '../helpers/test-app';
import { SettingsDocument as SETTINGS, UpdateSettingsDocument as UPDATE } from '../generated/graphql';

/** GET /v1/user/info's data. */
interface RestUserInfo {
  id: string;
  openid: string;
  nickName: string;
  avatar: string | null;
  createdAt: string;
  balance: number;
  settings: { isDarkMode: boolean; autoRead: boolean; saveHistory: boolean };
}

describe('user info and settings', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('starts with isDarkMode false, autoRead false, saveHistory true', async () => {
    const { token } = await login(t);
    expect((await t.gql(SETTINGS, {}, { token })).body.data!.me.settings).toEqual({ isDarkMode: false, autoRead: false, saveHistory: true });
  });

  it('changes only the fields given, and keeps them', async () => {
    const { token } = await login(t);
    const first = await t.gql(UPDATE, { input: { isDarkMode: true } }, { token });
    expect(first.body.data!.updateSettings).toEqual({ isDarkMode: true, autoRead: false, saveHistory: true });
    const second = await t.gql(UPDATE, { input: { saveHistory: false } }, { token });
    expect(second.body.data!.updateSettings).toEqual({ isDarkMode: true, autoRead: false, saveHistory: false });
    const empty = await t.gql(UPDATE, { input: {} }, { token });
    expect(empty.body.data!.updateSettings).toEqual({ isDarkMode: true, autoRead: false, saveHistory: false });
    expect((await t.gql(SETTINGS, {}, { token })).body.data!.me.settings).toEqual({ isDarkMode: true, autoRead: false, saveHistory: false });
  });

  it("changes only the viewer's own settings", async () => {
    const a = await login(t);
    const b = await login(t);
    await t.gql(UPDATE, { input: { autoRead: true } }, { token: a.token });
    expect((await t.gql(SETTINGS, {}, { token: b.token })).body.data!.me.settings.autoRead).toBe(false);
  });

  it('refuses malformed values and changes nothing', async () => {
    const { token } = await login(t);
    const res = await t.gql(UPDATE, invalidVariables({ input: { isDarkMode: 'yes' } }), { token });
    expect(res.status).toBe(400);
    expect(res.body.errors?.[0].extensions.code).toBe('BAD_USER_INPUT');
    const rest = await t.rest('PUT', '/v1/user/settings', { token, body: { isDarkMode: 'yes' } });
    expect(rest.status).toBe(400);
    expect(rest.body.error?.details?.field).toBe('isDarkMode');
    expect((await t.gql(SETTINGS, {}, { token })).body.data!.me.settings.isDarkMode).toBe(false);
  });

  it('refuses unauthenticated updates over GraphQL and REST', async () => {
    expect((await t.gql(UPDATE, { input: { isDarkMode: true } })).status).toBe(401);
    expect((await t.rest('PUT', '/v1/user/settings', { body: { isDarkMode: true } })).status).toBe(401);
  });

  it('serves the REST shapes: GET /v1/user/info and PUT /v1/user/settings', async () => {
    const { token, userId } = await login(t, 'rest-shape-user');
    const info = await t.rest<RestUserInfo>('GET', '/v1/user/info', { token });
    expect(info.status).toBe(200);
    expect(info.body).toEqual({
      code: 200,
      message: 'success',
      data: {
        id: userId,
        openid: expect.stringMatching(/^local_/),
        nickName: '微信用户',
        avatar: null,
        createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        balance: 0,
        settings: { isDarkMode: false, autoRead: false, saveHistory: true },
      },
    });
    const put = await t.rest('PUT', '/v1/user/settings', { token, body: { autoRead: true } });
    expect(put.body).toEqual({ code: 200, message: 'success', data: { isDarkMode: false, autoRead: true, saveHistory: true } });
  });
});

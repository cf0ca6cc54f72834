import { randomUUID } from 'node:crypto';
import { User } from '../../src/db/entities/user.entity';
import { dataOf } from '../helpers/replies';
import { fakeWechatSecurity, type FakeWechatSecurity } from '../fakes/wechat-security';
import { startFakeWechat } from '../fakes/wechat';
import { ModeratedLoginDocument, ModeratedSendDocument } from '../generated/graphql';
import { events, footprint, logged, startModeratedApp } from './setup';

/*
 * WeChat's msgSecCheck v2 for users who logged in with the mini-program (MODERATION_WECHAT is
 * on by default when WECHAT_APP_ID is set), against fakes of stable_token and msg_sec_check.
 */
describe('content security: WeChat msgSecCheck', () => {
  let security: FakeWechatSecurity;
  let wechat: Awaited<ReturnType<typeof startFakeWechat>>;
  let app: Awaited<ReturnType<typeof startModeratedApp>>;
  beforeAll(async () => {
    security = fakeWechatSecurity();
    security.risky.set('政治敏感', 20001);
    security.review.add('有点可疑');
    wechat = await startFakeWechat({ extra: security.handle });
    app = await startModeratedApp({ terms: null, env: wechat.env() });
  });
  afterAll(async () => {
    await app.close();
    security.close();
    await wechat.close();
  });

  /** A mini-program user (a fresh openid) and their token. */
  async function wechatUser(openid = `o-${randomUUID()}`) {
    const res = await app.t.gql(ModeratedLoginDocument, { input: { code: wechat.code(openid) } });
    return { openid, token: dataOf(res).wechatLogin.token, userId: dataOf(res).wechatLogin.userInfo.id };
  }
  const send = (token: string, content: string) => app.t.gql(ModeratedSendDocument, { input: { content } }, { token });

  it('refuses risky input with its label, asking with version 2, the comment scene and the openid', async () => {
    const { t, ai } = app;
    const { openid, token, userId } = await wechatUser();
    const before = await footprint(t, ai);
    const checks = security.checks.length;
    const res = await send(token, '一段政治敏感的话');
    expect(res.body.errors?.[0].extensions).toEqual({ code: 'FORBIDDEN', status: 403, details: { field: 'content', reason: 'CONTENT_BLOCKED' } });
    expect(security.checks.slice(checks)).toEqual([{ token: security.current!.token, version: 2, scene: 2, openid, content: '一段政治敏感的话' }]);
    expect(await footprint(t, ai)).toEqual(before);
    expect(await events(t, userId)).toEqual([expect.objectContaining({ stage: 'INPUT', engine: 'wechat', action: 'BLOCK', labels: '20001', field: 'content' })]);
  });

  it('lets pass and review through, and checks the reply in the forum scene', async () => {
    const { token, openid } = await wechatUser();
    const checks = security.checks.length;
    expect(dataOf(await send(token, '有点可疑但无妨')).sendMessage.reply).toMatchObject({ status: 'COMPLETE', content: 'Echo: 有点可疑但无妨' });
    expect(security.checks.slice(checks).map((c) => [c.scene, c.openid, c.content])).toEqual([
      [2, openid, '有点可疑但无妨'],
      [3, openid, 'Echo: 有点可疑但无妨'],
    ]);
  });

  it('withholds a risky reply', async () => {
    const { token } = await wechatUser();
    app.ai.nextReplies.push('回答里有政治敏感的内容');
    expect(dataOf(await send(token, 'hello')).sendMessage.reply).toMatchObject({ status: 'BLOCKED', finishReason: 'CONTENT_FILTER', content: '' });
  });

  it('checks a long text in pieces of at most 2,500 characters', async () => {
    const { token } = await wechatUser();
    const text = `${'长'.repeat(2500)}${'文'.repeat(2500)}${'本'.repeat(1000)}`;
    const checks = security.checks.length;
    app.ai.nextReplies.push('ok');
    expect(dataOf(await send(token, text)).sendMessage.reply.status).toBe('COMPLETE');
    const input = security.checks.slice(checks).filter((c) => c.scene === 2);
    expect(input.map((c) => c.content.length)).toEqual([2500, 2500, 1000]);
    expect(input.map((c) => c.content).join('')).toBe(text);
  });

  it('checks the nickname at login in the profile scene', async () => {
    const checks = security.checks.length;
    const res = await app.t.gql(ModeratedLoginDocument, { input: { code: wechat.code(`o-${randomUUID()}`), userInfo: { nickName: '政治敏感哥' } } });
    expect(res.body.errors?.[0].extensions.details).toEqual({ field: 'userInfo.nickName', reason: 'CONTENT_BLOCKED' });
    expect(security.checks.slice(checks).map((c) => c.scene)).toEqual([1]);
  });

  it('refreshes a token WeChat stopped accepting, once, and checks again', async () => {
    const { token } = await wechatUser();
    await send(token, 'warm up');
    const old = security.current!.token;
    const refreshes = security.tokenCalls.length;
    security.revokeToken();
    const checks = security.checks.length;
    expect(dataOf(await send(token, 'after the token expired')).sendMessage.reply.status).toBe('COMPLETE');
    expect(security.tokenCalls.length).toBe(refreshes + 1);
    expect(security.tokenCalls.at(-1)).toEqual({ grant_type: 'client_credential', appid: wechat.env().WECHAT_APP_ID, secret: wechat.env().WECHAT_APP_SECRET, force_refresh: false });
    // The refused call (with the old token) is not recorded by the fake; the retry and the reply's check are.
    expect(security.checks.slice(checks).map((c) => c.token)).toEqual([security.current!.token, security.current!.token]);
    expect(security.current!.token).not.toBe(old);
  });

  it('skips users WeChat cannot check (61010, 40003), saying so, and users with no mini-program openid at all', async () => {
    const { t, logs } = app;
    const inactive = await wechatUser();
    security.inactiveOpenids.add(inactive.openid);
    expect(dataOf(await send(inactive.token, '政治敏感 but unchecked')).sendMessage.reply.status).toBe('COMPLETE');
    const invalid = await wechatUser();
    security.invalidOpenids.add(invalid.openid);
    expect(dataOf(await send(invalid.token, 'hello')).sendMessage.reply.status).toBe('COMPLETE');
    const skips = logged(logs, 'cannot check this user');
    expect(skips.filter((l) => l.userId === inactive.userId).map((l) => l.level)).toEqual([40, 40]);
    expect(skips.filter((l) => l.userId === invalid.userId).map((l) => l.level)).toEqual([50, 50]);

    // A development login (appId "local") has no openid WeChat knows: no call at all.
    const em = t.app.deps.orm.em.fork();
    const local = em.create(User, { appId: 'local', openid: `local_${randomUUID()}`, nickName: 'dev' });
    await em.flush();
    const devToken = (await t.app.deps.tokens.issue(local.id)).token;
    const checks = security.checks.length;
    expect(dataOf(await send(devToken, '政治敏感 from a dev login')).sendMessage.reply.status).toBe('COMPLETE');
    expect(security.checks.length).toBe(checks);
  });

  it('treats WeChat over its limit (45009) as a checker failure: allowed by default, logged at error', async () => {
    const { token } = await wechatUser();
    const lines = app.logs.lines.length;
    security.nextErrcodes.push(45009);
    expect(dataOf(await send(token, 'hello')).sendMessage.reply.status).toBe('COMPLETE');
    expect(logged({ lines: app.logs.lines.slice(lines) }, 'content checker failed')).toEqual([expect.objectContaining({ level: 50, engine: 'wechat', err: expect.objectContaining({ message: expect.stringContaining('45009') }) })]);
  });
});

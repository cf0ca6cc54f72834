import { ModerationEvent } from '../../src/db/entities/moderation-event.entity';
import { User } from '../../src/db/entities/user.entity';
import { login } from '../helpers/accounts';
import { connectLegacy } from '../helpers/legacy-ws';
import { dataOf } from '../helpers/replies';
import { ChatsDocument } from '../generated/graphql';
import { ModeratedMeDocument, ModeratedSaveChatDocument, ModeratedSendDocument } from '../generated/graphql';
import { count, footprint, startModeratedApp } from './setup';

/*
 * Repeat offenders: MODERATION_STRIKES distinct blocked texts within the window suspend a user
 * for MODERATION_SUSPEND_HOURS. Sending messages and saving chats are refused meanwhile
 * (FORBIDDEN / ACCOUNT_SUSPENDED with suspendedUntil); reading is not. It ends by itself.
 */
describe('content security: suspension', () => {
  let app: Awaited<ReturnType<typeof startModeratedApp>>;
  beforeAll(async () => {
    app = await startModeratedApp({ env: { MODERATION_STRIKES: '3', MODERATION_STRIKE_WINDOW_HOURS: '72', MODERATION_SUSPEND_HOURS: '24' } });
  });
  afterAll(() => app.close());

  const send = (token: string, content: string) => app.t.gql(ModeratedSendDocument, { input: { content } }, { token });
  const reasonOf = (res: Awaited<ReturnType<typeof send>>) => res.body.errors?.[0].extensions.details?.reason;

  it('suspends after the third distinct blocked text, refuses sending and saving until it ends, then starts afresh', async () => {
    const { t, ai } = app;
    const { token, userId } = await login(t);
    expect(reasonOf(await send(token, '敏感词 one'))).toBe('CONTENT_BLOCKED');
    // The same text again (a client retrying) is one strike, not two.
    expect(reasonOf(await send(token, '敏感词 one'))).toBe('CONTENT_BLOCKED');
    expect(reasonOf(await send(token, '敏感词 two'))).toBe('CONTENT_BLOCKED');
    expect(dataOf(await t.gql(ModeratedMeDocument, {}, { token })).me.suspendedUntil).toBeNull();
    expect(dataOf(await send(token, 'a clean message')).sendMessage.reply.status).toBe('COMPLETE');

    const before = Date.now();
    expect(reasonOf(await send(token, 'forbidden word three'))).toBe('CONTENT_BLOCKED');
    const until = dataOf(await t.gql(ModeratedMeDocument, {}, { token })).me.suspendedUntil!;
    expect(Date.parse(until)).toBeGreaterThanOrEqual(before + 24 * 3_600_000);
    expect(Date.parse(until)).toBeLessThanOrEqual(Date.now() + 24 * 3_600_000);
    expect(await count(t, "select count(*) as n from moderation_events where user_id = ? and action = 'BLOCK'", [userId])).toBe(4);

    const footprintBefore = await footprint(t, ai);
    const refused = await send(token, 'a clean message again');
    expect(refused.body.errors?.[0].extensions).toEqual({ code: 'FORBIDDEN', status: 403, suspendedUntil: until, details: { reason: 'ACCOUNT_SUSPENDED', suspendedUntil: until } });
    const rest = await t.rest('POST', '/v1/chat/message', { token, body: { content: 'hello' } });
    expect([rest.status, rest.body.error?.details]).toEqual([403, { reason: 'ACCOUNT_SUSPENDED', suspendedUntil: until }]);
    const saved = await t.gql(ModeratedSaveChatDocument, { input: { messages: [{ role: 'USER', content: 'hi' }] } }, { token });
    expect(saved.body.errors?.[0].extensions).toMatchObject({ code: 'FORBIDDEN', suspendedUntil: until, details: { reason: 'ACCOUNT_SUSPENDED' } });
    const c = await connectLegacy(t.url);
    c.send({ type: 'auth', token });
    await c.waitFor((f) => f.type === 'auth');
    c.send({ type: 'message', data: { content: 'hello' } });
    expect((await c.waitFor((f) => f.type === 'error')).data).toMatchObject({ code: 'FORBIDDEN', details: { reason: 'ACCOUNT_SUSPENDED', suspendedUntil: until } });
    c.socket.close();
    expect(await footprint(t, ai)).toEqual(footprintBefore);
    // Reading goes on.
    expect(dataOf(await t.gql(ChatsDocument, {}, { token })).chats.nodes.length).toBe(1);

    // A day later (the stored times moved a day into the past, as if the clock had moved on)...
    const em = t.app.deps.orm.em.fork();
    const hour = 3_600_000;
    await em.nativeUpdate(ModerationEvent, { userId }, { createdAt: new Date(Date.now() - 25 * hour) });
    await em.nativeUpdate(User, { id: userId }, { suspendedUntil: new Date(Date.now() - hour) });
    expect(dataOf(await send(token, 'back again')).sendMessage.reply.status).toBe('COMPLETE');
    // ...and the strikes before it, though still within the 72-hour window, do not count again: one new hit does not suspend.
    expect(reasonOf(await send(token, '敏感词 four'))).toBe('CONTENT_BLOCKED');
    expect(dataOf(await send(token, 'still fine')).sendMessage.reply.status).toBe('COMPLETE');
  });

  it('leaves other users alone', async () => {
    const { t } = app;
    const a = await login(t);
    const b = await login(t);
    for (const text of ['敏感词 1', '敏感词 2', '敏感词 3']) await send(a.token, text);
    expect(reasonOf(await send(a.token, 'hi'))).toBe('ACCOUNT_SUSPENDED');
    expect(dataOf(await send(b.token, 'hi')).sendMessage.reply.status).toBe('COMPLETE');
  });
});

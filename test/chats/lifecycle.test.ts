import { randomUUID } from 'node:crypto';
import { purgeExpiredChats } from '../../src/jobs/purge';
import { login, rows } from '../helpers/accounts';
import { saveChat, userSays } from '../helpers/chats';
import { sent } from '../helpers/replies';
import { invalidVariables, startTestApp, type TestApp } from '../helpers/test-app';
import { DeleteAllChatsDocument, RateMessageDocument } from '../generated/graphql';
import { count, keywordFile } from '../moderation/setup';


describe('rating a reply', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { MODERATION_KEYWORDS_FILE: keywordFile(['违禁词']) } });
  });
  afterAll(() => t.close());

  const reply = async (token: string) => (await sent(t, token, { content: '你好' })).reply.id;
  const stored = async (id: string) => (await rows(t, 'select rating, rating_comment, rated_at from messages where id = ?', [id]))[0];

  it('sets, replaces and clears a rating with a comment, over GraphQL and REST', async () => {
    const { token } = await login(t);
    const id = await reply(token);
    const up = await t.gql(RateMessageDocument, { messageId: id, rating: 'UP', comment: ' 很好 ' }, { token });
    expect(up.body).toEqual({ data: { rateMessage: { id, rating: 'UP', ratingComment: '很好' } } });
    expect(await stored(id)).toMatchObject({ rating: 'UP', rating_comment: '很好' });

    const down = await t.rest('PUT', `/v1/chat/messages/${id}/rating`, { token, body: { rating: 'down' } });
    expect([down.status, down.body.data]).toEqual([200, { id, rating: 'down', comment: null }]);
    expect(await stored(id)).toMatchObject({ rating: 'DOWN', rating_comment: null });

    const cleared = await t.gql(RateMessageDocument, { messageId: id, rating: null }, { token });
    expect(cleared.body.data!.rateMessage).toEqual({ id, rating: null, ratingComment: null });
    expect(await stored(id)).toEqual({ rating: null, rating_comment: null, rated_at: null });
  });

  it("refuses someone else's message, unknown and malformed ids with NOT_FOUND, changing nothing", async () => {
    const owner = await login(t);
    const other = await login(t);
    const id = await reply(owner.token);
    for (const messageId of [id, '01ARZ3NDEKTSV4RRFFQ69G5FAV', 'not-an-id']) {
      const res = await t.gql(RateMessageDocument, { messageId, rating: 'UP' }, { token: other.token });
      expect(res.body.errors?.[0].extensions.code).toBe('NOT_FOUND');
    }
    expect((await t.rest('PUT', `/v1/chat/messages/${id}/rating`, { token: other.token, body: { rating: 'up' } })).status).toBe(404);
    expect(await stored(id)).toMatchObject({ rating: null });
  });

  it('refuses the user\'s own message, bad ratings, long or blocked comments, and no credential', async () => {
    const { token } = await login(t);
    const id = await reply(token);
    const [userMessage] = await rows(t, "select id from messages where role = 'USER' and chat_id = (select chat_id from messages where id = ?)", [id]);
    const own = await t.gql(RateMessageDocument, { messageId: String(userMessage.id), rating: 'UP' }, { token });
    expect(own.body.errors?.[0].extensions).toMatchObject({ code: 'BAD_REQUEST', details: { reason: 'NOT_RATEABLE' } });

    const bad = await t.gql(RateMessageDocument, invalidVariables({ messageId: id, rating: 'SIDEWAYS' }), { token });
    expect(bad.status).toBe(400);
    const long = await t.gql(RateMessageDocument, { messageId: id, rating: 'DOWN', comment: '长'.repeat(1001) }, { token });
    expect(long.body.errors?.[0].extensions).toMatchObject({ code: 'BAD_REQUEST', details: { field: 'comment', reason: 'TOO_LONG' } });
    const blocked = await t.gql(RateMessageDocument, { messageId: id, rating: 'DOWN', comment: '这是违禁词' }, { token });
    expect(blocked.body.errors?.[0].extensions).toMatchObject({ code: 'FORBIDDEN', details: { field: 'comment', reason: 'CONTENT_BLOCKED' } });
    const commentOnly = await t.gql(RateMessageDocument, { messageId: id, rating: null, comment: 'hm' }, { token });
    expect(commentOnly.body.errors?.[0].extensions).toMatchObject({ code: 'BAD_REQUEST', details: { field: 'rating', reason: 'REQUIRED' } });
    const restBad = await t.rest('PUT', `/v1/chat/messages/${id}/rating`, { token, body: { rating: 'great' } });
    expect(restBad.status).toBe(400);
    expect((await t.gql(RateMessageDocument, { messageId: id, rating: 'UP' })).body.errors?.[0].extensions.code).toBe('UNAUTHENTICATED');
    expect(await stored(id)).toMatchObject({ rating: null, rating_comment: null });
  });
});

describe('deleting all chats', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('needs the phrase word for word; a wrong one deletes nothing', async () => {
    const { token, userId } = await login(t);
    await saveChat(t, token, { title: 'keep', messages: [userSays('hi')] });
    for (const confirm of ['', 'delete all chats', 'DELETE ALL CHATS ', 'yes']) {
      const res = await t.gql(DeleteAllChatsDocument, { confirm }, { token });
      expect(res.body.errors?.[0].extensions).toMatchObject({ code: 'BAD_REQUEST', details: { field: 'confirm', reason: 'CONFIRMATION_REQUIRED' } });
    }
    expect((await t.rest('DELETE', '/v1/chats/all', { token, body: {} })).status).toBe(400);
    expect((await t.gql(DeleteAllChatsDocument, { confirm: 'DELETE ALL CHATS' })).body.errors?.[0].extensions.code).toBe('UNAUTHENTICATED');
    expect(await count(t, 'select count(*) as n from chats where user_id = ?', [userId])).toBe(1);
  });

  it("deletes every chat of the viewer (more than one batch) with their messages and tags, and nobody else's", async () => {
    const me = await login(t);
    const other = await login(t);
    const theirs = await saveChat(t, other.token, { title: 'theirs', messages: [userSays('mine')] });
    for (let i = 0; i < 3; i++) await saveChat(t, me.token, { title: `chat ${i}`, tags: ['t'], messages: [userSays(`第${i}条`)] });
    // Many more, written straight to the table: one call removes them in several batches.
    const now = new Date();
    for (let i = 0; i < 450; i++) {
      await rows(t, 'insert into chats (id, user_id, title, category, is_starred, preview, message_count, created_at, updated_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?)', [
        `01J${randomUUID().replace(/-/g, '').slice(0, 23).toUpperCase()}`,
        me.userId,
        `bulk ${i}`,
        'default',
        false,
        '',
        0,
        now,
        now,
      ]);
    }
    const res = await t.rest<{ deleted: number }>('DELETE', '/v1/chats/all', { token: me.token, body: { confirm: 'DELETE ALL CHATS' } });
    expect([res.status, res.body.data]).toEqual([200, { deleted: 453 }]);
    expect(await count(t, 'select count(*) as n from chats where user_id = ?', [me.userId])).toBe(0);
    expect(await count(t, 'select count(*) as n from messages where user_id = ?', [me.userId])).toBe(0);
    expect(await count(t, "select count(*) as n from chat_tags where tag = 't'", [])).toBe(0);
    expect(await count(t, 'select count(*) as n from chats where id = ?', [theirs.id])).toBe(1);
    // Nothing left: a second call deletes nothing.
    expect((await t.gql(DeleteAllChatsDocument, { confirm: 'DELETE ALL CHATS' }, { token: me.token })).body.data).toEqual({ deleteAllChats: 0 });
  });
});

describe('chat retention', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { CHAT_RETENTION_DAYS: '30' } });
  });
  afterAll(() => t.close());

  it('reads CHAT_RETENTION_DAYS', () => {
    expect(t.config.chatRetentionDays).toBe(30);
  });

  it('deletes chats untouched for longer than the period, in batches, and keeps the rest', async () => {
    const { token, userId } = await login(t);
    const recent = await saveChat(t, token, { title: 'recent', messages: [userSays('new')] });
    const old = await saveChat(t, token, { title: 'old', tags: ['old'], messages: [userSays('旧的')] });
    const longAgo = new Date(Date.now() - 31 * 86_400_000);
    await rows(t, 'update chats set updated_at = ? where id = ?', [longAgo, old.id]);
    for (let i = 0; i < 250; i++) {
      await rows(t, 'insert into chats (id, user_id, title, category, is_starred, preview, message_count, created_at, updated_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?)', [
        `01K${randomUUID().replace(/-/g, '').slice(0, 23).toUpperCase()}`,
        userId,
        `stale ${i}`,
        'default',
        false,
        '',
        0,
        longAgo,
        longAgo,
      ]);
    }
    // One batch per run when limited: the next run goes on where it stopped.
    expect(await purgeExpiredChats(t.app.deps.orm, 30, 1)).toBe(200);
    expect(await purgeExpiredChats(t.app.deps.orm, 30)).toBe(51);
    expect(await purgeExpiredChats(t.app.deps.orm, 30)).toBe(0);
    expect((await rows(t, 'select id from chats where user_id = ?', [userId])).map((r) => r.id)).toEqual([recent.id]);
    expect(await count(t, 'select count(*) as n from messages where chat_id = ?', [old.id])).toBe(0);
    expect(await count(t, 'select count(*) as n from chat_tags where chat_id = ?', [old.id])).toBe(0);
  });
});

import { newId } from '../../src/core/ids';
import { login, rows } from '../helpers/accounts';
import { aiSays, saveChat, userSays } from '../helpers/chats';
import { invalidVariables, startTestApp, type GqlResult, type TestApp } from '../helpers/test-app';
import {
  FullChatDocument,
  ChatIdsDocument,
  ChatMessagesDocument,
  ChatStarsDocument,
  ChatSummaryDocument,
  DeleteChatsDocument,
  SaveFullChatDocument as SAVE,
  type SaveChatInput,
  SearchChatIdsDocument,
  StarChatDocument,
} from '../generated/graphql';

describe('saving and reading chats', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('creates a chat titled after its first user message, with preview, count, tags and default category', async () => {
    const { token } = await login(t);
    const chat = await saveChat(t, token, { messages: [{ role: 'SYSTEM', content: 'be brief' }, userSays('  How do   I cook rice without a rice cooker?  '), aiSays('Use a pot.')], tags: ['food', ' food ', 'howto'] });
    expect(chat).toMatchObject({ title: 'How do I cook rice without a r', preview: 'Use a pot.', category: 'default', tags: ['food', 'howto'], isStarred: false, messageCount: 3 });
    expect(chat.messages.map((m) => [m.role, m.content, m.status, m.chatId])).toEqual([
      ['SYSTEM', 'be brief', 'COMPLETE', chat.id],
      ['USER', '  How do   I cook rice without a rice cooker?  ', 'COMPLETE', chat.id],
      ['ASSISTANT', 'Use a pot.', 'COMPLETE', chat.id],
    ]);
    expect((await rows(t, 'select count(*) as n from messages where chat_id = ?', [chat.id]))[0].n).toBe(3);
  });

  it('names a chat with no user message 新对话 and keeps an explicit title', async () => {
    const { token } = await login(t);
    expect((await saveChat(t, token, { messages: [aiSays('hello')] })).title).toBe('新对话');
    expect((await saveChat(t, token, { title: ' Trip plan ', messages: [userSays('x')] })).title).toBe('Trip plan');
  });

  it('replaces messages, title, category and star of an existing chat, keeping tags when omitted', async () => {
    const { token } = await login(t);
    const chat = await saveChat(t, token, { title: 'old', messages: [userSays('a'), aiSays('b')], tags: ['t1'], category: 'work' });
    const again = await saveChat(t, token, { id: chat.id, messages: [userSays('c')], isStarred: true });
    expect(again).toMatchObject({ id: chat.id, title: 'old', category: 'work', tags: ['t1'], isStarred: true, messageCount: 1, preview: 'c' });
    expect(again.messages.map((m) => m.content)).toEqual(['c']);
    const third = await saveChat(t, token, { id: chat.id, title: 'new', messages: [userSays('d'), aiSays('e')], tags: [], category: 'life' });
    expect(third).toMatchObject({ title: 'new', category: 'life', tags: [], messageCount: 2, preview: 'e' });
    expect(new Date(third.updatedAt).getTime()).toBeGreaterThanOrEqual(new Date(chat.updatedAt).getTime());
    expect((await rows(t, 'select count(*) as n from messages where chat_id = ?', [chat.id]))[0].n).toBe(2);
  });

  it('keeps emoji whole in titles and previews', async () => {
    const { token } = await login(t);
    const chat = await saveChat(t, token, { messages: [userSays('😀'.repeat(40))] });
    expect(Array.from(chat.title)).toHaveLength(30);
    expect(chat.title).toBe('😀'.repeat(30));
  });

  it('opens a chat with its last N messages oldest first, paging backwards with before', async () => {
    const { token } = await login(t);
    const chat = await saveChat(t, token, { messages: Array.from({ length: 12 }, (_, i) => userSays(`m${i}`)) });
    const q = ChatMessagesDocument;
    const page1 = (await t.gql(q, { id: chat.id, last: 5 }, { token })).body.data!.chat;
    expect(page1.messageCount).toBe(12);
    expect(page1.messages.map((m) => m.content)).toEqual(['m7', 'm8', 'm9', 'm10', 'm11']);
    const page2 = (await t.gql(q, { id: chat.id, last: 5, before: page1.messages[0].id }, { token })).body.data!.chat;
    expect(page2.messages.map((m) => m.content)).toEqual(['m2', 'm3', 'm4', 'm5', 'm6']);
    const page3 = (await t.gql(q, { id: chat.id, last: 5, before: page2.messages[0].id }, { token })).body.data!.chat;
    expect(page3.messages.map((m) => m.content)).toEqual(['m0', 'm1']);
    const defaults = (await t.gql(q, { id: chat.id }, { token })).body.data!.chat;
    expect(defaults.messages).toHaveLength(12);
    const bad = await t.gql(q, { id: chat.id, last: 0 }, { token });
    expect(bad.body.errors?.[0].extensions).toMatchObject({ code: 'BAD_REQUEST', details: { field: 'last' } });
  });

  it('stars and unstars without moving the chat in the list', async () => {
    const { token } = await login(t);
    const older = await saveChat(t, token, { messages: [userSays('older')] });
    await saveChat(t, token, { messages: [userSays('newer')] });
    const star = await t.gql(StarChatDocument, { id: older.id, starred: true }, { token });
    expect(star.body.data!.starChat).toEqual({ id: older.id, isStarred: true, updatedAt: older.updatedAt });
    const list = await t.gql(ChatStarsDocument, {}, { token });
    expect(list.body.data!.chats.nodes).toEqual([{ title: 'newer', isStarred: false }, { title: 'older', isStarred: true }]);
    const unstar = await t.gql(StarChatDocument, { id: older.id, starred: false }, { token });
    expect(unstar.body.data!.starChat.isStarred).toBe(false);
  });

  it('deletes many at once, counting only what it deleted, with the messages', async () => {
    const { token } = await login(t);
    const a = await saveChat(t, token, { messages: [userSays('a')] });
    const b = await saveChat(t, token, { messages: [userSays('b')] });
    const keep = await saveChat(t, token, { messages: [userSays('keep')] });
    const res = await t.gql(DeleteChatsDocument, { ids: [a.id, b.id, a.id, 'not-an-id', '01aaaaaaaaaaaaaaaaaaaaaaaa'] }, { token });
    expect(res.body.data!.deleteChats).toBe(2);
    expect((await rows(t, 'select count(*) as n from messages where chat_id in (?, ?)', [a.id, b.id]))[0].n).toBe(0);
    expect((await t.gql(ChatIdsDocument, {}, { token })).body.data!.chats).toEqual({ totalCount: 1, nodes: [{ id: keep.id }] });
    expect((await t.gql(DeleteChatsDocument, { ids: [] }, { token })).body.data!.deleteChats).toBe(0);
  });

  it('refuses more than 100 ids in one delete and deletes nothing', async () => {
    const { token } = await login(t);
    const chat = await saveChat(t, token, { messages: [userSays('x')] });
    const res = await t.gql(DeleteChatsDocument, { ids: [chat.id, ...Array.from({ length: 100 }, (_, i) => `id${i}`)] }, { token });
    expect(res.body.errors?.[0].extensions).toMatchObject({ code: 'BAD_REQUEST', details: { field: 'ids', reason: 'TOO_MANY' } });
    expect((await t.gql(ChatIdsDocument, {}, { token })).body.data!.chats.totalCount).toBe(1);
  });
});

describe('limits: BAD_REQUEST naming the field, and nothing written', () => {
  let t: TestApp;
  let token: string;
  let userId: string;
  let existingId: string;
  beforeAll(async () => {
    t = await startTestApp();
    ({ token, userId } = await login(t));
    existingId = (await saveChat(t, token, { title: 'existing', messages: [userSays('keep me')], tags: ['kept'] })).id;
  });
  afterAll(() => t.close());

  const snapshot = async () => JSON.stringify(await rows(t, 'select c.title, c.category, c.message_count, (select count(*) from messages m where m.user_id = ?) as messages, (select count(*) from chat_tags g where g.user_id = ?) as tags from chats c where c.user_id = ? order by c.id', [userId, userId, userId]));

  it.each<[string, SaveChatInput, string]>([
    ['title', { title: 't'.repeat(201), messages: [] }, 'title'],
    ['category', { category: 'c'.repeat(33), messages: [] }, 'category'],
    ['21 tags', { tags: Array.from({ length: 21 }, (_, i) => `t${i}`), messages: [] }, 'tags'],
    ['a 33-character tag', { tags: ['ok', 'x'.repeat(33)], messages: [] }, 'tags.1'],
    ['an empty tag', { tags: ['  '], messages: [] }, 'tags.0'],
    ['a 32,001-character message', { messages: [userSays('ok'), userSays('长'.repeat(32_001))] }, 'messages.1.content'],
    ['501 messages', { messages: Array.from({ length: 501 }, () => userSays('x')) }, 'messages'],
  ])('%s', async (_label, input, field) => {
    const before = await snapshot();
    for (const id of [undefined, existingId]) {
      const res = await t.gql(SAVE, { input: { ...input, id } }, { token });
      expect(res.status).toBe(400);
      expect(res.body.errors?.[0].extensions).toMatchObject({ code: 'BAD_REQUEST', details: { field } });
    }
    expect(await snapshot()).toBe(before);
  });

  it('accepts exactly the limits', async () => {
    const chat = await saveChat(t, token, {
      title: 't'.repeat(200),
      category: 'c'.repeat(32),
      tags: Array.from({ length: 20 }, (_, i) => `${i}`.padEnd(32, 'x')),
      messages: [userSays('长'.repeat(32_000))],
    });
    expect(chat.messages[0].content).toHaveLength(32_000);
    expect(chat.tags).toHaveLength(20);
  });

  it('accepts 500 messages in one save', async () => {
    const chat = await saveChat(t, token, { messages: Array.from({ length: 500 }, (_, i) => userSays(`m${i}`)) });
    expect(chat.messageCount).toBe(500);
  });

  it('refuses a bad role with BAD_USER_INPUT', async () => {
    const res = await t.gql(SAVE, invalidVariables({ input: { messages: [{ role: 'ROBOT', content: 'x' }] } }), { token });
    expect(res.status).toBe(400);
    expect(res.body.errors?.[0].extensions.code).toBe('BAD_USER_INPUT');
  });
});

describe("someone else's chat is NOT_FOUND on every operation, and untouched", () => {
  let t: TestApp;
  let owner: { token: string; userId: string };
  let other: { token: string; userId: string };
  let chatId: string;
  beforeAll(async () => {
    t = await startTestApp();
    owner = await login(t);
    other = await login(t);
    chatId = (await saveChat(t, owner.token, { title: 'private 秘密', messages: [userSays('secret plan 秘密计划')], tags: ['secret'] })).id;
  });
  afterAll(() => t.close());

  it.each<[string, (id: string) => Promise<GqlResult<unknown>>]>([
    ['chat', (id) => t.gql(FullChatDocument, { id }, { token: other.token })],
    ['starChat', (id) => t.gql(StarChatDocument, { id, starred: true }, { token: other.token })],
  ])('%s', async (_op, operateAsOther) => {
    for (const id of [chatId, 'malformed', '01aaaaaaaaaaaaaaaaaaaaaaaa']) {
      const res = await operateAsOther(id);
      expect([id, res.status, res.body.errors?.[0].extensions.code]).toEqual([id, 404, 'NOT_FOUND']);
    }
    const mine = await t.gql(ChatSummaryDocument, { id: chatId }, { token: owner.token });
    expect(mine.body.data!.chat).toEqual({ title: 'private 秘密', isStarred: false, messageCount: 1 });
  });

  it('saveChat', async () => {
    const before = await rows(t, 'select id, user_id, title, message_count, updated_at from chats order by id');
    const res = await t.gql(SAVE, { input: { id: chatId, title: 'hijacked', messages: [userSays('pwned')], tags: [] } }, { token: other.token });
    expect([res.status, res.body.errors?.[0].extensions.code]).toEqual([404, 'NOT_FOUND']);
    expect(await rows(t, 'select id, user_id, title, message_count, updated_at from chats order by id')).toEqual(before);
    expect(await rows(t, 'select content from messages where chat_id = ?', [chatId])).toEqual([{ content: 'secret plan 秘密计划' }]);
    expect(await rows(t, 'select tag from chat_tags where chat_id = ?', [chatId])).toEqual([{ tag: 'secret' }]);
  });

  it('deleteChats ignores it silently', async () => {
    const res = await t.gql(DeleteChatsDocument, { ids: [chatId] }, { token: other.token });
    expect(res.body.data!.deleteChats).toBe(0);
    expect((await rows(t, 'select count(*) as n from chats where id = ?', [chatId]))[0].n).toBe(1);
  });

  it('chats and searchChats never show it', async () => {
    expect((await t.gql(ChatIdsDocument, {}, { token: other.token })).body.data!.chats.totalCount).toBe(0);
    for (const q of ['秘密', 'secret', 'private']) {
      const res = await t.gql(SearchChatIdsDocument, { q }, { token: other.token });
      expect(res.body.data!.searchChats).toEqual({ totalCount: 0, nodes: [] });
    }
  });

  it('every chat operation needs a credential', async () => {
    const anonymous: Array<[string, () => Promise<GqlResult<unknown>>]> = [
      ['chats', () => t.gql(ChatIdsDocument)],
      ['chat', () => t.gql(FullChatDocument, { id: chatId })],
      ['searchChats', () => t.gql(SearchChatIdsDocument, { q: 'x' })],
      ['saveChat', () => t.gql(SAVE, { input: { messages: [] } })],
      ['deleteChats', () => t.gql(DeleteChatsDocument, { ids: [chatId] })],
      ['starChat', () => t.gql(StarChatDocument, { id: chatId, starred: true })],
    ];
    for (const [operation, send] of anonymous) {
      const res = await send();
      expect([operation, res.status]).toEqual([operation, 401]);
    }
  });
});

describe('saveChat with an id the client made', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('creates the chat with an unused well-formed id, then replaces it on the next save', async () => {
    const { token, userId } = await login(t);
    const id = newId();
    const chat = await saveChat(t, token, { id, title: 'offline', messages: [userSays('made offline')], tags: ['draft'] });
    expect(chat).toMatchObject({ id, title: 'offline', tags: ['draft'], messageCount: 1, preview: 'made offline' });
    expect(await rows(t, 'select id, user_id, title from chats where id = ?', [id])).toEqual([{ id, user_id: userId, title: 'offline' }]);
    const again = await saveChat(t, token, { id, messages: [userSays('synced'), aiSays('ok')] });
    expect(again).toMatchObject({ id, title: 'offline', tags: ['draft'], messageCount: 2, preview: 'ok' });
    expect(await rows(t, 'select count(*) as n from chats where user_id = ?', [userId])).toEqual([{ n: 1 }]);
    expect((await t.gql(ChatIdsDocument, {}, { token })).body.data!.chats).toEqual({ totalCount: 1, nodes: [{ id }] });
  });

  it.each(['malformed', 'UPPERCASE0123456789ABCDEFG', '01aaaaaaaaaaaaaaaaaaaaaaai', '01aaaaaaaaaaaaaaaaaaaaaaaaa'])('refuses the malformed id %s with BAD_REQUEST and writes nothing', async (id) => {
    const { token, userId } = await login(t);
    const res = await t.gql(SAVE, { input: { id, messages: [userSays('x')] } }, { token });
    expect([res.status, res.body.errors?.[0].extensions]).toEqual([400, expect.objectContaining({ code: 'BAD_REQUEST', details: { field: 'id', reason: 'INVALID' } })]);
    expect(await rows(t, 'select count(*) as n from chats where user_id = ?', [userId])).toEqual([{ n: 0 }]);
  });

  it('over POST /v1/chats: creates with the id, NOT_FOUND for someone else\'s, BAD_REQUEST when malformed', async () => {
    const owner = await login(t);
    const other = await login(t);
    const id = newId();
    const created = await t.rest<{ id: string; title: string; messageCount: number }>('POST', '/v1/chats', { token: owner.token, body: { id, title: '离线', messages: [{ role: 'user', content: '你好' }] } });
    expect([created.status, created.body.data]).toEqual([200, expect.objectContaining({ id, title: '离线', messageCount: 1 })]);

    const before = await rows(t, 'select id, user_id, title, message_count from chats order by id');
    const stolen = await t.rest('POST', '/v1/chats', { token: other.token, body: { id, title: 'hijacked', messages: [] } });
    expect([stolen.status, stolen.body.error?.code]).toEqual([404, 404]);
    expect(await rows(t, 'select id, user_id, title, message_count from chats order by id')).toEqual(before);

    const malformed = await t.rest('POST', '/v1/chats', { token: owner.token, body: { id: 'not-an-id', messages: [] } });
    expect([malformed.status, malformed.body.error?.details]).toEqual([400, { field: 'id', reason: 'INVALID' }]);
    expect(await rows(t, 'select count(*) as n from chats where user_id in (?, ?)', [owner.userId, other.userId])).toEqual([{ n: 1 }]);
  });
});

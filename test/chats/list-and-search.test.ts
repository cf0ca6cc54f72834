import { login } from '../helpers/accounts';
import { onMysql } from '../helpers/database';
import { aiSays, saveChat, userSays } from '../helpers/chats';
import { startTestApp, type TestApp } from '../helpers/test-app';
import {
  type ChatFilter,
  ChatListDocument as LIST,
  type ChatListQuery,
  type ChatListQueryVariables,
  ChatsWithRecentMessagesDocument,
  type SaveChatInput,
  SearchChatTitlesDocument as SEARCH,
  type SearchChatTitlesQueryVariables,
} from '../generated/graphql';

type Page = ChatListQuery['chats'];

async function page(t: TestApp, token: string, vars: ChatListQueryVariables): Promise<Page> {
  const res = await t.gql(LIST, vars, { token });
  if (!res.body.data) throw new Error(JSON.stringify(res.body.errors));
  return res.body.data.chats;
}

describe('listing chats', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('lists newest activity first with totalCount and cursor pages', async () => {
    const { token } = await login(t);
    for (let i = 0; i < 7; i++) await saveChat(t, token, { title: `c${i}`, messages: [userSays(`m${i}`)] });
    const p1 = await page(t, token, { first: 3 });
    expect(p1.nodes.map((n) => n.title)).toEqual(['c6', 'c5', 'c4']);
    expect(p1.totalCount).toBe(7);
    expect(p1.pageInfo.hasNextPage).toBe(true);
    const p2 = await page(t, token, { first: 3, after: p1.pageInfo.endCursor });
    expect(p2.nodes.map((n) => n.title)).toEqual(['c3', 'c2', 'c1']);
    const p3 = await page(t, token, { first: 3, after: p2.pageInfo.endCursor });
    expect(p3.nodes.map((n) => n.title)).toEqual(['c0']);
    expect(p3.pageInfo.hasNextPage).toBe(false);
  });

  it('pages correctly while chats are added and updated between pages: no duplicates, no gaps', async () => {
    const { token } = await login(t);
    const original: string[] = [];
    for (let i = 0; i < 30; i++) original.push((await saveChat(t, token, { title: `o${i}`, messages: [userSays(`m${i}`)] })).id);
    const seen: string[] = [];
    let p = await page(t, token, { first: 7 });
    seen.push(...p.nodes.map((n) => n.id));
    let round = 0;
    while (p.pageInfo.hasNextPage) {
      // Between pages: new chats, chats already seen get new messages, and so do chats not seen yet.
      await saveChat(t, token, { title: `new${round}`, messages: [userSays('new')] });
      const unseen = original.filter((id) => !seen.includes(id));
      if (unseen.length) await saveChat(t, token, { id: unseen[unseen.length - 1], messages: [userSays('moved up')] });
      if (unseen.length > 1) await saveChat(t, token, { id: unseen[0], messages: [userSays('moved up too')] });
      await saveChat(t, token, { id: seen[seen.length - 1], messages: [userSays('seen, moved up')] });
      await Promise.all([
        saveChat(t, token, { title: `concurrent${round}`, messages: [userSays('x')] }),
        page(t, token, { first: 7, after: p.pageInfo.endCursor }).then((next) => (p = next)),
      ]);
      seen.push(...p.nodes.map((n) => n.id));
      round++;
    }
    expect(seen.length).toBe(new Set(seen).size); // no duplicates
    expect([...seen].filter((id) => original.includes(id)).sort()).toEqual([...original].sort()); // no gaps
  });

  it('filters by category, tag and starred, each with its own totalCount', async () => {
    const { token } = await login(t);
    await saveChat(t, token, { title: 'w1', category: 'work', tags: ['a', 'b'], messages: [] });
    await saveChat(t, token, { title: 'w2', category: 'work', tags: ['b'], isStarred: true, messages: [] });
    await saveChat(t, token, { title: 'l1', category: 'life', tags: ['a'], isStarred: true, messages: [] });
    await saveChat(t, token, { title: 'd1', messages: [] });
    const titles = async (filter: ChatFilter) => {
      const p = await page(t, token, { filter });
      expect(p.totalCount).toBe(p.nodes.length);
      return p.nodes.map((n) => n.title);
    };
    expect(await titles({ category: 'work' })).toEqual(['w2', 'w1']);
    expect(await titles({ category: 'default' })).toEqual(['d1']);
    expect(await titles({ tag: 'a' })).toEqual(['l1', 'w1']);
    expect(await titles({ tag: 'b', starred: true })).toEqual(['w2']);
    expect(await titles({ starred: false })).toEqual(['d1', 'w1']);
    expect(await titles({ tag: 'zzz' })).toEqual([]);
  });

  it.each([[0], [101], [-1]])('refuses first=%i with BAD_REQUEST', async (first) => {
    const { token } = await login(t);
    const res = await t.gql(LIST, { first }, { token });
    expect(res.body.errors?.[0].extensions).toMatchObject({ code: 'BAD_REQUEST', details: { field: 'first' } });
  });

  it.each([['garbage'], ['eyJzIjoieCJ9'], [Buffer.from('{"s":1,"t":2}').toString('base64url')], ['x'.repeat(500)]])('refuses the malformed cursor %s with BAD_REQUEST', async (after) => {
    const { token } = await login(t);
    const res = await t.gql(LIST, { after }, { token });
    expect(res.status).toBe(400);
    expect(res.body.errors?.[0].extensions).toMatchObject({ code: 'BAD_REQUEST', details: { field: 'after', reason: 'MALFORMED_CURSOR' } });
  });
});

describe('searching chats', () => {
  let t: TestApp;
  let token: string;
  const ids: Record<string, string> = {};
  beforeAll(async () => {
    t = await startTestApp();
    ({ token } = await login(t));
    const chats: Array<[string, Partial<SaveChatInput>]> = [
      ['zh-content', { title: '数学作业', messages: [userSays('这个问题很简单吧'), aiSays('是的')] }],
      ['en-content', { title: 'Greetings', messages: [userSays('Hello World from the SEA')] }],
      ['mixed', { title: 'Models', messages: [userSays('GPT模型和Claude哪个好？')] }],
      ['percent', { title: 'Discount', messages: [userSays('100% off today')] }],
      ['no-percent', { title: 'Plain', messages: [userSays('1000 people came')] }],
      ['underscore', { title: 'Code', messages: [userSays('call my_func() now')] }],
      ['no-underscore', { title: 'Code2', messages: [userSays('call myXfunc() now')] }],
      ['backslash', { title: 'Paths', messages: [userSays('C:\\Users\\me')] }],
      ['bang', { title: 'Bang', messages: [userSays('wow!% really')] }],
      ['content-sea', { title: 'Ocean facts', messages: [userSays('the sea is big')] }],
      ['title-sea', { title: 'Sea trip', messages: [userSays('packing list')] }],
      ['tag-sea', { title: 'Holiday', tags: ['seaside'], messages: [userSays('sunscreen')] }],
    ];
    for (const [key, input] of chats) ids[key] = (await saveChat(t, token, input)).id;
    const other = await login(t);
    await saveChat(t, other.token, { title: '简单 sea 100%', messages: [userSays('简单 hello my_func C:\\Users')] });
  });
  afterAll(() => t.close());

  const search = async (q: string, vars: Omit<SearchChatTitlesQueryVariables, 'q'> = {}) => {
    const res = await t.gql(SEARCH, { q, ...vars }, { token });
    if (!res.body.data) throw new Error(JSON.stringify(res.body.errors));
    return res.body.data.searchChats;
  };
  const found = async (q: string) => (await search(q)).nodes.map((n) => Object.keys(ids).find((k) => ids[k] === n.id));

  it('finds a Chinese substring inside a message ("简单" in "这个问题很简单吧")', async () => {
    expect(await found('简单')).toEqual(['zh-content']);
    expect(await found('数学')).toEqual(['zh-content']);
  });

  it('matches English case-insensitively', async () => {
    expect(await found('hello world')).toEqual(['en-content']);
    expect(await found('HELLO')).toEqual(['en-content']);
  });

  it('matches mixed Chinese and English', async () => {
    expect(await found('gpt模型')).toEqual(['mixed']);
  });

  it('treats %, _, ! and backslashes literally', async () => {
    expect(await found('100%')).toEqual(['percent']);
    expect(await found('%')).toEqual(expect.arrayContaining(['percent', 'bang']));
    expect(await found('%')).toHaveLength(2);
    expect(await found('my_func')).toEqual(['underscore']);
    expect(await found('_')).toEqual(['underscore']);
    expect(await found('\\Users')).toEqual(['backslash']);
    expect(await found('!%')).toEqual(['bang']);
  });

  it('ranks title matches above tag matches above content matches, then newest first', async () => {
    expect(await found('sea')).toEqual(['title-sea', 'tag-sea', 'content-sea', 'en-content']);
  });

  it('pages search results with a cursor', async () => {
    const p1 = await search('sea', { first: 2 });
    expect(p1.totalCount).toBe(4);
    const p2 = await search('sea', { first: 2, after: p1.pageInfo.endCursor });
    expect([...p1.nodes, ...p2.nodes].map((n) => n.id)).toEqual([ids['title-sea'], ids['tag-sea'], ids['content-sea'], ids['en-content']]);
    expect(p2.pageInfo.hasNextPage).toBe(false);
  });

  it('refuses an empty or over-long query with BAD_REQUEST', async () => {
    for (const q of ['', '   ', 'x'.repeat(101)]) {
      const res = await t.gql(SEARCH, { q }, { token });
      expect(res.body.errors?.[0].extensions).toMatchObject({ code: 'BAD_REQUEST', details: { field: 'query' } });
    }
  });
});

describe('no N+1: a list costs a fixed number of SQL statements', () => {
  it(`lists 50 chats with their last 5 messages, tags and counts in as many statements as 5 (${onMysql() ? 'MySQL' : 'SQLite'})`, async () => {
    let counting = false;
    let statements = 0;
    const t = await startTestApp({ onQuery: () => counting && statements++ });
    try {
      const { token } = await login(t);
      for (let i = 0; i < 50; i++) {
        await saveChat(t, token, { title: `c${i}`, tags: [`t${i % 3}`, 'all'], messages: Array.from({ length: 8 }, (_, j) => userSays(`m${i}-${j}`)) });
      }
      const count = async (first: number) => {
        statements = 0;
        counting = true;
        const res = await t.gql(ChatsWithRecentMessagesDocument, { first }, { token });
        counting = false;
        const { nodes } = res.body.data!.chats;
        expect(nodes).toHaveLength(first);
        expect(nodes[0].messages.map((m) => m.content)).toEqual(['m49-3', 'm49-4', 'm49-5', 'm49-6', 'm49-7']);
        expect(nodes[0].tags).toEqual(['t1', 'all']);
        return statements;
      };
      const five = await count(5);
      const fifty = await count(50);
      expect(fifty).toBe(five);
      expect(five).toBeLessThanOrEqual(6);
    } finally {
      await t.close();
    }
  });
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { login, rows } from '../helpers/accounts';
import { download, gqlImport, restImport, unzip } from '../helpers/chat-files';
import { aiSays, saveChat, userSays } from '../helpers/chats';
import { sent } from '../helpers/replies';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { RateMessageDocument } from '../generated/graphql';
import { count, keywordFile } from '../moderation/setup';

const CHATGPT_FIXTURE = readFileSync(join(__dirname, '../fixtures/chat-import/chatgpt-conversations.json'));

interface ExportedMessage {
  id: string;
  position: number;
  role: string;
  content: string;
  reasoning: string | null;
  status: string;
  finishReason: string | null;
  model: string | null;
  createdAt: string;
  rating: string | null;
  ratingComment: string | null;
  /** With message versions. */
  parentId?: string | null;
  selectedRank?: number | null;
  onPath?: boolean;
}
interface ExportedChat {
  id: string;
  title: string;
  category: string;
  tags: string[];
  isStarred: boolean;
  createdAt: string;
  updatedAt: string;
  messages: ExportedMessage[];
}
interface ExportDocument {
  format: string;
  version: number;
  exportedAt: string;
  chats: ExportedChat[];
}

/** SQLite answers epoch milliseconds, MySQL a Date or a UTC string. */
function iso(value: unknown): string {
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'string' && !/[zZ+]/.test(value.slice(19))) return new Date(`${value.replace(' ', 'T')}Z`).toISOString();
  return new Date(value as number | string).toISOString();
}

/** A user's chats as the database holds them, in the export's shape (chats by id, messages by position). */
async function stored(t: TestApp, userId: string): Promise<ExportedChat[]> {
  const chats = await rows(t, 'select * from chats where user_id = ? order by id', [userId]);
  return Promise.all(
    chats.map(async (c) => ({
      id: c.id as string,
      title: c.title as string,
      category: c.category as string,
      tags: (await rows(t, 'select tag from chat_tags where chat_id = ? order by position', [c.id])).map((r) => r.tag as string),
      isStarred: c.is_starred === true || Number(c.is_starred) === 1,
      createdAt: iso(c.created_at),
      updatedAt: iso(c.updated_at),
      messages: (await rows(t, 'select * from messages where chat_id = ? order by position', [c.id])).map((m) => ({
        id: m.id as string,
        position: Number(m.position),
        role: m.role as string,
        content: m.content as string,
        reasoning: (m.reasoning as string | null) ?? null,
        status: m.status as string,
        finishReason: (m.finish_reason as string | null) ?? null,
        model: (m.model as string | null) ?? null,
        createdAt: iso(m.created_at),
        rating: (m.rating as string | null) ?? null,
        ratingComment: (m.rating_comment as string | null) ?? null,
        // The version columns, when this server has them.
        ...('parent_id' in m ? { parentId: (m.parent_id as string | null) ?? null } : {}),
        ...('selected_rank' in m ? { selectedRank: m.selected_rank == null ? null : Number(m.selected_rank) } : {}),
        ...('on_path' in m ? { onPath: m.on_path === true || Number(m.on_path) === 1 } : {}),
      })),
    })),
  );
}

async function exportJson(t: TestApp, token: string): Promise<ExportDocument> {
  const res = await download(t, 'json', token);
  expect(res.status).toBe(200);
  return JSON.parse(res.bytes.toString('utf8')) as ExportDocument;
}

/** What an import must carry over (ids and statuses are the importer's own). */
const portable = (chats: ExportedChat[], withTree = true) =>
  chats.map((c) => ({
    title: c.title,
    category: c.category,
    tags: c.tags,
    isStarred: c.isStarred,
    createdAt: c.createdAt,
    updatedAt: c.updatedAt,
    messages: c.messages.map((m) => ({
      role: m.role,
      content: m.content,
      reasoning: m.reasoning,
      model: m.model,
      createdAt: m.createdAt,
      // The tree by place in the chat, since ids change.
      ...(withTree && m.parentId !== undefined ? { parent: c.messages.findIndex((p) => p.id === m.parentId), onPath: m.onPath, selectedRank: m.selectedRank } : {}),
    })),
  }));

/** Every row count an import may change. */
const footprint = async (t: TestApp) => ({
  chats: await count(t, 'select count(*) as n from chats'),
  messages: await count(t, 'select count(*) as n from messages'),
  tags: await count(t, 'select count(*) as n from chat_tags'),
});

describe('exporting and importing chats', () => {
  let t: TestApp;
  let owner: { token: string; userId: string };
  let other: { token: string; userId: string };

  beforeAll(async () => {
    t = await startTestApp({ env: { MODERATION_KEYWORDS_FILE: keywordFile(['违禁词']) } });
    owner = await login(t);
    other = await login(t);
    const trip = await saveChat(t, owner.token, {
      title: '旅行计划：杭州',
      messages: [
        { ...userSays('去哪儿玩？'), timestamp: '2024-02-22T14:30:00.000Z' },
        { ...aiSays('杭州西湖，\n还有"灵隐寺"。'), timestamp: '2024-02-22T14:30:05.000Z' },
        { ...userSays('谢谢 🙏'), timestamp: '2024-02-22T14:31:00.000Z' },
      ],
      category: 'travel',
      tags: ['旅行', '杭州'],
      isStarred: true,
    });
    const rated = await t.gql(RateMessageDocument, { messageId: trip.messages[1].id, rating: 'UP', comment: '很好' }, { token: owner.token });
    expect(rated.body.errors).toBeUndefined();
    await sent(t, owner.token, { content: '你好，介绍一下自己' });
    // Same title as the first, with a slash: the zip needs two safe, different names.
    await saveChat(t, owner.token, { title: '旅行计划：杭州', messages: [userSays('第二份')] });
    await saveChat(t, owner.token, { title: 'a/b: c?', messages: [userSays('路径')] });
    await saveChat(t, other.token, { title: '别人的秘密', messages: [userSays('B 的秘密内容')], tags: ['私密'] });
  });
  afterAll(() => t.close());

  it('exports every chat and message of the caller as JSON, field for field as stored, and nobody else’s', async () => {
    const res = await download(t, 'json', owner.token);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="chats-\d{8}\.json"$/);
    const doc = JSON.parse(res.bytes.toString('utf8')) as ExportDocument;
    expect(doc).toEqual({ format: 'chat-assistant-export', version: 1, exportedAt: expect.any(String), chats: await stored(t, owner.userId) });
    expect(doc.chats.map((c) => c.messages.length)).toEqual([3, 2, 1, 1]);
    const trip = doc.chats[0];
    expect(trip).toMatchObject({ title: '旅行计划：杭州', category: 'travel', tags: ['旅行', '杭州'], isStarred: true });
    expect(trip.messages[1]).toMatchObject({ role: 'ASSISTANT', content: '杭州西湖，\n还有"灵隐寺"。', rating: 'UP', ratingComment: '很好', createdAt: '2024-02-22T14:30:05.000Z' });
    expect(doc.chats[1].messages[1]).toMatchObject({ role: 'ASSISTANT', status: 'COMPLETE', finishReason: 'STOP', model: expect.any(String) });
    expect(res.bytes.toString('utf8')).not.toContain('秘密');
  });

  it('exports a zip with one Markdown file per chat, safe unique names, Chinese intact', async () => {
    const res = await download(t, 'markdown', owner.token);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/zip');
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="chats-\d{8}\.zip"$/);
    const files = unzip(res.bytes);
    const names = [...files.keys()];
    expect(names).toHaveLength(4);
    expect(names).toEqual(expect.arrayContaining(['旅行计划：杭州.md', '旅行计划：杭州 (2).md', 'a_b_ c_.md']));
    for (const name of names) expect(name).toMatch(/^[^/\\:*?"<>|]+\.md$/);
    const trip = files.get('旅行计划：杭州.md')!;
    expect(trip.startsWith('# 旅行计划：杭州\n')).toBe(true);
    expect(trip).toContain('- 标签：旅行、杭州');
    expect(trip).toContain('**用户** · 2024-02-22 14:30:00 UTC\n\n去哪儿玩？\n');
    expect(trip).toContain('**AI** · 2024-02-22 14:30:05 UTC\n\n杭州西湖，\n还有"灵隐寺"。\n');
    expect(trip).toContain('谢谢 🙏');
    expect([...files.values()].join('')).not.toContain('秘密');
  });

  it('imports its own export into a new account as the same chats with new ids (GraphQL and REST)', async () => {
    const original = await exportJson(t, owner.token);
    const file = JSON.stringify(original);
    const othersBefore = JSON.stringify(await stored(t, other.userId));

    const fresh = await login(t);
    const res = await gqlImport(t, file, { token: fresh.token });
    expect(res.body).toEqual({ data: { importChats: { imported: 4, failed: [] } } });
    const copy = await exportJson(t, fresh.token);
    expect(portable(copy.chats)).toEqual(portable(original.chats));
    expect(copy.chats.map((c) => c.id).filter((id) => original.chats.some((o) => o.id === id))).toEqual([]);
    expect(copy.chats.flatMap((c) => c.messages).every((m) => m.status === 'COMPLETE')).toBe(true);

    // Imported again by its owner: added beside the originals, which stay as they were.
    const ownerBefore = await stored(t, owner.userId);
    const again = await restImport(t, file, { token: owner.token, format: 'native' });
    expect([again.status, again.body.data]).toEqual([200, { imported: 4, failed: [] }]);
    const ownerAfter = await stored(t, owner.userId);
    expect(ownerAfter).toHaveLength(8);
    expect(ownerAfter.filter((c) => ownerBefore.some((b) => b.id === c.id))).toEqual(ownerBefore);
    expect(JSON.stringify(await stored(t, other.userId))).toBe(othersBefore);
  });

  it("imports ChatGPT's conversations.json: the path to current_node, text parts only", async () => {
    const user = await login(t);
    const res = await restImport(t, CHATGPT_FIXTURE, { token: user.token, format: 'chatgpt' });
    expect([res.status, res.body.data]).toEqual([200, { imported: 2, failed: [] }]);
    const chats = await stored(t, user.userId);
    expect(portable(chats, false)).toEqual([
      {
        title: '杭州三日游',
        category: 'default',
        tags: [],
        isStarred: false,
        createdAt: '2024-02-22T14:30:00.123Z',
        updatedAt: '2024-02-22T14:35:00.500Z',
        messages: [
          { role: 'USER', content: '帮我规划一个杭州三日游 🚄', reasoning: null, model: null, createdAt: '2024-02-22T14:30:10.000Z' },
          { role: 'ASSISTANT', content: '第一天：西湖、灵隐寺。\n第二天：\n西溪湿地。', reasoning: null, model: 'gpt-4o', createdAt: '2024-02-22T14:31:00.000Z' },
          { role: 'USER', content: '这张图是哪里？', reasoning: null, model: null, createdAt: '2024-02-22T14:33:20.000Z' },
          { role: 'ASSISTANT', content: '这是西湖的断桥。', reasoning: null, model: 'gpt-4o', createdAt: '2024-02-22T14:35:00.000Z' },
        ],
      },
      {
        title: 'Regex help',
        category: 'default',
        tags: [],
        isStarred: false,
        createdAt: '2024-02-23T14:53:20.000Z',
        updatedAt: '2024-02-23T14:55:00.000Z',
        messages: [
          { role: 'USER', content: 'How do I match an email?', reasoning: null, model: null, createdAt: '2024-02-23T14:53:30.000Z' },
          { role: 'ASSISTANT', content: 'Use a library; a regex cannot do it fully.', reasoning: null, model: 'text-davinci-002-render-sha', createdAt: '2024-02-23T14:54:10.000Z' },
        ],
      },
    ]);
    const [chat] = await rows(t, 'select preview, message_count from chats where user_id = ? order by id limit 1', [user.userId]);
    expect(chat).toEqual({ preview: '这是西湖的断桥。', message_count: 4 });

    const gql = await gqlImport(t, CHATGPT_FIXTURE, { token: user.token, format: 'CHATGPT' });
    expect(gql.body.data).toEqual({ importChats: { imported: 2, failed: [] } });
    expect(await count(t, 'select count(*) as n from chats where user_id = ?', [user.userId])).toBe(4);
  });

  it('exports past one batch of chats and one page of messages, every row once and in order', async () => {
    const user = await login(t);
    const message = (i: number) => ({ role: i % 2 ? 'ASSISTANT' : 'USER', content: `第${i}条`, createdAt: new Date(Date.UTC(2024, 0, 1, 0, 0, i)).toISOString() });
    const chats = Array.from({ length: 120 }, (_, c) => ({ title: `对话${c}`, messages: Array.from({ length: c === 7 ? 450 : 2 }, (_, i) => message(i)) }));
    const res = await gqlImport(t, JSON.stringify({ format: 'chat-assistant-export', version: 1, chats }), { token: user.token });
    expect(res.body.data).toEqual({ importChats: { imported: 120, failed: [] } });
    const doc = await exportJson(t, user.token);
    expect(doc.chats).toEqual(await stored(t, user.userId));
    expect(doc.chats.map((c) => c.title)).toEqual(chats.map((c) => c.title));
    expect(doc.chats[7].messages.map((m) => m.content)).toEqual(chats[7].messages.map((m) => m.content));
    const zip = unzip((await download(t, 'markdown', user.token)).bytes);
    expect(zip.size).toBe(120);
    expect(zip.get('对话7.md')!.split('\n---\n').length).toBe(451);
  });

  it('keeps the versions of a native export: the tree, the selected branch, the count and preview', async () => {
    const [probe] = await rows(t, 'select * from messages limit 1');
    if (!('parent_id' in probe)) return; // a server without message versions
    const user = await login(t);
    const m = (id: string, parentId: string | null, position: number, onPath: boolean, content: string, selectedRank: number | null = null) => ({ id, parentId, position, onPath, selectedRank, role: position % 2 ? 'ASSISTANT' : 'USER', content });
    const file = JSON.stringify({
      format: 'chat-assistant-export',
      version: 1,
      chats: [{ title: '版本', messages: [m('u0', null, 0, true, '问'), m('a1', 'u0', 1, false, '旧答'), m('a2', 'u0', 3, true, '新答', 4), m('u3', 'a2', 5, true, '再问')] }],
    });
    const res = await gqlImport(t, file, { token: user.token });
    expect(res.body.data).toEqual({ importChats: { imported: 1, failed: [] } });
    const [chat] = await stored(t, user.userId);
    const idAt = (i: number) => chat.messages[i].id;
    expect(chat.messages.map((x) => [x.position, x.content, x.parentId, x.onPath, x.selectedRank])).toEqual([
      [0, '问', null, true, null],
      [1, '旧答', idAt(0), false, null],
      [3, '新答', idAt(0), true, 4],
      [5, '再问', idAt(2), true, null],
    ]);
    expect(await rows(t, 'select message_count, preview from chats where id = ?', [chat.id])).toEqual([{ message_count: 3, preview: '再问' }]);
  });

  it('refuses a malformed file whole with BAD_REQUEST / MALFORMED_IMPORT, writing nothing', async () => {
    const user = await login(t);
    const before = await footprint(t);
    const native = JSON.stringify({ format: 'chat-assistant-export', version: 1, chats: [] });
    const cases: Array<[string | Buffer, string | undefined]> = [
      ['not json {', undefined],
      ['', undefined],
      [Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), undefined],
      [JSON.stringify({ chats: [] }), undefined],
      [JSON.stringify({ format: 'other-app', version: 1, chats: [] }), undefined],
      [JSON.stringify({ format: 'chat-assistant-export', version: 2, chats: [] }), undefined],
      [JSON.stringify({ format: 'chat-assistant-export', version: 1, chats: {} }), undefined],
      [CHATGPT_FIXTURE, 'NATIVE'],
      [native, 'CHATGPT'],
      ['null', 'CHATGPT'],
    ];
    for (const [file, format] of cases) {
      const res = await gqlImport(t, file, { token: user.token, format });
      expect([res.body.data, res.body.errors?.[0].extensions]).toEqual([null, expect.objectContaining({ code: 'BAD_REQUEST', details: { field: 'file', reason: 'MALFORMED_IMPORT' } })]);
    }
    const rest = await restImport(t, 'not json', { token: user.token });
    expect([rest.status, rest.body.error?.details]).toEqual([400, { field: 'file', reason: 'MALFORMED_IMPORT' }]);
    const unknownFormat = await restImport(t, native, { token: user.token, format: 'xml' });
    expect(unknownFormat.status).toBe(400);
    const badEnum = await gqlImport(t, native, { token: user.token, format: 'XML' });
    expect(badEnum.body.errors?.[0].extensions.code).toBe('BAD_USER_INPUT');

    const tooMany = JSON.stringify({ format: 'chat-assistant-export', version: 1, chats: Array.from({ length: 1001 }, (_, i) => ({ title: `c${i}`, messages: [] })) });
    const many = await gqlImport(t, tooMany, { token: user.token });
    expect(many.body.errors?.[0].extensions).toMatchObject({ code: 'BAD_REQUEST', details: { field: 'file', reason: 'TOO_MANY' } });
    expect(await footprint(t)).toEqual(before);
  });

  it('imports the good chats and reports the blocked, too long and broken ones by index, with no partial rows', async () => {
    const user = await login(t);
    const message = (role: string, content: string) => ({ role, content, createdAt: '2024-03-01T08:00:00.000Z' });
    const file = JSON.stringify({
      format: 'chat-assistant-export',
      version: 1,
      exportedAt: '2024-03-02T00:00:00.000Z',
      chats: [
        { title: '正常一', tags: ['甲'], messages: [message('USER', '你好'), message('ASSISTANT', '你好！')] },
        { title: '被拦截', tags: ['乙'], messages: [message('USER', '第一句没问题'), message('ASSISTANT', '这里有违禁词')] },
        { title: '太长', tags: ['丙'], messages: [message('USER', '短的'), message('ASSISTANT', '长'.repeat(32_001))] },
        { title: '正常二', messages: [message('USER', '再见')] },
        'not a chat',
        { title: '违禁词标题', messages: [message('USER', '内容正常')] },
        { title: '太多消息', messages: Array.from({ length: 501 }, () => message('USER', '多')) },
        { title: '坏角色', messages: [{ role: 'robot', content: 'x' }] },
      ],
    });
    const before = await footprint(t);
    const res = await gqlImport(t, file, { token: user.token });
    expect(res.body.data!.importChats).toEqual({
      imported: 2,
      failed: [
        { index: 1, title: '被拦截', reason: 'CONTENT_BLOCKED' },
        { index: 2, title: '太长', reason: 'TOO_LONG' },
        { index: 4, title: null, reason: 'INVALID' },
        { index: 5, title: '违禁词标题', reason: 'CONTENT_BLOCKED' },
        { index: 6, title: '太多消息', reason: 'TOO_MANY' },
        { index: 7, title: '坏角色', reason: 'INVALID' },
      ],
    });
    expect(await footprint(t)).toEqual({ chats: before.chats + 2, messages: before.messages + 3, tags: before.tags + 1 });
    const chats = await stored(t, user.userId);
    expect(chats.map((c) => [c.title, c.tags, c.messages.map((m) => m.content)])).toEqual([
      ['正常一', ['甲'], ['你好', '你好！']],
      ['正常二', [], ['再见']],
    ]);
  });

  it('needs a credential: import and export refuse anonymous and bad tokens, changing nothing', async () => {
    const before = await footprint(t);
    const file = JSON.stringify(await exportJson(t, owner.token));
    const gql = await gqlImport(t, file);
    expect(gql.body.errors?.[0].extensions.code).toBe('UNAUTHENTICATED');
    const rest = await restImport(t, file);
    expect([rest.status, rest.body.code]).toEqual([401, 401]);
    const badToken = await restImport(t, file, { token: `${owner.token.slice(0, -4)}AAAA` });
    expect(badToken.status).toBe(401);
    for (const format of ['json', 'markdown']) {
      const res = await download(t, format);
      expect(res.status).toBe(401);
      expect(JSON.parse(res.bytes.toString('utf8'))).toMatchObject({ code: 401, data: null, error: { code: 401 } });
      expect((await download(t, format, 'not.a.token')).status).toBe(401);
    }
    expect(await footprint(t)).toEqual(before);
  });

  it('refuses a file over 20 MB with PAYLOAD_TOO_LARGE / FILE_TOO_LARGE, writing nothing', async () => {
    const user = await login(t);
    const before = await footprint(t);
    const big = Buffer.alloc(20 * 1024 * 1024 + 1, 0x20);
    const gql = await gqlImport(t, big, { token: user.token });
    expect(gql.body.errors?.[0].extensions).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', details: { field: 'file', reason: 'FILE_TOO_LARGE' } });
    const rest = await restImport(t, big, { token: user.token });
    expect([rest.status, rest.body.error?.details]).toEqual([413, { field: 'file', reason: 'FILE_TOO_LARGE' }]);
    expect(await footprint(t)).toEqual(before);
  });

  it('exports an empty but valid file for a user without chats, and refuses an unknown format', async () => {
    const user = await login(t);
    const json = await download(t, undefined, user.token);
    expect(json.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(JSON.parse(json.bytes.toString('utf8'))).toEqual({ format: 'chat-assistant-export', version: 1, exportedAt: expect.any(String), chats: [] });
    const zip = await download(t, 'markdown', user.token);
    expect(zip.status).toBe(200);
    expect(unzip(zip.bytes).size).toBe(0);
    const bad = await download(t, 'pdf', user.token);
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.bytes.toString('utf8'))).toMatchObject({ code: 400, data: null, error: { details: { field: 'format', reason: 'INVALID' } } });
  });
});

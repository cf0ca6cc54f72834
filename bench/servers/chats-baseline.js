// Baseline for the chat list and search: the same rows read with hand-written SQL through
// better-sqlite3 on the same database file, serialised with JSON.stringify behind node:http.
const http = require('node:http');
const Database = require('better-sqlite3');

const db = new Database(process.env.BENCH_SQLITE_FILE, { readonly: true });
const userId = process.env.BENCH_USER_ID;
const listChats = db.prepare('select id, title, preview, category, is_starred, message_count, created_at, updated_at from chats where user_id = ? order by updated_at desc, id desc limit 20');
const like = (col) => `lower(${col}) like ? escape '!'`;
const search = db.prepare(`select c.id, c.title, case when ${like('c.title')} then 0 when exists (select 1 from chat_tags t where t.chat_id = c.id and ${like('t.tag')}) then 1 else 2 end as r
  from chats c where c.user_id = ? and (${like('c.title')} or exists (select 1 from chat_tags t where t.chat_id = c.id and ${like('t.tag')})
  or exists (select 1 from messages m where m.chat_id = c.id and ${like('m.content')})) order by r, c.updated_at desc, c.id desc limit 20`);

function chatsWithLastMessages(chats) {
  if (!chats.length) return [];
  const ids = chats.map((c) => c.id);
  const marks = ids.map(() => '?').join(',');
  const tags = db.prepare(`select chat_id, tag from chat_tags where chat_id in (${marks}) order by position`).all(...ids);
  const messages = db
    .prepare(`select * from (select m.id, m.chat_id, m.role, m.content, m.position, m.created_at, row_number() over (partition by m.chat_id order by m.position desc) rn from messages m where m.chat_id in (${marks})) where rn <= 5 order by chat_id, position`)
    .all(...ids);
  return chats.map((c) => ({
    id: c.id,
    title: c.title,
    preview: c.preview,
    messageCount: c.message_count,
    tags: tags.filter((t) => t.chat_id === c.id).map((t) => t.tag),
    messages: messages.filter((m) => m.chat_id === c.id).map((m) => ({ id: m.id, role: m.role, content: m.content, timestamp: new Date(m.created_at).toISOString() })),
  }));
}

http
  .createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const url = new URL(req.url, 'http://x');
      let data;
      if (url.pathname === '/search') {
        const p = `%${url.searchParams.get('q').toLowerCase().replace(/[!%_]/g, (c) => `!${c}`)}%`;
        data = { searchChats: { nodes: search.all(p, p, userId, p, p, p).map((r) => ({ id: r.id, title: r.title })) } };
      } else {
        data = { chats: { nodes: chatsWithLastMessages(listChats.all(userId)) } };
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ data }));
    });
  })
  .listen(0, '127.0.0.1', function () {
    console.log(JSON.stringify({ url: `http://127.0.0.1:${this.address().port}` }));
  });
process.once('SIGTERM', () => process.exit(0));

// A user with 200 chats and 10,000 messages (seeded through the real API). (1) chats(first: 20)
// with each chat's last 5 messages and tags, against hand-written SQL on the same SQLite file;
// (2) searchChats for a Chinese and an English term, latency at one connection, against the
// same LIKE query run by hand.
const { mkdtempSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { startServer, load } = require('../lib');

const WORDS_ZH = ['今天天气很好', '这个问题很简单吧', '请帮我翻译这段话', '推荐一本书', '如何学习编程'];
const WORDS_EN = ['hello there', 'Explain closures in JavaScript', 'write a haiku', 'plan a trip to Hangzhou', 'what is a monad'];

async function gql(url, token, query, variables) {
  const res = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ query, variables }) });
  const body = await res.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

async function seed(url) {
  const login = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: 'mutation { wechatLogin(input: { code: "bench-user" }) { token userInfo { id } } }' }) });
  const { token, userInfo } = (await login.json()).data.wechatLogin;
  const save = 'mutation($input: SaveChatInput!) { saveChat(input: $input) { id } }';
  for (let c = 0; c < 200; c++) {
    const messages = Array.from({ length: 50 }, (_, m) => {
      const pool = (c + m) % 2 ? WORDS_ZH : WORDS_EN;
      return { role: m % 2 ? 'ASSISTANT' : 'USER', content: `${pool[(c * 7 + m) % pool.length]} #${c}-${m} ${'lorem ipsum dolor sit amet '.repeat(3)}` };
    });
    await gql(url, token, save, { input: { title: `Chat ${c}`, tags: [`tag${c % 10}`], messages } });
  }
  return { token, userId: userInfo.id };
}

module.exports = {
  seed,
  name: 'chats: list and search for a user with 200 chats and 10,000 messages',
  async run() {
    const file = join(mkdtempSync(join(tmpdir(), 'bench-chats-')), 'app.db');
    const app = await startServer('app', { BENCH_DATABASE_URL: `sqlite:${file}` });
    const results = [];
    try {
      const { token, userId } = await seed(app.url);
      const baseline = await startServer('chats-baseline', { BENCH_SQLITE_FILE: file, BENCH_USER_ID: userId });
      try {
        const list = JSON.stringify({ query: '{ chats(first: 20) { nodes { id title preview messageCount tags messages(last: 5) { id role content timestamp } } } }' });
        const post = (url, body) => ({ url, method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body });
        const listRows = [
          { label: 'baseline: hand-written SQL + JSON.stringify', ...(await load(post(`${baseline.url}/list`, list))) },
          { label: 'this server: chats(first: 20) with last 5 messages', ...(await load(post(`${app.url}/graphql`, list))) },
        ];
        results.push({ title: 'chats(first: 20), each with its last 5 messages and tags (10 connections)', rows: listRows, baseline: listRows[0] });
        for (const term of ['简单', 'hello']) {
          const search = JSON.stringify({ query: 'query($q: String!) { searchChats(query: $q, first: 20) { nodes { id title } } }', variables: { q: term } });
          const rows = [
            { label: `baseline: the same LIKE query by hand, "${term}"`, ...(await load({ ...post(`${baseline.url}/search?q=${encodeURIComponent(term)}`, ''), connections: 1, method: 'GET', body: undefined })) },
            { label: `this server: searchChats("${term}")`, ...(await load({ ...post(`${app.url}/graphql`, search), connections: 1 })) },
          ];
          results.push({ title: `searchChats("${term}") over 10,000 messages (1 connection: latency)`, rows, baseline: rows[0] });
        }
      } finally {
        await baseline.stop();
      }
    } finally {
      await app.stop();
    }
    return results;
  },
};

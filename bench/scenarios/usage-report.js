// Usage reports over 1,000,000 usage rows (100 days, 1,000 users, 4 models), seeded straight
// into the SQLite file: myUsage (one user's 1,000 rows) and adminUsage (every row of a
// 30-day period) grouped by day, against the same GROUP BY run by hand on the same file.
// Short runs (1 connection: latency is the point; the admin report scans 300,000 rows).
const { mkdtempSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const Database = require('better-sqlite3');
const { startServer, load } = require('../lib');

const ROWS = 1_000_000;
const USERS = 1000;
const DAYS = 100;
const START = Date.parse('2026-01-01T00:00:00+08:00');
const MODELS = ['deepseek-chat', 'deepseek-reasoner', 'qwen-plus', 'echo'];

async function gql(url, token, query) {
  const res = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify({ query }) });
  const body = await res.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

/** A million rows in one transaction (a few seconds); the bench user is user 0 and an admin. */
function seed(file, userId) {
  const db = new Database(file);
  const insert = db.prepare('insert into usage_records (id, user_id, kind, model, upstream, reference, prompt_tokens, completion_tokens, reasoning_tokens, cost, latency_ms, outcome, created_at) values (?, ?, ?, ?, null, null, ?, ?, ?, ?, ?, ?, ?)');
  db.transaction(() => {
    for (let i = 0; i < ROWS; i++) {
      const user = i % USERS === 0 ? userId : `u${String(i % USERS).padStart(25, '0')}`;
      insert.run(`r${String(i).padStart(25, '0')}`, user, 'REPLY', MODELS[i % MODELS.length], 200 + (i % 500), 100 + (i % 300), i % 7, i % 11, 800, 'COMPLETE', START + Math.floor((i / ROWS) * DAYS * 86_400_000));
    }
  })();
  db.prepare("update users set role = 'ADMIN' where id = ?").run(userId);
  db.close();
}

module.exports = {
  name: 'usage reports over 1,000,000 usage rows',
  async run() {
    const file = join(mkdtempSync(join(tmpdir(), 'bench-usage-')), 'app.db');
    const app = await startServer('app', { BENCH_DATABASE_URL: `sqlite:${file}` });
    const results = [];
    try {
      const login = await gql(app.url, null, 'mutation { wechatLogin(input: { code: "bench-usage" }) { token userInfo { id } } }');
      const { token, userInfo } = login.wechatLogin;
      seed(file, userInfo.id);
      const baseline = await startServer('usage-baseline', { BENCH_SQLITE_FILE: file, BENCH_USER_ID: userInfo.id });
      try {
        const period = (days) => ({ from: new Date(START + 10 * 86_400_000).toISOString(), to: new Date(START + (10 + days) * 86_400_000).toISOString() });
        const post = (body) => ({ url: `${app.url}/graphql`, method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body, connections: 1, duration: 5 });
        const fields = 'rows { key requests promptTokens completionTokens reasoningTokens cost revenue } total { requests cost }';
        for (const [field, path, days] of [
          ['myUsage', 'mine', 90],
          ['adminUsage', 'all', 30],
        ]) {
          const { from, to } = period(days);
          const query = JSON.stringify({ query: `query($from: DateTime!, $to: DateTime!) { ${field}(from: $from, to: $to, groupBy: DAY) { ${fields} } }`, variables: { from, to } });
          const rows = [
            { label: `baseline: the same GROUP BY by hand (${path})`, ...(await load({ url: `${baseline.url}/${path}?from=${from}&to=${to}`, method: 'GET', connections: 1, duration: 5 })) },
            { label: `this server: ${field}(groupBy: DAY) over ${days} days`, ...(await load(post(query))) },
          ];
          results.push({ title: `${field} grouped by day over ${days} days of 1,000,000 rows (1 connection: latency)`, rows, baseline: rows[0] });
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

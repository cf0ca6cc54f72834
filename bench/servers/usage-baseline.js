// Baseline for the usage reports: the same GROUP BY on usage_records run by hand through
// better-sqlite3 on the same database file, serialised with JSON.stringify behind node:http.
const http = require('node:http');
const Database = require('better-sqlite3');

const db = new Database(process.env.BENCH_SQLITE_FILE, { readonly: true });
const day = "strftime('%Y-%m-%d', (created_at + 28800000) / 1000, 'unixepoch')";
const sums = 'count(*) as requests, sum(prompt_tokens) as promptTokens, sum(completion_tokens) as completionTokens, sum(reasoning_tokens) as reasoningTokens, sum(cost) as cost';
const mine = db.prepare(`select ${day} as key, ${sums} from usage_records where user_id = ? and created_at >= ? and created_at < ? group by ${day} order by ${day}`);
const all = db.prepare(`select ${day} as key, ${sums} from usage_records where created_at >= ? and created_at < ? group by ${day} order by ${day}`);

http
  .createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const url = new URL(req.url, 'http://x');
      const from = Date.parse(url.searchParams.get('from'));
      const to = Date.parse(url.searchParams.get('to'));
      const rows = url.pathname === '/mine' ? mine.all(process.env.BENCH_USER_ID, from, to) : all.all(from, to);
      const total = rows.reduce((t, r) => ({ ...t, requests: t.requests + r.requests, cost: t.cost + r.cost }), { key: 'total', requests: 0, cost: 0 });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ data: { report: { rows, total } } }));
    });
  })
  .listen(0, '127.0.0.1', function () {
    console.log(JSON.stringify({ url: `http://127.0.0.1:${this.address().port}` }));
  });

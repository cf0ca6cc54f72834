// Scaling out: the real app on MariaDB + Redis, one instance vs two, under a mixed workload.
//
// What it measures
//   Completed operations per second (all kinds) and p50/p99 latency (all kinds together; per
//   kind in the notes) at rising concurrency, first against one app instance, then against two
//   fresh instances sharing one database and one Redis (as behind a round-robin balancer).
//   Raising stops at "the knee": the first level whose p99 is over BENCH_SCALE_KNEE_MS (500),
//   or where more than 1 % of operations failed. The throughput "at the knee" is that of the
//   last level below it. Table 1 is one instance, table 2 two instances; both use one
//   instance's best level below the knee as the baseline, so table 2's ratio column reads as
//   "two instances vs one". The notes add, per level and process, the CPU used in the measured
//   window (app instances, the fake provider, mariadbd, redis-server, this load generator),
//   each app's event-loop delay and RSS (from /__bench_stats), and the errors seen.
//
// How
//   - Needs MariaDB (or MySQL) at mysql://root@127.0.0.1:3306 and Redis at redis://127.0.0.1:6379.
//     Each phase (one instance, two instances) gets its own fresh database bench_scale_<run>_<n>
//     (created and migrated by the first instance to start; the second starts only after it is
//     listening, so migrations never race) and its own REDIS_PREFIX, both seeded the same way,
//     so the two phases start from the same data. Databases and Redis keys are removed at the
//     end, also after an error.
//   - The AI provider is bench/servers/fake-openai.js, set to a short reply (by default 20
//     chunks: 20 ms to the first, 5 ms apart, so >= 115 ms per reply): with the ai-streaming
//     default (440 ms per reply) 30 % of operations would sit near the 500 ms knee from the start.
//   - One virtual user (VU) = one user with its own token and its own graphql-ws client, in a
//     closed loop (next operation as soon as the last one ends, no think time). VU i talks to
//     instance i % instances, over HTTP and WebSocket alike. Each user has BENCH_SCALE_CHATS
//     saved chats of 6 messages (Chinese and English phrases) before anything is measured.
//   - Each iteration picks, by weight (BENCH_SCALE_MIX, default list:40,search:20,stream:30,me:10):
//       list    chats(first: 20) with each chat's last 5 messages and tags
//       search  searchChats(query) for one of the seeded Chinese or English words
//       stream  sendMessage(stream: true) into one of the user's chats over HTTP, then
//               replyStream over the VU's graphql-ws connection until done (latency = from
//               sending the mutation to the done event; the done message must be COMPLETE and
//               hold every chunk the fake sent)
//       me      me { ... }
//   - Per level: VUs start, BENCH_SCALE_WARMUP seconds of warm-up (not counted), then
//     BENCH_SCALE_SECONDS measured (operations completing in the window count), then VUs stop
//     and in-flight operations finish. Every await has a time limit: an operation that takes
//     longer than BENCH_SCALE_OP_TIMEOUT_MS is an error (a stuck stream is reported, not waited
//     for). Errors are counted per level over warm-up, window and drain alike.
//   - Everything runs on one machine: with 2 cores, the load generator (this process), the app
//     instances, the fake, MariaDB and Redis all compete for them; the CPU notes show where the
//     time went, and "total" near 200 % means the machine, not the app, was the limit.
//
// Env: BENCH_SCALE_LEVELS (8,16,32,64,128,256), BENCH_SCALE_SECONDS (10), BENCH_SCALE_WARMUP
//   (2 s), BENCH_SCALE_KNEE_MS (500), BENCH_SCALE_MIX, BENCH_SCALE_CHATS (5 per user),
//   BENCH_SCALE_CHUNKS (20), BENCH_SCALE_CHUNK_MS (5), BENCH_SCALE_FIRST_TOKEN_MS (20),
//   BENCH_SCALE_OP_TIMEOUT_MS (15000), BENCH_SCALE_MYSQL (mysql://root@127.0.0.1:3306),
//   BENCH_SCALE_REDIS (redis://127.0.0.1:6379), BENCH_APP_NODE_ARGS (e.g. "--cpu-prof"),
//   BENCH_SCALE_QUICK=1 (smoke run: levels 4,8, 3 s each, 1 s warm-up).
// A full run takes at most about 3-4 minutes (6 levels x ~13 s x 2 phases, plus start-up and
// seeding 256 users per phase), less when the knee comes early.
const { execFileSync } = require('node:child_process');
const { randomBytes } = require('node:crypto');
const { readFileSync } = require('node:fs');
const { monitorEventLoopDelay, performance } = require('node:perf_hooks');
const { startServer, fmt, pct, ms, withTimeout, timeoutSignal, wsClient, disposeClient, cpuSeconds } = require('../lib');

const QUICK = process.env.BENCH_SCALE_QUICK === '1';
const num = (name, d) => {
  const v = process.env[name];
  return v === undefined || v === '' || !Number.isFinite(Number(v)) ? d : Number(v);
};
const LEVELS = QUICK
  ? [4, 8]
  : (process.env.BENCH_SCALE_LEVELS || '8,16,32,64,128,256')
      .split(',')
      .map(Number)
      .filter((n) => Number.isInteger(n) && n > 0);
const SECONDS = QUICK ? 3 : num('BENCH_SCALE_SECONDS', 10);
const WARMUP = QUICK ? 1 : num('BENCH_SCALE_WARMUP', 2);
const KNEE_MS = num('BENCH_SCALE_KNEE_MS', 500);
const MAX_ERROR_RATE = 0.01;
const CHATS_PER_USER = num('BENCH_SCALE_CHATS', 5);
const CHUNKS = num('BENCH_SCALE_CHUNKS', 20);
const CHUNK_MS = num('BENCH_SCALE_CHUNK_MS', 5);
const FIRST_TOKEN_MS = num('BENCH_SCALE_FIRST_TOKEN_MS', 20);
const OP_TIMEOUT_MS = num('BENCH_SCALE_OP_TIMEOUT_MS', 15_000);
const MYSQL_URL = (process.env.BENCH_SCALE_MYSQL || 'mysql://root@127.0.0.1:3306').replace(/\/+$/, '');
const REDIS_URL = process.env.BENCH_SCALE_REDIS || 'redis://127.0.0.1:6379';
const KINDS = ['list', 'search', 'stream', 'me'];
const MIX = parseMix(process.env.BENCH_SCALE_MIX || 'list:40,search:20,stream:30,me:10');
const FAKE_FLOOR_MS = FIRST_TOKEN_MS + Math.max(0, CHUNKS - 1) * CHUNK_MS;
const SEED_CONCURRENCY = 16;
const START_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 20_000;

const WORDS_ZH = ['今天天气很好', '这个问题很简单吧', '请帮我翻译这段话', '推荐一本书', '如何学习编程'];
const WORDS_EN = ['hello there', 'Explain closures in JavaScript', 'write a haiku', 'plan a trip to Hangzhou', 'what is a monad'];
const SEARCH_TERMS = ['简单', '翻译', '编程', 'hello', 'closures', 'Hangzhou'];

const LOGIN = 'mutation($code: String!) { wechatLogin(input: { code: $code }) { token } }';
const SAVE = 'mutation($input: SaveChatInput!) { saveChat(input: $input) { id } }';
const LIST = '{ chats(first: 20) { totalCount nodes { id title preview messageCount tags messages(last: 5) { id role content timestamp } } } }';
const SEARCH = 'query($q: String!) { searchChats(query: $q, first: 20) { totalCount nodes { id title preview } } }';
const ME = '{ me { id openid nickName avatar balance settings { isDarkMode autoRead saveHistory } } }';
const SEND = 'mutation($input: SendMessageInput!) { sendMessage(input: $input) { sessionId messageId reply { status } } }';
const FOLLOW = 'subscription($id: ID!) { replyStream(messageId: $id) { seq done error { code message } message { status content } } }';

function parseMix(spec) {
  const weights = Object.fromEntries(KINDS.map((k) => [k, 0]));
  for (const part of spec.split(',')) {
    const [k, w] = part.split(':').map((s) => s.trim());
    if (!KINDS.includes(k) || !(Number(w) >= 0)) throw new Error(`BENCH_SCALE_MIX: bad entry "${part}" (kinds: ${KINDS.join(', ')})`);
    weights[k] = Number(w);
  }
  const total = KINDS.reduce((s, k) => s + weights[k], 0);
  if (!(total > 0)) throw new Error('BENCH_SCALE_MIX: weights add up to 0');
  return weights;
}

// ---------------------------------------------------------------- small helpers

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const errText = (err) => String(err?.message ?? err).replace(/\s+/g, ' ').slice(0, 160);

/** A deterministic PRNG per VU (mulberry32), so runs pick the same operation sequence. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const MIX_TOTAL = KINDS.reduce((s, k) => s + MIX[k], 0);
function pickKind(random) {
  let x = random() * MIX_TOTAL;
  for (const k of KINDS) if ((x -= MIX[k]) < 0) return k;
  return KINDS[KINDS.length - 1];
}

/** One GraphQL request over HTTP; throws on a non-2xx answer, GraphQL errors or a timeout. */
async function gql(url, token, query, variables) {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
    signal: timeoutSignal(OP_TIMEOUT_MS),
  });
  const body = await res.json();
  if (!res.ok || body.errors) throw new Error(`HTTP ${res.status} ${JSON.stringify(body.errors ?? body).slice(0, 200)}`);
  return body.data;
}

/** Runs fn over items with at most `n` at once; rejects with the first error. */
async function pool(items, n, fn) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i], i);
      }
    }),
  );
}

// ---------------------------------------------------------------- CPU and memory from /proc

function procMb(pid, key) {
  try {
    return Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
  } catch {
    return NaN;
  }
}
function pgrep(name) {
  try {
    return execFileSync('pgrep', ['-x', name], { encoding: 'utf8', timeout: 5_000 }).split('\n').filter(Boolean).map(Number);
  } catch {
    return []; // none running (pgrep exits 1), or no pgrep
  }
}

/** The processes whose CPU time is watched: the apps, the fake, the database and Redis. */
function watchedProcesses(apps, fake) {
  const db = pgrep('mariadbd');
  const procs = [...apps.map((a, i) => ({ name: `app ${i + 1}`, pids: [a.pid] })), { name: 'fake AI', pids: [fake.pid] }];
  procs.push({ name: db.length ? 'mariadbd' : 'mysqld', pids: db.length ? db : pgrep('mysqld') });
  procs.push({ name: 'redis-server', pids: pgrep('redis-server') });
  return procs.filter((p) => p.pids.length);
}
const cpuSnapshot = (procs) => procs.map((p) => p.pids.reduce((s, pid) => s + cpuSeconds(pid), 0));

// ---------------------------------------------------------------- the app's /__bench_stats

async function benchStats(app, method = 'GET') {
  try {
    const res = await fetch(`${app.url}/__bench_stats${method === 'POST' ? '/reset' : ''}`, { method, signal: timeoutSignal(5_000) });
    return await res.json();
  } catch (err) {
    return { error: errText(err) };
  }
}

// ---------------------------------------------------------------- the operations

const OPS = {
  async list(vu) {
    await gql(vu.url, vu.token, LIST);
  },
  async search(vu) {
    await gql(vu.url, vu.token, SEARCH, { q: SEARCH_TERMS[Math.floor(vu.random() * SEARCH_TERMS.length)] });
  },
  async me(vu) {
    await gql(vu.url, vu.token, ME);
  },
  /** sendMessage(stream: true), then replyStream until done; returns when done arrived. */
  async stream(vu) {
    const words = vu.random() < 0.5 ? WORDS_ZH : WORDS_EN;
    const sessionId = vu.chatIds[vu.sent++ % vu.chatIds.length];
    const { sendMessage } = await gql(vu.url, vu.token, SEND, { input: { content: `${words[vu.sent % words.length]} #${vu.sent}`, stream: true, sessionId } });
    let unsubscribe = () => {};
    let doneAt;
    const followed = new Promise((resolve, reject) => {
      unsubscribe = vu.ws.subscribe(
        { query: FOLLOW, variables: { id: sendMessage.messageId } },
        {
          next: (r) => {
            if (r.errors) return reject(new Error(`replyStream: ${JSON.stringify(r.errors).slice(0, 200)}`));
            const e = r.data.replyStream;
            if (e.error) return reject(new Error(`reply failed: ${e.error.code} ${e.error.message}`));
            if (!e.done) return;
            doneAt = performance.now();
            const got = (e.message?.content.match(/t\d{13}/g) ?? []).length;
            if (e.message?.status !== 'COMPLETE') reject(new Error(`reply ended ${e.message?.status}`));
            else if (got !== CHUNKS) reject(new Error(`reply held ${got}/${CHUNKS} chunks`));
          },
          error: (err) => reject(err instanceof Error ? err : new Error(`replyStream: ${JSON.stringify(err).slice(0, 200)}`)),
          // The server completes the subscription after the done event.
          complete: () => (doneAt === undefined ? reject(new Error('replyStream completed without done')) : resolve()),
        },
      );
    });
    // Unsubscribing is only needed when we give up; after `complete` it would be noise.
    await withTimeout(followed, OP_TIMEOUT_MS, 'replyStream', () => unsubscribe());
    return doneAt;
  },
};

/** One VU's closed loop until the level stops. Latencies count only inside the window. */
async function vuLoop(vu, level) {
  while (!level.stopped) {
    const kind = pickKind(vu.random);
    const t0 = performance.now();
    try {
      const end = (await withTimeout(OPS[kind](vu), 2 * OP_TIMEOUT_MS + 1_000, kind)) ?? performance.now();
      if (level.measuring) level.lat[kind].push(end - t0);
    } catch (err) {
      level.errors[kind]++;
      const text = `${kind}: ${errText(err)}`;
      if (level.samples.length < 5 && !level.samples.includes(text)) level.samples.push(text);
      await sleep(50); // no hot loop when every call fails at once
    }
  }
}

// ---------------------------------------------------------------- one phase (n instances)

function appEnv(db, prefix, fake) {
  return {
    BENCH_DATABASE_URL: `${MYSQL_URL}/${db}`,
    REDIS_URL,
    REDIS_PREFIX: prefix,
    BENCH_STATS: '1',
    OPENAI_BASE_URL: `${fake.url}/v1`,
    OPENAI_API_KEY: 'sk-bench',
    DEFAULT_MODEL: 'bench-model',
    RATE_LIMIT_PER_MINUTE: '1000000',
    AI_RATE_LIMIT_PER_MINUTE: '1000000',
    LOGIN_RATE_LIMIT_PER_MINUTE: '1000000',
    MAX_CONCURRENT_STREAMS: '1000',
    SHUTDOWN_TIMEOUT_MS: '3000',
  };
}

/** Stops a child server (SIGTERM, then SIGKILL if it has not exited in time). */
async function stopServer(server) {
  try {
    await withTimeout(server.stop(), STOP_TIMEOUT_MS, `stopping pid ${server.pid}`);
  } catch {
    try {
      process.kill(server.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

/** startServer with a time limit; a server that comes up after the limit is stopped at once. */
async function start(name, env, nodeArgs) {
  const starting = startServer(name, env, nodeArgs);
  try {
    return await withTimeout(starting, START_TIMEOUT_MS, `starting ${name}`);
  } catch (err) {
    starting.then(stopServer, () => {});
    throw err;
  }
}

/** Logs in every user and saves its chats (through the instance its VU will use). */
async function seed(vus, runId, phase) {
  await pool(vus, SEED_CONCURRENCY, async (vu) => {
    vu.token = (await gql(vu.url, null, LOGIN, { code: `bench-scale-${runId}-${phase}-${vu.index}` })).wechatLogin.token;
    for (let c = 0; c < CHATS_PER_USER; c++) {
      const messages = Array.from({ length: 6 }, (_, m) => {
        const words = (vu.index + c + m) % 2 ? WORDS_ZH : WORDS_EN;
        return { role: m % 2 ? 'ASSISTANT' : 'USER', content: `${words[(vu.index * 7 + c * 3 + m) % words.length]} #${c}-${m} ${'lorem ipsum dolor sit amet '.repeat(2)}` };
      });
      const { saveChat } = await gql(vu.url, vu.token, SAVE, { input: { title: `Chat ${c} ${WORDS_ZH[c % WORDS_ZH.length]}`, tags: [`tag${c % 3}`], messages } });
      vu.chatIds.push(saveChat.id);
    }
  });
}

/** One concurrency level: warm-up, measured window, drain. */
async function runLevel(ctx, n) {
  const level = { vus: n, stopped: false, measuring: false, lat: Object.fromEntries(KINDS.map((k) => [k, []])), errors: Object.fromEntries(['connect', ...KINDS].map((k) => [k, 0])), samples: [] };
  // Connections are opened before the level starts and kept for the next levels. One that
  // cannot connect is an error, and its VU sits this level out.
  const vus = ctx.vus.slice(0, n);
  await pool(
    vus.filter((vu) => !vu.ws),
    32,
    async (vu) => {
      try {
        vu.ws = await wsClient(vu.url, vu.token);
        ctx.clients.push(vu.ws);
      } catch (err) {
        level.errors.connect++;
        if (level.samples.length < 5) level.samples.push(`graphql-ws connect: ${errText(err)}`);
      }
    },
  );
  const loops = vus.filter((vu) => vu.ws).map((vu) => vuLoop(vu, level));
  try {
    await sleep(WARMUP * 1000);
    await Promise.all(ctx.apps.map((a) => benchStats(a, 'POST')));
    ctx.selfLoop.reset();
    const cpu0 = cpuSnapshot(ctx.procs);
    const self0 = process.cpuUsage();
    const t0 = performance.now();
    level.measuring = true;
    await sleep(SECONDS * 1000);
    level.measuring = false;
    level.seconds = (performance.now() - t0) / 1000;
    const cpu1 = cpuSnapshot(ctx.procs);
    const self = process.cpuUsage(self0);
    level.cpu = ctx.procs.map((p, i) => ({ name: p.name, share: (cpu1[i] - cpu0[i]) / level.seconds }));
    level.cpu.push({ name: 'load generator', share: (self.user + self.system) / 1e6 / level.seconds });
    level.selfLoopP99 = ctx.selfLoop.percentile(99) / 1e6;
    level.stats = await Promise.all(ctx.apps.map((a) => benchStats(a)));
    level.hwm = ctx.apps.map((a) => procMb(a.pid, 'VmHWM'));
  } finally {
    level.stopped = true;
    // Every operation has its own time limit, so this ends; the outer limit is a last resort.
    await withTimeout(Promise.allSettled(loops), 2 * OP_TIMEOUT_MS + 5_000, 'finishing in-flight operations').catch((err) => level.samples.push(errText(err)));
  }
  const all = KINDS.flatMap((k) => level.lat[k]);
  level.ops = all.length;
  level.rps = all.length / level.seconds;
  level.p50 = pct(all, 50);
  level.p99 = pct(all, 99);
  level.errorCount = Object.values(level.errors).reduce((s, x) => s + x, 0);
  level.errorRate = level.errorCount / Math.max(1, level.ops + level.errorCount);
  level.pastKnee = !(level.p99 <= KNEE_MS) || level.errorRate > MAX_ERROR_RATE;
  return level;
}

/** Starts `instances` fresh app processes on a fresh database, seeds it, runs the levels. */
async function phase(instances, run, fake) {
  const db = `${run.dbBase}_${instances}`;
  const prefix = `${run.prefixBase}-${instances}:`;
  run.databases.push(db);
  run.prefixes.push(prefix);
  const ctx = { apps: [], clients: [], vus: [], procs: [], selfLoop: run.selfLoop };
  const levels = [];
  try {
    // One after the other: the first creates the database and applies the migrations.
    for (let i = 0; i < instances; i++) {
      ctx.apps.push(await start('app', appEnv(db, prefix, fake), run.nodeArgs));
    }
    ctx.procs = watchedProcesses(ctx.apps, fake);
    const users = Math.max(...LEVELS);
    ctx.vus = Array.from({ length: users }, (_, index) => ({ index, url: ctx.apps[index % instances].url, token: null, ws: null, chatIds: [], sent: 0, random: rng(index + 1) }));
    const t0 = performance.now();
    await seed(ctx.vus, run.id, instances);
    const seedSeconds = (performance.now() - t0) / 1000;
    for (const n of LEVELS) {
      const level = await runLevel(ctx, n);
      levels.push(level);
      process.stderr.write(`scale: ${instances} instance(s), ${n} VUs: ${fmt(level.rps)} ops/s, p50 ${ms(level.p50)} ms, p99 ${ms(level.p99)} ms, ${level.errorCount} errors\n`);
      if (level.pastKnee) break;
    }
    return { instances, levels, seedSeconds, users, procs: ctx.procs.map((p) => p.name) };
  } finally {
    await Promise.all(ctx.clients.map(disposeClient));
    await Promise.all(ctx.apps.map(stopServer));
  }
}

// ---------------------------------------------------------------- cleanup

async function dropDatabases(names) {
  if (!names.length) return;
  const mysql = require('mysql2/promise');
  let conn;
  try {
    conn = await withTimeout(mysql.createConnection(MYSQL_URL), 10_000, 'MariaDB connect');
    for (const name of names) await withTimeout(conn.query(`DROP DATABASE IF EXISTS \`${name}\``), 30_000, `DROP DATABASE ${name}`);
  } catch (err) {
    process.stderr.write(`scale: could not drop ${names.join(', ')}: ${errText(err)}\n`);
  } finally {
    await conn?.end().catch(() => {});
  }
}

async function deleteRedisKeys(prefixes) {
  if (!prefixes.length) return;
  const Redis = require('ioredis');
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1, connectTimeout: 5_000, lazyConnect: true });
  redis.on('error', () => {}); // reported below
  try {
    await withTimeout(redis.connect(), 10_000, 'Redis connect');
    for (const prefix of prefixes) {
      let cursor = '0';
      do {
        const [next, keys] = await withTimeout(redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000), 10_000, 'Redis SCAN');
        if (keys.length) await withTimeout(redis.unlink(...keys), 10_000, 'Redis UNLINK');
        cursor = next;
      } while (cursor !== '0');
    }
  } catch (err) {
    process.stderr.write(`scale: could not delete Redis keys ${prefixes.join(', ')}*: ${errText(err)}\n`);
  } finally {
    redis.disconnect();
  }
}

// ---------------------------------------------------------------- report

const pctCpu = (x) => (Number.isFinite(x) ? `${fmt(x * 100)} %` : 'n/a');

/** The last level below the knee (the throughput "at that point"), and the knee level itself. */
function kneeOf(result) {
  const below = result.levels.filter((l) => !l.pastKnee);
  return { at: below[below.length - 1], knee: result.levels.find((l) => l.pastKnee), best: below.reduce((b, l) => (!b || l.rps > b.rps ? l : b), undefined) };
}

function rowsOf(result) {
  const { knee } = kneeOf(result);
  const inst = `${result.instances} instance${result.instances > 1 ? 's' : ''}`;
  return result.levels.map((l) => ({
    label: `${inst}, ${l.vus} VUs${l.errorCount ? `, **${l.errorCount} errors**` : ''}${l === knee ? ` (knee: ${l.p99 > KNEE_MS ? `p99 > ${KNEE_MS} ms` : `${fmt(l.errorRate * 100, 1)} % errors`})` : ''}`,
    rps: l.rps,
    p50: l.p50,
    p99: l.p99,
  }));
}

function levelTables(result) {
  let md = `Per operation kind (ms; n = operations completed in the window):\n\n| VUs | ${KINDS.map((k) => `${k} n | ${k} p50 | ${k} p99`).join(' | ')} | errors |\n|---:|${KINDS.map(() => '---:|---:|---:').join('|')}|---|\n`;
  for (const l of result.levels) {
    const errs = l.errorCount ? `${Object.keys(l.errors).filter((k) => l.errors[k]).map((k) => `${k} ${l.errors[k]}`).join(', ')}` : '0';
    md += `| ${l.vus} | ${KINDS.map((k) => `${fmt(l.lat[k].length)} | ${ms(pct(l.lat[k], 50))} | ${ms(pct(l.lat[k], 99))}`).join(' | ')} | ${errs} |\n`;
  }
  const names = result.levels[0]?.cpu.map((c) => c.name) ?? [];
  md += `\nWhere time goes: CPU in the measured window (100 % = one core; this machine has ${require('node:os').cpus().length}), event-loop delay p99 / max in ms (sampled every 10 ms, so an idle loop reads about 10) and RSS of each app (peak RSS = VmHWM since start):\n\n| VUs | ${names.join(' | ')} | total | ${result.levels[0]?.stats.map((_, i) => `app ${i + 1} loop p99 / max | app ${i + 1} RSS / peak MB`).join(' | ')} | load generator loop p99 |\n|---:|${names.map(() => '---:').join('|')}|---:|${result.levels[0]?.stats.map(() => '---:|---:').join('|')}|---:|\n`;
  for (const l of result.levels) {
    const total = l.cpu.reduce((s, c) => s + (Number.isFinite(c.share) ? c.share : 0), 0);
    const stats = l.stats.map((s, i) => (s.error ? `n/a (${s.error}) | n/a` : `${ms(s.eventLoopDelayP99Ms)} / ${ms(s.eventLoopDelayMaxMs)} | ${fmt(s.rss / 2 ** 20)} / ${fmt(l.hwm[i])}`));
    md += `| ${l.vus} | ${l.cpu.map((c) => pctCpu(c.share)).join(' | ')} | ${pctCpu(total)} | ${stats.join(' | ')} | ${ms(l.selfLoopP99)} |\n`;
  }
  const samples = result.levels.flatMap((l) => l.samples.map((s) => `${l.vus} VUs: ${s}`));
  if (samples.length) md += `\nErrors (first few per level):\n${samples.map((s) => `- ${s}`).join('\n')}\n`;
  return md;
}

function summary(result) {
  const { at, knee } = kneeOf(result);
  const inst = `${result.instances} instance${result.instances > 1 ? 's' : ''}`;
  const peakLoop = result.levels.map((l) => l.stats.map((s) => s.eventLoopDelayP99Ms)).reduce((m, xs) => xs.map((x, i) => Math.max(m[i] ?? 0, Number.isFinite(x) ? x : 0)), []);
  const peakRss = result.levels.reduce((m, l) => l.hwm.map((x, i) => Math.max(m[i] ?? 0, Number.isFinite(x) ? x : 0)), []);
  const lines = [
    `- ${inst}: ${at ? `**${fmt(at.rps)} ops/s at ${at.vus} VUs** (p50 ${ms(at.p50)} / p99 ${ms(at.p99)} ms), the last level under the knee` : `no level stayed under p99 ${KNEE_MS} ms with <= ${MAX_ERROR_RATE * 100} % errors`}; ${knee ? `knee at ${knee.vus} VUs (${fmt(knee.rps)} ops/s, p99 ${ms(knee.p99)} ms, ${knee.errorCount} errors)` : `no knee up to ${result.levels[result.levels.length - 1]?.vus} VUs`}.`,
  ];
  if (at) lines.push(`  Per kind at ${at.vus} VUs (p50 / p99 ms): ${KINDS.map((k) => `${k} ${ms(pct(at.lat[k], 50))} / ${ms(pct(at.lat[k], 99))}`).join('; ')}.`);
  if (knee) lines.push(`  Per kind at the knee, ${knee.vus} VUs (p50 / p99 ms): ${KINDS.map((k) => `${k} ${ms(pct(knee.lat[k], 50))} / ${ms(pct(knee.lat[k], 99))}`).join('; ')}.`);
  lines.push(`  Peak event-loop delay p99 over the levels: ${peakLoop.map((x, i) => `app ${i + 1} ${ms(x)} ms`).join(', ')}; peak RSS: ${peakRss.map((x, i) => `app ${i + 1} ${fmt(x)} MB`).join(', ')}. Seeding ${result.users} users took ${fmt(result.seedSeconds, 1)} s.`);
  const cpuAt = at ?? knee;
  if (cpuAt) lines.push(`  CPU at ${cpuAt.vus} VUs: ${cpuAt.cpu.map((c) => `${c.name} ${pctCpu(c.share)}`).join(', ')}.`);
  return lines.join('\n');
}

function setupNote(result) {
  return `${result.instances === 1 ? 'One app instance' : `${result.instances} app instances (VU i uses instance i % ${result.instances}, over HTTP and graphql-ws alike)`} on a fresh MariaDB database and Redis prefix, seeded with ${result.users} users x ${CHATS_PER_USER} chats of 6 messages. Closed loop, no think time, one user + one graphql-ws connection per VU; mix ${KINDS.map((k) => `${k} ${fmt((MIX[k] / MIX_TOTAL) * 100)} %`).join(', ')}. Per level ${WARMUP} s warm-up, then ${SECONDS} s measured; req/s = operations completed per second (all kinds), p50/p99 over all of them (ms). A streamed reply (send -> done) cannot be faster than the fake's ${FAKE_FLOOR_MS} ms (${CHUNKS} chunks, ${FIRST_TOKEN_MS} ms to the first, ${CHUNK_MS} ms apart). Raising stops at the first level with p99 > ${KNEE_MS} ms or > ${MAX_ERROR_RATE * 100} % errors (the knee). The baseline is one instance's best level under the knee.`;
}

module.exports = {
  name: 'scale: one vs two instances on MariaDB + Redis, mixed workload',
  async run() {
    if (!LEVELS.length) throw new Error('BENCH_SCALE_LEVELS holds no level');
    const id = randomBytes(4).toString('hex');
    const run = {
      id,
      dbBase: `bench_scale_${id}`,
      prefixBase: `bench-scale-${id}`,
      databases: [],
      prefixes: [],
      nodeArgs: (process.env.BENCH_APP_NODE_ARGS || '').split(' ').filter(Boolean),
      selfLoop: monitorEventLoopDelay({ resolution: 10 }),
    };
    run.selfLoop.enable();
    let fake;
    try {
      fake = await start('fake-openai', { BENCH_FAKE_CHUNKS: String(CHUNKS), BENCH_FAKE_DELAY_MS: String(CHUNK_MS), BENCH_FAKE_FIRST_TOKEN_MS: String(FIRST_TOKEN_MS) });
      const one = await phase(1, run, fake);
      const two = await phase(2, run, fake);

      const k1 = kneeOf(one);
      const k2 = kneeOf(two);
      const oneRows = rowsOf(one);
      const twoRows = rowsOf(two);
      const baseline = k1.best ? oneRows[one.levels.indexOf(k1.best)] : oneRows[0];
      const ratio = k1.at && k2.at ? k2.at.rps / k1.at.rps : NaN;
      const cores = require('node:os').cpus().length;
      const scaling = [
        `**Scaling:** throughput at the knee (last level under p99 ${KNEE_MS} ms): one instance ${k1.at ? `${fmt(k1.at.rps)} ops/s (${k1.at.vus} VUs)` : 'n/a'}, two instances ${k2.at ? `${fmt(k2.at.rps)} ops/s (${k2.at.vus} VUs)` : 'n/a'}: **${Number.isFinite(ratio) ? `${fmt(ratio, 2)}×` : 'n/a'}**. Knee: one instance ${k1.knee ? `${k1.knee.vus} VUs` : 'not reached'}, two instances ${k2.knee ? `${k2.knee.vus} VUs` : 'not reached'}.`,
        `This machine has ${cores} core${cores > 1 ? 's' : ''}, shared by the load generator, ${cores <= 2 ? 'both' : 'the'} app instances, the fake provider, MariaDB and Redis: a second instance adds an event loop, not CPU, so where the CPU total nears ${cores * 100} % the ratio shows the machine's limit rather than how far the app scales out on separate hosts.`,
      ].join('\n\n');
      return [
        { title: `Scale: one instance, rising concurrency (MariaDB + Redis; mixed list/search/stream/me; req/s = ops/s)`, rows: oneRows, baseline, notes: `${setupNote(one)}\n\n${summary(one)}\n\n${levelTables(one)}` },
        { title: `Scale: two instances, rising concurrency (same workload; ratio vs one instance's best level under the knee)`, rows: twoRows, baseline, notes: `${setupNote(two)}\n\n${summary(two)}\n\n${levelTables(two)}\n${scaling}` },
      ];
    } finally {
      run.selfLoop.disable();
      if (fake) await stopServer(fake);
      await dropDatabases(run.databases);
      await deleteRedisKeys(run.prefixes);
    }
  },
};

// Helpers shared by the benchmark scenarios: servers run in child processes so the load
// generator (autocannon, in this process) and the server do not share an event loop.
const { spawn } = require('node:child_process');
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const { TextDecoder } = require('node:util');
const autocannon = require('autocannon');
const { createClient } = require('graphql-ws');
const WebSocket = require('ws');

/** Starts bench/servers/<name>.js; it prints one JSON line {"url": ...} when listening. */
function startServer(name, env = {}, nodeArgs = []) {
  const child = spawn(process.execPath, [...nodeArgs, join(__dirname, 'servers', `${name}.js`)], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (d) => {
      buf += d;
      const line = buf.split('\n').find((l) => l.startsWith('{"url"'));
      if (line) resolve({ url: JSON.parse(line).url, pid: child.pid, stop: () => new Promise((r) => { child.once('exit', r); child.kill('SIGTERM'); }) });
    });
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}`)));
  });
}

/** Runs autocannon: a warm-up, then the measured run. Returns req/s and latency percentiles (ms). */
async function load(opts) {
  const base = { connections: 10, ...opts };
  await autocannon({ ...base, duration: 2 });
  const r = await autocannon({ ...base, duration: opts.duration ?? 8 });
  if (r.non2xx || r.errors) throw new Error(`${opts.url}: ${r.non2xx} non-2xx, ${r.errors} errors`);
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99 };
}

const fmt = (n, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** The p-th percentile (nearest rank) of a list of numbers; NaN when empty. */
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] : NaN;
};
const ms = (n) => (Number.isFinite(n) ? fmt(n, 1) : 'n/a');

/** Rejects after `limit` ms (calling onTimeout to clean up) unless `promise` settles first. */
function withTimeout(promise, limit, what, onTimeout) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => {
        try {
          onTimeout?.();
        } catch {
          /* cleanup is best effort */
        }
        reject(new Error(`${what}: no answer in ${limit} ms`));
      }, limit);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** An abort signal that fires after `limit` ms. */
function timeoutSignal(limit) {
  const c = new AbortController();
  setTimeout(() => c.abort(new Error(`no answer in ${limit} ms`)), limit).unref();
  return c.signal;
}

const disposeClient = (c) => withTimeout(Promise.resolve(c.dispose()), 5_000, 'graphql-ws dispose').catch(() => {});

/** A graphql-ws client, connected (and authenticated) before it is used. */
async function wsClient(url, token) {
  let connected;
  const ready = new Promise((resolve, reject) => (connected = { resolve, reject }));
  const client = createClient({
    url: `${url.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    lazy: false,
    retryAttempts: 0,
    on: { connected: () => connected.resolve(), closed: (e) => connected.reject(new Error(`ws closed ${e?.code ?? ''}`)) },
    onNonLazyError: (e) => connected.reject(e instanceof Error ? e : new Error(String(e?.code ?? e))),
  });
  try {
    await withTimeout(ready, 10_000, 'graphql-ws connect');
  } catch (err) {
    await disposeClient(client);
    throw err;
  }
  return client;
}

// --- AI replies against bench/servers/fake-openai.js ---

const REPLY_TIMEOUT_MS = 30_000;
const SEND = 'mutation($input: SendMessageInput!) { sendMessage(input: $input) { sessionId messageId reply { content status } } }';

/** The times ("t<Date.now()>" words) the fake wrote into a text, in order. */
const stamps = (text) => [...text.matchAll(/t(\d{13})/g)].map((m) => Number(m[1]));

/** POSTs JSON; throws on a non-2xx answer or GraphQL errors. */
async function post(url, body, token, limit = REPLY_TIMEOUT_MS) {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body), signal: timeoutSignal(limit) });
  const json = await res.json();
  if (!res.ok || json.errors) throw new Error(`${res.status} ${JSON.stringify(json).slice(0, 300)}`);
  return json;
}

/** A token for a (new) user, through the local WeChat login. */
async function login(url, code) {
  return (await post(`${url}/graphql`, { query: `mutation { wechatLogin(input: { code: "${code}" }) { token } }` })).data.wechatLogin.token;
}

/** Settings for bench/servers/app.js with the fake at fakeUrl as its only provider, and limits out of the way. */
const aiAppEnv = (fakeUrl, env = {}) => ({
  OPENAI_BASE_URL: `${fakeUrl}/v1`,
  OPENAI_API_KEY: 'sk-bench',
  DEFAULT_MODEL: 'bench-model',
  MAX_CONCURRENT_STREAMS: '10',
  AI_RATE_LIMIT_PER_MINUTE: '1000000',
  LOGIN_RATE_LIMIT_PER_MINUTE: '1000000',
  ...env,
});

/**
 * Streams one completion from the fake with fetch and minimal SSE parsing: onDelta(delta)
 * with each chunk's `choices[0].delta` object (comment lines such as `: keep-alive` and
 * chunks without choices are skipped); resolves at [DONE].
 */
async function streamFake(fakeUrl, onDelta, limit = REPLY_TIMEOUT_MS) {
  const res = await fetch(`${fakeUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-bench' },
    body: JSON.stringify({ model: 'bench', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'hi' }] }),
    signal: timeoutSignal(limit),
  });
  if (!res.ok) throw new Error(`fake answered ${res.status}`);
  const decoder = new TextDecoder();
  let buf = '';
  for await (const chunk of res.body) {
    buf += decoder.decode(chunk, { stream: true });
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      if (block.startsWith(':')) continue;
      if (block === 'data: [DONE]') return;
      const delta = JSON.parse(block.slice(6)).choices[0]?.delta;
      if (delta) onDelta(delta);
    }
  }
  throw new Error('stream ended without [DONE]');
}

/**
 * One reply through GraphQL: sendMessage(stream: true), then replyStream(messageId) over the
 * graphql-ws client until done. `fields` are the event fields selected besides done/error;
 * onEvent(event) gets each event but the done one; onSubscribed(Date.now()) once subscribing.
 */
async function sendAndFollow(url, token, ws, { fields = 'seq delta', onEvent, onSubscribed, limit = REPLY_TIMEOUT_MS }) {
  const { data } = await post(`${url}/graphql`, { query: SEND, variables: { input: { content: 'hi', stream: true } } }, token, limit);
  onSubscribed?.(Date.now());
  let unsubscribe;
  const followed = new Promise((resolve, reject) => {
    unsubscribe = ws.subscribe(
      { query: `subscription($id: ID!) { replyStream(messageId: $id) { ${fields} done error { code message } } }`, variables: { id: data.sendMessage.messageId } },
      {
        next: (r) => {
          if (r.errors) return reject(new Error(JSON.stringify(r.errors)));
          const e = r.data.replyStream;
          if (e.error) return reject(new Error(`reply failed: ${e.error.code} ${e.error.message}`));
          if (!e.done) onEvent(e);
        },
        error: (err) => reject(err instanceof Error ? err : new Error(JSON.stringify(err))),
        complete: resolve,
      },
    );
  });
  await withTimeout(followed, limit, 'replyStream', () => unsubscribe());
}

/** CPU seconds (user + system) a process has used so far; NaN when it is gone or unreadable. */
function cpuSeconds(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return NaN;
  }
}

module.exports = { startServer, load, fmt, pct, ms, withTimeout, timeoutSignal, wsClient, disposeClient, cpuSeconds, REPLY_TIMEOUT_MS, stamps, post, login, aiAppEnv, streamFake, sendAndFollow };

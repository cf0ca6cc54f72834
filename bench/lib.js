// Helpers shared by the benchmark scenarios: servers run in child processes so the load
// generator (autocannon, in this process) and the server do not share an event loop.
const { spawn } = require('node:child_process');
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
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

/** CPU seconds (user + system) a process has used so far; NaN when it is gone or unreadable. */
function cpuSeconds(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return NaN;
  }
}

module.exports = { startServer, load, fmt, pct, ms, withTimeout, timeoutSignal, wsClient, disposeClient, cpuSeconds };

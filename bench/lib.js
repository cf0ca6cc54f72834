// Helpers shared by the benchmark scenarios: servers run in child processes so the load
// generator (autocannon, in this process) and the server do not share an event loop.
const { spawn } = require('node:child_process');
const { join } = require('node:path');
const autocannon = require('autocannon');

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

module.exports = { startServer, load, fmt };

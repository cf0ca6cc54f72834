// AI replies against a streaming fake provider (bench/servers/fake-openai.js: 40 chunks, 50 ms
// to the first, 10 ms apart; each chunk carries the time the fake wrote it).
// (1) Latency of one reply at a time: time to first token (TTFT) and total, calling the fake
//     directly with the openai SDK (baseline) and raw fetch, vs through this server (GraphQL
//     sendMessage(stream: true) + replyStream over graphql-ws, and REST POST /v1/ai/message).
// (2) 500 concurrent streaming replies (50 users x 10), one subscriber each: deltas/s delivered,
//     delivery delay (fake writes a chunk -> subscriber receives the delta), peak RSS, CPU and
//     event-loop delay of the server; baseline: the same 500 streams read straight from the fake.
// Env: BENCH_AI_RUNS (50), BENCH_AI_ONLY=latency|load, BENCH_APP_NODE_ARGS (e.g. "--cpu-prof").
const { readFileSync } = require('node:fs');
const { performance } = require('node:perf_hooks');
const OpenAI = require('openai');
const { startServer, fmt, pct, ms, withTimeout, wsClient, cpuSeconds, REPLY_TIMEOUT_MS, stamps, post, login, aiAppEnv, streamFake, sendAndFollow } = require('../lib');

const WARMUP = 5;
const RUNS = Number(process.env.BENCH_AI_RUNS || 50);
const USERS = 50;
const REPLIES_PER_USER = 10;
const STREAMS = USERS * REPLIES_PER_USER;
const CHUNKS = 40;
const ONE_REPLY_TIMEOUT_MS = REPLY_TIMEOUT_MS;
const LOAD_TIMEOUT_MS = 90_000;

/** Streams one completion from the fake with fetch; onDelta(text) per content chunk; resolves at [DONE]. */
const direct = (fakeUrl, onDelta) => streamFake(fakeUrl, (d) => d.content && onDelta(d.content));

/** One reply through GraphQL: sendMessage(stream: true), then replyStream until done. */
const viaGraphql = (url, token, ws, onDelta, onSubscribed) => sendAndFollow(url, token, ws, { onEvent: (e) => onDelta(e.delta), onSubscribed });

async function latency(label, fn) {
  const ttft = [];
  const total = [];
  for (let i = 0; i < WARMUP + RUNS; i++) {
    const t0 = performance.now();
    let first;
    await withTimeout(fn(() => (first ??= performance.now() - t0)), ONE_REPLY_TIMEOUT_MS + 1000, label);
    if (i < WARMUP) continue;
    total.push(performance.now() - t0);
    if (first !== undefined) ttft.push(first);
  }
  return { label, ttft, total };
}

const procKb = (pid, key) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);

/**
 * Runs all streams at once. Each stream is `(onDelta, onStart) => Promise`; onStart(ms) says
 * from when its chunks count as live (for GraphQL: once subscribed). Returns throughput,
 * delivery delays (ms), TTFT under load and how many streams completed with all chunks.
 */
async function loadRun(streams, pids) {
  const delays = [];
  const ttft = [];
  let deltas = 0;
  let replayed = 0;
  let complete = 0;
  const cpu0 = pids.map(cpuSeconds);
  const self0 = process.cpuUsage();
  const t0 = performance.now();
  const one = async (run) => {
    const started = performance.now();
    let since = 0;
    let got = 0;
    await run(
      (text) => {
        deltas++;
        if (got === 0) ttft.push(performance.now() - started);
        const now = Date.now();
        for (const ts of stamps(text)) {
          got++;
          // Chunks written before the subscriber joined arrive from the replay buffer: their age
          // says how late the subscriber was, not how fast delivery is.
          if (ts >= since) delays.push(now - ts);
          else replayed++;
        }
      },
      (at) => (since = at),
    );
    if (got === CHUNKS) complete++;
    else throw new Error(`stream got ${got}/${CHUNKS} chunks`);
  };
  const results = await withTimeout(Promise.allSettled(streams.map(one)), LOAD_TIMEOUT_MS, 'load run');
  const seconds = (performance.now() - t0) / 1000;
  const self = process.cpuUsage(self0);
  const cpu = pids.map((pid, i) => (cpuSeconds(pid) - cpu0[i]) / seconds);
  const failed = results.filter((r) => r.status === 'rejected').map((r) => String(r.reason?.message ?? r.reason));
  return { complete, failed, deltas, replayed, seconds, deltasPerSecond: deltas / seconds, delays, ttft, cpu, clientCpu: (self.user + self.system) / 1e6 / seconds };
}

module.exports = {
  name: 'AI streaming',
  async run() {
    const only = process.env.BENCH_AI_ONLY;
    const fake = await startServer('fake-openai');
    const clients = [];
    let app;
    try {
      app = await startServer(
        'app',
        aiAppEnv(fake.url, { MAX_CONCURRENT_STREAMS: String(REPLIES_PER_USER), BENCH_STATS: '1' }),
        (process.env.BENCH_APP_NODE_ARGS || '').split(' ').filter(Boolean),
      );
      const results = [];

      // (1) Latency, one reply at a time.
      if (only !== 'load') {
        const token = await login(app.url, 'bench-latency');
        const ws = await wsClient(app.url, token);
        clients.push(ws);
        const sdk = new OpenAI({ baseURL: `${fake.url}/v1`, apiKey: 'sk-bench', maxRetries: 0, timeout: ONE_REPLY_TIMEOUT_MS });
        const viaSdk = async (onDelta) => {
          const stream = await sdk.chat.completions.create({ model: 'bench', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'hi' }] });
          for await (const c of stream) if (c.choices[0]?.delta?.content) onDelta(c.choices[0].delta.content);
        };
        const runs = [
          await latency('baseline: the fake, called directly with the openai SDK', viaSdk),
          await latency('the fake, called directly with fetch + SSE parsing', (onDelta) => direct(fake.url, onDelta)),
          await latency('GraphQL: sendMessage(stream: true) + replyStream (graphql-ws)', (onDelta) => viaGraphql(app.url, token, ws, onDelta)),
          await latency('REST: POST /v1/ai/message (waits for the whole reply)', () =>
            post(`${app.url}/v1/ai/message`, { message: 'hi' }, token).then((r) => {
              if (stamps(r.data?.text ?? '').length !== CHUNKS) throw new Error(`REST reply: ${JSON.stringify(r).slice(0, 200)}`);
            }),
          ),
        ];
        const [base] = runs;
        const rows = runs.map((r) => ({ label: r.label, rps: 1000 / pct(r.total, 50), p50: pct(r.total, 50), p99: pct(r.total, 99) }));
        const added = (a, b) => (Number.isFinite(a - b) ? `${a - b >= 0 ? '+' : ''}${fmt(a - b, 1)}` : 'n/a');
        let notes = '| path | TTFT p50 | TTFT p99 | total p50 | total p99 | added TTFT p50 | added total p50 |\n|---|---:|---:|---:|---:|---:|---:|\n';
        for (const r of runs) {
          notes += `| ${r.label.replace(/ \(.*\)$/, '').replace(/^baseline: /, '')} | ${ms(pct(r.ttft, 50))} | ${ms(pct(r.ttft, 99))} | ${ms(pct(r.total, 50))} | ${ms(pct(r.total, 99))} | ${added(pct(r.ttft, 50), pct(base.ttft, 50))} | ${added(pct(r.total, 50), pct(base.total, 50))} |\n`;
        }
        notes += `\nAll in ms. TTFT = from sending the request (for GraphQL: the sendMessage mutation) until the first delta arrives; n/a for REST, which returns the whole reply. ${RUNS < 100 ? `With ${RUNS} replies, p99 is the slowest one. ` : ''}The fake's own floor is 50 ms to the first chunk and ${50 + (CHUNKS - 1) * 10} ms in all.`;
        results.push({ title: `One reply at a time (${RUNS} replies after ${WARMUP} warm-up; req/s = 1000 / p50; p50/p99 = total time per reply in ms)`, rows, baseline: rows[0], notes });
      }

      // (2) 500 concurrent streams, one subscriber each.
      if (only !== 'latency') {
        const tokens = [];
        for (let u = 0; u < USERS; u++) tokens.push(await login(app.url, `bench-load-${u}`));
        const sockets = [];
        for (const t of tokens) {
          const ws = await wsClient(app.url, t);
          clients.push(ws);
          sockets.push({ token: t, ws });
        }

        const baseLoad = await loadRun(Array.from({ length: STREAMS }, () => (onDelta) => direct(fake.url, onDelta)), [fake.pid]);
        await new Promise((r) => setTimeout(r, 500));
        const rssBefore = procKb(app.pid, 'VmRSS') / 1024;
        await fetch(`${app.url}/__bench_stats/reset`, { method: 'POST' });
        const ours = await loadRun(
          sockets.flatMap((s) => Array.from({ length: REPLIES_PER_USER }, () => (onDelta, onStart) => viaGraphql(app.url, s.token, s.ws, onDelta, onStart))),
          [app.pid, fake.pid],
        );
        const stats = await (await fetch(`${app.url}/__bench_stats`)).json();
        const peakRss = procKb(app.pid, 'VmHWM') / 1024;
        const loadRows = [
          { label: `baseline: ${baseLoad.complete}/${STREAMS} streams read straight from the fake (fetch + SSE)`, rps: baseLoad.deltasPerSecond, p50: pct(baseLoad.delays, 50), p99: pct(baseLoad.delays, 99) },
          { label: `this server: ${ours.complete}/${STREAMS} replies, sendMessage + replyStream over graphql-ws`, rps: ours.deltasPerSecond, p50: pct(ours.delays, 50), p99: pct(ours.delays, 99) },
        ];
        const failures = (r) => (r.failed.length ? `; **${r.failed.length} failed** (first: ${r.failed[0].slice(0, 200)})` : '');
        const pctCpu = (x) => `${fmt(x * 100)} %`;
        const notes = [
          `- Run time: baseline ${fmt(baseLoad.seconds, 1)} s, this server ${fmt(ours.seconds, 1)} s (the fake alone needs ${fmt((50 + (CHUNKS - 1) * 10) / 1000, 2)} s per stream; ${STREAMS} x ${CHUNKS} = ${fmt(STREAMS * CHUNKS)} deltas offered at up to ~${fmt((STREAMS * CHUNKS) / 0.44)}/s).`,
          `- Deltas received: baseline ${fmt(baseLoad.deltas)}${failures(baseLoad)}; this server ${fmt(ours.deltas)}${failures(ours)}; ${fmt(ours.replayed)} chunks reached their subscriber from the replay buffer (written before it subscribed) and are left out of the delay.`,
          `- TTFT under load (request sent -> first delta): baseline p50 ${ms(pct(baseLoad.ttft, 50))} / p99 ${ms(pct(baseLoad.ttft, 99))} ms; this server p50 ${ms(pct(ours.ttft, 50))} / p99 ${ms(pct(ours.ttft, 99))} ms.`,
          `- Server: RSS ${fmt(rssBefore)} MB before the run, peak (VmHWM) ${fmt(peakRss)} MB; event-loop delay during the run p99 ${ms(stats.eventLoopDelayP99Ms)} ms, max ${ms(stats.eventLoopDelayMaxMs)} ms.`,
          `- CPU during the run (1 core = 100 %, 2 cores here): this server ${pctCpu(ours.cpu[0])}, fake ${pctCpu(ours.cpu[1])}, load generator ${pctCpu(ours.clientCpu)}; in the baseline run: fake ${pctCpu(baseLoad.cpu[0])}, load generator ${pctCpu(baseLoad.clientCpu)}.`,
        ].join('\n');
        results.push({ title: `${STREAMS} concurrent streaming replies (${USERS} users x ${REPLIES_PER_USER}), one subscriber each (req/s = deltas delivered per second; p50/p99 = delivery delay in ms, fake writes a chunk -> subscriber receives it)`, rows: loadRows, baseline: loadRows[0], notes });
      }
      return results;
    } finally {
      await Promise.allSettled(clients.map((c) => c.dispose()));
      if (app) await app.stop();
      await fake.stop();
    }
  },
};

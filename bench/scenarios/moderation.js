// Content security's keyword engine with a 10,000-term list, against no moderation.
// (1) In process: a 2,000-character Chinese reply streamed in 4-character deltas through the
//     keyword stream (dist/moderation/keywords.js), as output moderation does for every reply;
//     baseline: the same deltas passed through untouched. Also: how long the list takes to
//     build, and the memory it holds.
// (2) Through the server: the app without moderation (baseline) and with
//     MODERATION_KEYWORDS_FILE set to the same list, each on the streaming fake provider
//     (bench/servers/fake-openai.js): one reply at a time (GraphQL sendMessage(stream: true) +
//     replyStream), then 200 concurrent streaming replies (20 users x 10): deltas delivered per
//     second, delivery delay (fake writes a chunk -> subscriber receives it), server CPU.
// Env: BENCH_MODERATION_RUNS (30).
const { mkdtempSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { performance } = require('node:perf_hooks');
const { startServer, fmt, pct, ms, withTimeout, wsClient, cpuSeconds, REPLY_TIMEOUT_MS, stamps, login, aiAppEnv, sendAndFollow } = require('../lib');

const TERMS = 10_000;
const RUNS = Number(process.env.BENCH_MODERATION_RUNS || 30);
const WARMUP = 5;
const USERS = 20;
const PER_USER = 10;
const CHUNKS = 40;

/** A deterministic pseudo-random sequence (the list and the text are the same in every run). */
function lcg(seed) {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/** 10,000 terms: 90 % Chinese (3-6 characters from the 2,000 most used ideograph block), 10 % English words. */
function makeTerms() {
  const rnd = lcg(42);
  const han = () => String.fromCodePoint(0x4e00 + Math.floor(rnd() * 2000));
  const latin = () => String.fromCharCode(97 + Math.floor(rnd() * 26));
  const terms = new Set();
  while (terms.size < TERMS) {
    const english = rnd() < 0.1;
    const length = english ? 6 + Math.floor(rnd() * 6) : 3 + Math.floor(rnd() * 4);
    terms.add(Array.from({ length }, english ? latin : han).join(''));
  }
  return [...terms];
}

/** A Chinese reply over the same characters as the list, with punctuation, that holds no term. */
function makeReply(matcher, chars = 2000) {
  for (let seed = 1; ; seed++) {
    const rnd = lcg(seed);
    const text = Array.from({ length: chars }, (_, i) => (i % 17 === 16 ? '，' : String.fromCodePoint(0x4e00 + Math.floor(rnd() * 2000)))).join('');
    if (!matcher.scan(text)) return text;
  }
}

function inProcess() {
  const { KeywordMatcher } = require('../../dist/moderation/keywords');
  const terms = makeTerms();
  if (globalThis.gc) globalThis.gc();
  const heap0 = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  const matcher = new KeywordMatcher(terms);
  const buildMs = performance.now() - t0;
  if (globalThis.gc) globalThis.gc();
  const heapMb = (process.memoryUsage().heapUsed - heap0) / 2 ** 20;
  const reply = makeReply(matcher);
  const deltas = [];
  for (let i = 0; i < reply.length; i += 4) deltas.push(reply.slice(i, i + 4));

  const passthrough = () => {
    let out = '';
    for (const d of deltas) out += d;
    return out;
  };
  const filtered = () => {
    const s = matcher.stream();
    let out = '';
    for (const d of deltas) {
      const r = s.push(d);
      if (r.hit) throw new Error('unexpected hit');
      out += r.released;
    }
    return out + s.end();
  };
  if (filtered() !== reply) throw new Error('the filter changed the text');
  const measure = (label, fn) => {
    for (let i = 0; i < 50; i++) fn();
    const times = [];
    const end = performance.now() + 3000;
    while (performance.now() < end) {
      const a = performance.now();
      fn();
      times.push(performance.now() - a);
    }
    return { label, rps: 1000 / pct(times, 50), p50: pct(times, 50), p99: pct(times, 99), n: times.length };
  };
  const base = measure(`baseline: ${deltas.length} deltas (${reply.length} characters) passed through untouched`, passthrough);
  const ours = measure(`keyword stream, ${fmt(matcher.size)} terms: every delta checked, held back while it may begin a term`, filtered);
  const usPerDelta = (ours.p50 * 1000) / deltas.length;
  const charsPerSecond = (reply.length / ours.p50) * 1000;
  return {
    title: `Keyword engine in process: one ${reply.length}-character reply in 4-character deltas (req/s = replies per second; p50/p99 = ms per reply)`,
    rows: [base, ours],
    baseline: base,
    notes: [
      `- ${fmt(usPerDelta, 2)} µs per delta, ${fmt(charsPerSecond / 1e6, 1)} million characters a second on one core (p50).`,
      `- Building the ${fmt(matcher.size)}-term automaton: ${fmt(buildMs)} ms (at start and on each reload); it holds about ${fmt(heapMb, 1)} MB of heap.`,
    ].join('\n'),
  };
}

async function throughServer() {
  const file = join(mkdtempSync(join(tmpdir(), 'bench-keywords-')), 'keywords.txt');
  writeFileSync(file, `${makeTerms().join('\n')}\n`);
  const fake = await startServer('fake-openai');
  const results = {};
  try {
    const envs = { none: {}, keywords: { MODERATION_KEYWORDS_FILE: file } };
    // A, B, B, A: the machine's drift (other work on it, warm-up) weighs on both alike.
    const order = ['none', 'keywords', 'keywords', 'none'];
    for (const [round, name] of order.entries()) {
      const app = await startServer('app', aiAppEnv(fake.url, { MAX_CONCURRENT_STREAMS: String(PER_USER), ...envs[name] }));
      const clients = [];
      try {
        // One reply at a time.
        const token = await login(app.url, `bench-moderation-${round}`);
        const ws = await wsClient(app.url, token);
        clients.push(ws);
        const ttft = [];
        const total = [];
        for (let i = 0; i < WARMUP + RUNS / 2; i++) {
          const t0 = performance.now();
          let first;
          await withTimeout(sendAndFollow(app.url, token, ws, { onEvent: () => (first ??= performance.now() - t0) }), REPLY_TIMEOUT_MS, 'one reply');
          if (i < WARMUP) continue;
          total.push(performance.now() - t0);
          ttft.push(first);
        }
        // 200 at once.
        const sockets = [];
        for (let u = 0; u < USERS; u++) {
          const t = await login(app.url, `bench-moderation-${round}-${u}`);
          const c = await wsClient(app.url, t);
          clients.push(c);
          sockets.push({ token: t, ws: c });
        }
        const delays = [];
        let chunks = 0;
        let complete = 0;
        const cpu0 = cpuSeconds(app.pid);
        const t0 = performance.now();
        await withTimeout(
          Promise.all(
            sockets.flatMap((s) =>
              Array.from({ length: PER_USER }, async () => {
                let since = 0;
                let got = 0;
                await sendAndFollow(app.url, s.token, s.ws, {
                  onSubscribed: (at) => (since = at),
                  onEvent: (e) => {
                    const now = Date.now();
                    for (const ts of stamps(e.delta)) {
                      got++;
                      chunks++;
                      if (ts >= since) delays.push(now - ts);
                    }
                  },
                });
                if (got === CHUNKS) complete++;
                else if (process.env.BENCH_DEBUG) console.error(`${name}: a reply got ${got}/${CHUNKS} chunks`);
              }),
            ),
          ),
          90_000,
          'load run',
        );
        const seconds = (performance.now() - t0) / 1000;
        const r = (results[name] ??= { ttft: [], total: [], delays: [], chunks: 0, complete: 0, seconds: 0, cpuSeconds: 0 });
        r.ttft.push(...ttft);
        r.total.push(...total);
        r.delays.push(...delays);
        r.chunks += chunks;
        r.complete += complete;
        r.seconds += seconds;
        r.cpuSeconds += cpuSeconds(app.pid) - cpu0;
      } finally {
        await Promise.allSettled(clients.map((c) => c.dispose()));
        await app.stop();
      }
    }
  } finally {
    await fake.stop();
  }
  const { none, keywords } = results;
  const row = (label, r) => ({ label, rps: r.chunks / r.seconds, p50: pct(r.delays, 50), p99: pct(r.delays, 99) });
  const rows = [row(`baseline: no moderation, ${none.complete}/${2 * USERS * PER_USER} replies complete`, none), row(`keyword list of ${fmt(TERMS)} terms, ${keywords.complete}/${2 * USERS * PER_USER} replies complete`, keywords)];
  return {
    title: `Through the server: ${USERS * PER_USER} concurrent streaming replies (${USERS} users x ${PER_USER}), twice per setting in the order A B B A (req/s = provider chunks delivered per second; p50/p99 = delivery delay in ms)`,
    rows,
    baseline: rows[0],
    notes: [
      `| one reply at a time (${RUNS} per setting, after ${WARMUP} warm-up per app) | TTFT p50 | TTFT p99 | total p50 | total p99 |`,
      '|---|---:|---:|---:|---:|',
      `| no moderation | ${ms(pct(none.ttft, 50))} | ${ms(pct(none.ttft, 99))} | ${ms(pct(none.total, 50))} | ${ms(pct(none.total, 99))} |`,
      `| keyword list, ${fmt(TERMS)} terms | ${ms(pct(keywords.ttft, 50))} | ${ms(pct(keywords.ttft, 99))} | ${ms(pct(keywords.total, 50))} | ${ms(pct(keywords.total, 99))} |`,
      '',
      `- Server CPU during the load runs (1 core = 100 %): no moderation ${fmt((none.cpuSeconds / none.seconds) * 100)} %, keyword list ${fmt((keywords.cpuSeconds / keywords.seconds) * 100)} %; CPU seconds per reply ${fmt((none.cpuSeconds / none.complete) * 1000, 1)} ms vs ${fmt((keywords.cpuSeconds / keywords.complete) * 1000, 1)} ms; load run time ${fmt(none.seconds, 1)} s vs ${fmt(keywords.seconds, 1)} s (both runs together).`,
      "- The fake's chunks are ASCII words (`t<time> `), so through the server the automaton mostly steps from its root; the in-process table above measures Chinese text over the list's own characters.",
    ].join('\n'),
  };
}

module.exports = {
  name: 'Moderation',
  async run() {
    return [inProcess(), await throughServer()];
  },
};

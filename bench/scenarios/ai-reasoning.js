// Time to first token (TTFT) of one reply at a time, for a plain stream and a reasoning one
// (DeepSeek R1 style: `: keep-alive` comments, then chunks with `delta.reasoning_content`, then
// the answer), measured against the fake provider (bench/servers/fake-openai.js) called
// directly with fetch (baseline) and through this server (GraphQL sendMessage(stream: true) +
// replyStream over graphql-ws, reading `reasoningDelta` and `delta`). The two paths alternate
// reply by reply, so both see the same machine. Every chunk carries the time the fake wrote
// it: besides TTFT (request sent -> first delta) we report how long the first reasoning and
// first content chunk took from the fake's write to the client, which isolates the delivery
// path from the cost of starting a reply.
// Env: BENCH_AI_RUNS (30).
const { performance } = require('node:perf_hooks');
const { startServer, fmt, pct, ms, withTimeout, wsClient, disposeClient, REPLY_TIMEOUT_MS, stamps, login, aiAppEnv, streamFake, sendAndFollow } = require('../lib');

const WARMUP = 5;
const RUNS = Number(process.env.BENCH_AI_RUNS || 30);
const FIRST_MS = 50;
const DELAY_MS = 10;
const CONTENT = 40;
const STREAMS = [
  { name: 'plain', reasoning: 0, title: `plain stream (${CONTENT} content chunks)` },
  { name: 'reasoning', reasoning: 20, title: `reasoning stream (2 keep-alive comments, 20 reasoning chunks, then ${CONTENT} content chunks)` },
];
const PARTS = ['reasoning', 'content'];

/**
 * One reply; `fn(on)` streams it, calling on(part, text) for each piece of text. Returns, in
 * ms from the request, when the first text of each part arrived, how old its first chunk was
 * then (fake wrote it -> client read it), and the chunks received per part.
 */
async function once(fn) {
  const first = {};
  const lag = {};
  const count = { reasoning: 0, content: 0 };
  const t0 = performance.now();
  let answered;
  await withTimeout(
    fn(
      (part, text) => {
        if (!text) return;
        const ts = stamps(text);
        if (first[part] === undefined) {
          first[part] = performance.now() - t0;
          lag[part] = Date.now() - ts[0];
        }
        count[part] += ts.length;
      },
      () => (answered = performance.now() - t0),
    ),
    REPLY_TIMEOUT_MS + 1000,
    'one reply',
  );
  return { first, lag, count, total: performance.now() - t0, answered };
}

/** Runs the paths alternately, WARMUP + RUNS replies each; checks every reply got every chunk. */
async function measure(paths, expected) {
  const out = paths.map((p) => ({ label: p.label, total: [], answered: [], first: { reasoning: [], content: [] }, lag: { reasoning: [], content: [] } }));
  for (let i = 0; i < WARMUP + RUNS; i++) {
    for (const [k, p] of paths.entries()) {
      const r = await once(p.fn);
      for (const part of PARTS) {
        if (r.count[part] !== expected[part]) throw new Error(`${p.label}: ${r.count[part]}/${expected[part]} ${part} chunks`);
      }
      if (i < WARMUP) continue;
      const o = out[k];
      o.total.push(r.total);
      if (r.answered !== undefined) o.answered.push(r.answered);
      for (const part of PARTS) {
        if (r.first[part] === undefined) continue;
        o.first[part].push(r.first[part]);
        o.lag[part].push(r.lag[part]);
      }
    }
  }
  return out;
}

const ratio = (a, b) => (Number.isFinite(a / b) ? `${fmt(a / b, 2)}×` : 'n/a');

/** The result for run.js: rows in ai-streaming's latency shape, and the TTFT table as notes. */
function report(stream, [direct, server]) {
  const rows = [direct, server].map((r) => ({ label: r.label, rps: 1000 / pct(r.total, 50), p50: pct(r.total, 50), p99: pct(r.total, 99) }));
  const cols = [...(stream.reasoning ? [['first reasoning', (r) => r.first.reasoning]] : []), ['first content', (r) => r.first.content], ['total', (r) => r.total]];
  let notes = `| path | ${cols.map(([c]) => `${c} p50 | ${c} p99`).join(' | ')} |\n|---|${cols.map(() => '---:|---:|').join('')}\n`;
  for (const r of [direct, server]) notes += `| ${r.label.replace(/^baseline: /, '').replace(/ \(.*\)$/, '')} | ${cols.map(([, get]) => `${ms(pct(get(r), 50))} | ${ms(pct(get(r), 99))}`).join(' | ')} |\n`;
  notes += `| **ratio server / direct** | ${cols.map(([, get]) => `${ratio(pct(get(server), 50), pct(get(direct), 50))} | ${ratio(pct(get(server), 99), pct(get(direct), 99))}`).join(' | ')} |\n`;
  const lagLine = (part) => `first ${part} chunk ${ms(pct(direct.lag[part], 50))} / ${ms(pct(direct.lag[part], 99))} direct, ${ms(pct(server.lag[part], 50))} / ${ms(pct(server.lag[part], 99))} through the server`;
  const lead = stream.reasoning ? 'reasoning' : 'content';
  const written = (r) => r.first[lead].map((t, i) => t - r.lag[lead][i]);
  const firstContentAt = FIRST_MS + stream.reasoning * DELAY_MS;
  const lastAt = FIRST_MS + (stream.reasoning + CONTENT - 1) * DELAY_MS;
  notes += [
    '',
    `All in ms. TTFT = from sending the request (for the server: the sendMessage mutation) until the first delta of that kind arrives. ${RUNS < 100 ? `With ${RUNS} replies, p99 is the slowest one. ` : ''}The fake writes ${stream.reasoning ? `the first reasoning chunk at ${FIRST_MS} ms, ` : ''}the first content chunk at ${firstContentAt} ms and the last at ${lastAt} ms.`,
    `- Age of a chunk on arrival (fake writes it -> client reads it; ms clock, p50 / p99): ${[...(stream.reasoning ? [lagLine('reasoning')] : []), lagLine('content')].join('; ')}.`,
    `- The fake wrote the stream's first chunk (TTFT minus its age) at p50 ${ms(pct(written(direct), 50))} ms after the request called directly, ${ms(pct(written(server), 50))} ms through the server (which answered sendMessage, and the subscription started, at p50 ${ms(pct(server.answered, 50))} / p99 ${ms(pct(server.answered, 99))} ms).`,
  ].join('\n');
  return { title: `TTFT, ${stream.title}: one reply at a time (${RUNS} replies after ${WARMUP} warm-up, direct and server alternating; req/s = 1000 / p50; p50/p99 = total time per reply in ms)`, rows, baseline: rows[0], notes };
}

module.exports = {
  name: 'AI reasoning',
  async run() {
    const results = [];
    for (const stream of STREAMS) {
      const fake = await startServer('fake-openai', { BENCH_FAKE_CHUNKS: String(CONTENT), BENCH_FAKE_DELAY_MS: String(DELAY_MS), BENCH_FAKE_FIRST_TOKEN_MS: String(FIRST_MS), BENCH_FAKE_REASONING_CHUNKS: String(stream.reasoning) });
      let app;
      let ws;
      try {
        app = await startServer('app', aiAppEnv(fake.url));
        const token = await login(app.url, `bench-${stream.name}`);
        ws = await wsClient(app.url, token);
        const runs = await measure(
          [
            {
              label: 'baseline: the fake, called directly with fetch + SSE parsing',
              fn: (on) => streamFake(fake.url, (d) => (on('reasoning', d.reasoning_content), on('content', d.content))),
            },
            {
              label: 'this server: sendMessage(stream: true) + replyStream (graphql-ws)',
              fn: (on, answered) => sendAndFollow(app.url, token, ws, { fields: 'seq delta reasoningDelta', onEvent: (e) => (on('reasoning', e.reasoningDelta), on('content', e.delta)), onSubscribed: answered }),
            },
          ],
          { reasoning: stream.reasoning, content: CONTENT },
        );
        results.push(report(stream, runs));
      } finally {
        if (ws) await disposeClient(ws);
        if (app) await app.stop();
        await fake.stop();
      }
    }
    return results;
  },
};

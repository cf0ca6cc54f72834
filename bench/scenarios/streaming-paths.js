// One streamed reply at a time through every way a client can receive it, against the provider
// (bench/servers/fake-openai.js: 40 chunks, 50 ms to the first, 10 ms apart, each carrying the
// time the fake wrote it) called directly in the same run:
//   graphql-ws (sendMessage(stream: true) + replyStream), Apollo's multipart subscriptions and
//   GraphQL over SSE (the same two operations, the subscription over HTTP), the REST stream
//   (POST /v1/ai/message with stream: true) and the OpenAI-compatible API (the openai SDK
//   against /openai/v1/chat/completions with an API key).
// For each: time to first token (TTFT, from the first request) and delivery delay (the fake
// writes a chunk -> the client has it), p50 and p99. Env: BENCH_PATHS_RUNS (30).
const { performance } = require('node:perf_hooks');
const { TextDecoder } = require('node:util');
const OpenAI = require('openai');
const { startServer, fmt, pct, ms, withTimeout, wsClient, REPLY_TIMEOUT_MS, stamps, post, login, aiAppEnv, streamFake, sendAndFollow, timeoutSignal } = require('../lib');

const WARMUP = 5;
const RUNS = Number(process.env.BENCH_PATHS_RUNS || 30);
const CHUNKS = 40;
const SEND = 'mutation($input: SendMessageInput!) { sendMessage(input: $input) { messageId } }';
const FOLLOW = 'subscription($id: ID!) { replyStream(messageId: $id) { seq delta done error { code message } } }';

/** Reads a fetch body as text blocks split by `separator`, calling onBlock(block) for each. */
async function readBlocks(res, separator, onBlock) {
  if (!res.ok) throw new Error(`${res.status} ${(await res.text()).slice(0, 300)}`);
  const decoder = new TextDecoder();
  let buf = '';
  for await (const chunk of res.body) {
    buf += decoder.decode(chunk, { stream: true });
    let i;
    while ((i = buf.indexOf(separator)) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + separator.length);
      if (onBlock(block) === 'stop') return;
    }
  }
}

/** `event:` and `data:` of one SSE block (comments give neither). */
function sseEvent(block) {
  let event = 'message';
  const data = [];
  for (const line of block.split('\n')) {
    if (line.startsWith('event:')) event = line.slice(6).trim();
    else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
  }
  return { event, data: data.join('\n') };
}

async function startReply(url, token) {
  return (await post(`${url}/graphql`, { query: SEND, variables: { input: { content: 'hi', stream: true } } }, token)).data.sendMessage.messageId;
}

/** replyStream over HTTP with Apollo's multipart protocol. */
async function viaMultipart(url, token, onDelta) {
  const id = await startReply(url, token);
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'multipart/mixed;boundary="graphql";subscriptionSpec="1.0",application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: FOLLOW, variables: { id } }),
    signal: timeoutSignal(REPLY_TIMEOUT_MS),
  });
  await readBlocks(res, '\r\n--graphql', (part) => {
    const body = part.slice(part.indexOf('\r\n\r\n') + 4).trim();
    if (!body.startsWith('{')) return body.startsWith('--') ? 'stop' : undefined;
    const json = JSON.parse(body);
    if (!json.payload) {
      if (json.errors) throw new Error(JSON.stringify(json.errors));
      return undefined; // a heartbeat
    }
    const e = json.payload.data?.replyStream;
    if (!e) throw new Error(JSON.stringify(json.payload.errors ?? json));
    if (e.done) return 'stop';
    onDelta(e.delta);
    return undefined;
  });
}

/** replyStream over HTTP as GraphQL over SSE (distinct connections). */
async function viaSse(url, token, onDelta) {
  const id = await startReply(url, token);
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: FOLLOW, variables: { id } }),
    signal: timeoutSignal(REPLY_TIMEOUT_MS),
  });
  await readBlocks(res, '\n\n', (block) => {
    const { event, data } = sseEvent(block);
    if (event === 'complete') return 'stop';
    if (event !== 'next' || !data) return undefined;
    const e = JSON.parse(data).data?.replyStream;
    if (!e) throw new Error(data);
    if (!e.done) onDelta(e.delta);
    return e.done ? 'stop' : undefined;
  });
}

/** The REST stream a mini-program reads with wx.request({ enableChunked: true }). */
async function viaRest(url, token, onDelta) {
  const res = await fetch(`${url}/v1/ai/message`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ message: 'hi', stream: true }),
    signal: timeoutSignal(REPLY_TIMEOUT_MS),
  });
  await readBlocks(res, '\n\n', (block) => {
    const { event, data } = sseEvent(block);
    if (event === 'error') throw new Error(data);
    if (event === 'done') return 'stop';
    if (event === 'delta') onDelta(JSON.parse(data).delta);
    return undefined;
  });
}

async function latency(label, fn) {
  const ttft = [];
  const delays = [];
  for (let i = 0; i < WARMUP + RUNS; i++) {
    const t0 = performance.now();
    let first;
    let got = 0;
    await withTimeout(
      fn((text) => {
        first ??= performance.now() - t0;
        const now = Date.now();
        for (const ts of stamps(text)) {
          got++;
          if (i >= WARMUP) delays.push(now - ts);
        }
      }),
      REPLY_TIMEOUT_MS + 1000,
      label,
    );
    if (got !== CHUNKS) throw new Error(`${label}: got ${got}/${CHUNKS} chunks`);
    if (i >= WARMUP) ttft.push(first);
  }
  return { label, ttft, delays };
}

module.exports = {
  name: 'Streaming paths',
  async run() {
    const fake = await startServer('fake-openai');
    let app;
    let ws;
    try {
      app = await startServer('app', aiAppEnv(fake.url));
      const token = await login(app.url, 'bench-paths');
      ws = await wsClient(app.url, token);
      const key = (await post(`${app.url}/graphql`, { query: 'mutation { createApiKey(name: "bench") { secret } }' }, token)).data.createApiKey.secret;
      const sdk = new OpenAI({ baseURL: `${app.url}/openai/v1`, apiKey: key, maxRetries: 0, timeout: REPLY_TIMEOUT_MS });
      const viaOpenAi = async (onDelta) => {
        const stream = await sdk.chat.completions.create({ model: 'bench-model', stream: true, messages: [{ role: 'user', content: 'hi' }] });
        for await (const c of stream) if (c.choices[0]?.delta?.content) onDelta(c.choices[0].delta.content);
      };
      const runs = [
        await latency('baseline: the provider, called directly (fetch + SSE)', (onDelta) => streamFake(fake.url, (d) => d.content && onDelta(d.content))),
        await latency('graphql-ws: sendMessage + replyStream', (onDelta) => sendAndFollow(app.url, token, ws, { onEvent: (e) => onDelta(e.delta) })),
        await latency('multipart: sendMessage + replyStream over HTTP', (onDelta) => viaMultipart(app.url, token, onDelta)),
        await latency('SSE: sendMessage + replyStream over graphql-sse', (onDelta) => viaSse(app.url, token, onDelta)),
        await latency('REST stream: POST /v1/ai/message, stream: true', (onDelta) => viaRest(app.url, token, onDelta)),
        await latency('OpenAI-compatible: /openai/v1/chat/completions (openai SDK)', viaOpenAi),
      ];
      const [base] = runs;
      // req/s here is replies per second one client gets at the p50 TTFT; the table that matters is below.
      const rows = runs.map((r) => ({ label: r.label, rps: 1000 / pct(r.ttft, 50), p50: pct(r.ttft, 50), p99: pct(r.ttft, 99) }));
      const added = (a, b) => `${a - b >= 0 ? '+' : ''}${fmt(a - b, 1)}`;
      let notes = '| path | TTFT p50 | TTFT p99 | added TTFT p50 | delivery delay p50 | delivery delay p99 | added delay p50 |\n|---|---:|---:|---:|---:|---:|---:|\n';
      for (const r of runs) {
        notes += `| ${r.label.replace(/^baseline: /, '')} | ${ms(pct(r.ttft, 50))} | ${ms(pct(r.ttft, 99))} | ${added(pct(r.ttft, 50), pct(base.ttft, 50))} | ${ms(pct(r.delays, 50))} | ${ms(pct(r.delays, 99))} | ${added(pct(r.delays, 50), pct(base.delays, 50))} |\n`;
      }
      notes += `\nAll in ms, ${RUNS} replies per path after ${WARMUP} warm-up, one at a time. TTFT: from the first request (sendMessage, or the streaming request itself) to the first delta. Delivery delay: from the fake writing a chunk to the client having it (same machine, same clock; ms resolution).`;
      return [{ title: 'Time to first token through each streaming path (p50/p99 = TTFT in ms)', rows, baseline: rows[0], notes }];
    } finally {
      if (ws) await ws.dispose();
      if (app) await app.stop();
      await fake.stop();
    }
  },
};

// A streaming OpenAI-compatible fake for benchmarks, speaking the same SSE wire format as
// test/fakes/openai.ts (so the `openai` SDK reads it unchanged). Each content chunk is a short
// word carrying the time it was written, "t<Date.now()> ", so receivers can measure delivery
// delay (same machine, same clock). Settings: BENCH_FAKE_CHUNKS (content chunks, 40),
// BENCH_FAKE_DELAY_MS (between chunks, 10), BENCH_FAKE_FIRST_TOKEN_MS (before the first, 50).
// BENCH_FAKE_REASONING_CHUNKS (0) > 0 streams like DeepSeek R1: two `: keep-alive` comment
// lines while "thinking" (one at once, one half-way to the first chunk), then that many chunks
// whose delta is {"content": null, "reasoning_content": "t<Date.now()> "}, then the content
// chunks as above, all BENCH_FAKE_DELAY_MS apart. Unset or 0: no comments, no reasoning.
const http = require('node:http');
const { randomBytes } = require('node:crypto');

const num = (v, d) => (v === undefined || v === '' || !Number.isFinite(Number(v)) ? d : Number(v));
const chunks = num(process.env.BENCH_FAKE_CHUNKS, 40);
const delay = num(process.env.BENCH_FAKE_DELAY_MS, 10);
const firstToken = num(process.env.BENCH_FAKE_FIRST_TOKEN_MS, 50);
const reasoningChunks = num(process.env.BENCH_FAKE_REASONING_CHUNKS, 0);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function json(res, status, body) {
  if (res.destroyed) return;
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function completions(req, res, raw) {
  let body;
  try {
    body = JSON.parse(raw || '{}');
  } catch {
    return json(res, 400, { error: { message: 'We could not parse the JSON body of your request.', type: 'invalid_request_error', param: null, code: null } });
  }
  const id = `chatcmpl-${randomBytes(12).toString('hex')}`;
  const created = Math.floor(Date.now() / 1000);
  const model = body.model;
  const usage = { prompt_tokens: 10, completion_tokens: chunks + reasoningChunks, total_tokens: 10 + chunks + reasoningChunks, ...(reasoningChunks ? { completion_tokens_details: { reasoning_tokens: reasoningChunks } } : {}) };
  let closed = false;
  res.on('close', () => (closed = true));

  if (!body.stream) {
    await sleep(firstToken + Math.max(0, reasoningChunks + chunks - 1) * delay);
    const words = (n) => Array.from({ length: n }, () => `t${Date.now()} `).join('');
    const reasoning = reasoningChunks ? { reasoning_content: words(reasoningChunks) } : {};
    return json(res, 200, { id, object: 'chat.completion', created, model, choices: [{ index: 0, message: { role: 'assistant', content: words(chunks), ...reasoning, refusal: null }, logprobs: null, finish_reason: 'stop' }], usage });
  }

  const includeUsage = body.stream_options?.include_usage === true;
  // Like OpenAI, with include_usage every chunk carries `usage: null` until the last one.
  const event = (choices, extra = includeUsage ? { usage: null } : {}) => `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, system_fingerprint: null, choices, ...extra })}\n\n`;
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
  res.flushHeaders();
  req.socket.setNoDelay(true); // each chunk goes out as soon as it is written
  if (reasoningChunks) {
    // DeepSeek keeps a queued or thinking request alive with SSE comments before any data.
    res.write(': keep-alive\n\n');
    await sleep(firstToken / 2);
    if (closed) return;
    res.write(': keep-alive\n\n');
    await sleep(firstToken - firstToken / 2);
  } else {
    await sleep(firstToken);
  }
  // The role goes on the stream's first chunk, reasoning or content.
  for (let i = 0; i < reasoningChunks && !closed; i++) {
    if (i) await sleep(delay);
    if (closed) return;
    const delta = { content: null, reasoning_content: `t${Date.now()} ` };
    res.write(event([{ index: 0, delta: i === 0 ? { role: 'assistant', ...delta } : delta, logprobs: null, finish_reason: null }]));
  }
  for (let i = 0; i < chunks && !closed; i++) {
    if (i || reasoningChunks) await sleep(delay);
    if (closed) return;
    const content = `t${Date.now()} `;
    res.write(event([{ index: 0, delta: i === 0 && !reasoningChunks ? { role: 'assistant', content } : { content }, logprobs: null, finish_reason: null }]));
  }
  if (closed) return;
  res.write(event([{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }]));
  if (includeUsage) res.write(event([], { usage }));
  res.end('data: [DONE]\n\n');
}

const server = http.createServer((req, res) => {
  let raw = '';
  req.setEncoding('utf8');
  req.on('data', (c) => (raw += c));
  req.on('end', () => {
    const path = new URL(req.url ?? '/', 'http://fake').pathname;
    if (req.method === 'POST' && path === '/v1/chat/completions') {
      completions(req, res, raw).catch(() => res.destroy());
      return;
    }
    if (req.method === 'GET' && path === '/v1/models') return json(res, 200, { object: 'list', data: [{ id: 'bench-model', object: 'model', created: 1700000000, owned_by: 'bench' }] });
    json(res, 404, { error: { message: `Invalid URL (${req.method} ${path})`, type: 'invalid_request_error', param: null, code: null } });
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  console.log(JSON.stringify({ url: `http://127.0.0.1:${server.address().port}` }));
});
process.once('SIGTERM', () => process.exit(0));

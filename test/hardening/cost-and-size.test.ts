import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSchema } from 'graphql';
import { jsonBytes, operationCost, QUERY_LIMITS } from '../../src/graphql/limits';
import { ChatsDocument } from '../../src/rest/generated/graphql';
import { login } from '../helpers/accounts';
import { saveChat, userSays } from '../helpers/chats';
import { collect, startTestApp, type GqlResult, type TestApp } from '../helpers/test-app';

/*
 * The cost limit counts every page size: written in the query, passed in variables, or left
 * at the schema's default (chats 20, messages 50); nested lists multiply. An operation over
 * it is refused before anything runs, on HTTP and graphql-ws alike. Past the cost limit, a
 * response over the byte limit is replaced by an error instead of being sent.
 */

const refusal = (cost: number) => ({ message: `Query Cost limit of ${QUERY_LIMITS.cost} exceeded, found ${cost}.`, extensions: { code: 'GRAPHQL_VALIDATION_FAILED', status: 400 } });

/** `n` aliases of the same selection. */
const aliased = (n: number, selection: string) => Array.from({ length: n }, (_, i) => `a${i}: ${selection}`).join(' ');

describe('the query cost limit', () => {
  let t: TestApp;
  let token: string;
  /** Statements that read chats or messages: none may run for a refused operation. */
  let reads = 0;
  beforeAll(async () => {
    t = await startTestApp({ onQuery: (sql) => /\b(chats|messages)\b/.test(sql) && /\bselect\b/i.test(sql) && reads++ });
    ({ token } = await login(t));
    for (let i = 0; i < 3; i++) await saveChat(t, token, { title: `c${i}`, messages: [userSays(`m${i}-0`), userSays(`m${i}-1`)] });
  });
  afterAll(() => t.close());

  /** POST /graphql, and how many chat and message reads it caused. */
  const run = async (query: string, variables?: Record<string, unknown>) => {
    const before = reads;
    const res = await t.gql(query, variables, { token });
    return { ...res, reads: reads - before };
  };

  const PAGES = 'query($n: Int!, $m: Int!) { chats(first: $n) { nodes { messages(last: $m) { content } } } }';

  it('counts page sizes passed in variables, and refuses before reading anything', async () => {
    // 100 chats x (1 + nodes: 1 + 500 messages x (1 + content)) = 100,200.
    const refused = await run(PAGES, { n: 100, m: 500 });
    expect(refused.status).toBe(400);
    expect(refused.body).toEqual({ errors: [refusal(100_200)] });
    expect(refused.reads).toBe(0);

    const small = await run(PAGES, { n: 2, m: 1 });
    expect(small.status).toBe(200);
    expect(small.body.data).toEqual({ chats: { nodes: [{ messages: [{ content: 'm2-1' }] }, { messages: [{ content: 'm1-1' }] }] } });
    expect(small.reads).toBeGreaterThan(0);
  });

  it('counts page sizes left at their defaults (chats 20, messages 50)', async () => {
    // Each: 20 chats x (1 + nodes: 1 + 50 messages x (1 + 4 fields)) = 5,040; 12 of them are 60,480.
    const selection = 'chats { nodes { messages { id content role timestamp } } }';
    const refused = await run(`{ ${aliased(12, selection)} }`);
    expect(refused.body).toEqual({ errors: [refusal(60_480)] });
    expect(refused.reads).toBe(0);
    const eleven = await run(`{ ${aliased(11, selection)} }`);
    expect(eleven.status).toBe(200);
    expect(Object.keys(eleven.body.data!)).toHaveLength(11);
  });

  it('counts page sizes written in the query, and in fragments with variables, the same', async () => {
    const literal = await run('{ chats(first: 100) { nodes { messages(last: 500) { content } } } }');
    expect(literal.body).toEqual({ errors: [refusal(100_200)] });
    const fragment = await run('query($n: Int!, $m: Int!) { chats(first: $n) { ...Page } } fragment Page on ChatConnection { nodes { ...Recent } } fragment Recent on Chat { messages(last: $m) { content } }', { n: 100, m: 500 });
    expect(fragment.body).toEqual({ errors: [refusal(100_200)] });
    expect(literal.reads + fragment.reads).toBe(0);
  });

  it('refuses the 1 KB query that multiplied pages by aliases', async () => {
    const query = `query($n: Int!) { ${aliased(15, 'chats(first: $n) { nodes { messages { content reasoning } } }')} }`;
    expect(Buffer.byteLength(query)).toBeLessThan(1024);
    // 15 x 100 x (1 + 1 + 50 x 3) = 228,000.
    const res = await run(query, { n: 100 });
    expect(res.body).toEqual({ errors: [refusal(228_000)] });
    expect(res.reads).toBe(0);
  });

  it("lets the REST API's largest page through (100 chats with their last 50 messages)", async () => {
    // The page's cost, as docs/api.md quotes it: under the limit, with room to spare.
    const schema = buildSchema(readFileSync(join(__dirname, '../../schema.graphql'), 'utf8'));
    expect(operationCost(schema, ChatsDocument, 'Chats', { first: 100 })).toBe(41_500);
    const res = await t.rest<Array<{ title: string; messages: Array<{ content: string }> }>>('GET', '/v1/chats?first=100', { token });
    expect(res.status).toBe(200);
    expect(res.body.data.map((c) => [c.title, c.messages.map((m) => m.content)])).toEqual([
      ['c2', ['m2-0', 'm2-1']],
      ['c1', ['m1-0', 'm1-1']],
      ['c0', ['m0-0', 'm0-1']],
    ]);
  });

  it('refuses the same over graphql-ws, before running it', async () => {
    const client = t.ws({ authorization: `Bearer ${token}` });
    const before = reads;
    const refused = await collect(client, PAGES, { n: 100, m: 500 });
    expect(refused.results).toEqual([]);
    expect(refused.error).toEqual([refusal(100_200)]);
    expect(reads).toBe(before);
    const ok = await collect(client, PAGES, { n: 1, m: 2 });
    expect(ok.error).toBeUndefined();
    expect(ok.results).toEqual([{ data: { chats: { nodes: [{ messages: [{ content: 'm2-0' }, { content: 'm2-1' }] }] } } }]);
  });
});

describe('the response size limit', () => {
  const LIMIT = 64 * 1024;
  let t: TestApp;
  let token: string;
  let chatId: string;
  beforeAll(async () => {
    t = await startTestApp({ timings: (timings) => (timings.graphql.maxResponseBytes = LIMIT) });
    ({ token } = await login(t));
    // 10,000 CJK characters are 30,000 bytes of UTF-8: one such message fits, three do not.
    chatId = (await saveChat(t, token, { title: 'long', messages: [userSays('长'.repeat(10_000))] })).id;
  });
  afterAll(() => t.close());

  const tooLarge = { message: 'The response is over the 0.1 MiB limit and was not sent; ask for less (smaller first/last, fewer fields or aliases)', extensions: { code: 'BAD_REQUEST', status: 400 } };
  const query = (copies: number) => `query($id: ID!) { ${aliased(copies, 'chat(id: $id) { messages { content } }')} }`;

  it('sends a response under the limit, and replaces one over it with BAD_REQUEST (400)', async () => {
    const two = await t.gql(query(2), { id: chatId }, { token });
    expect(two.status).toBe(200);
    expect(two.body.data!.a1).toEqual({ messages: [{ content: '长'.repeat(10_000) }] });
    // The measure is the JSON's size in bytes.
    expect(jsonBytes(two.body)).toBe(Buffer.byteLength(JSON.stringify(two.body)));

    const three = await t.gql(query(3), { id: chatId }, { token });
    expect(three.status).toBe(400);
    expect(three.body).toEqual({ errors: [tooLarge] });
  });

  it('applies to the REST routes, which answer with the error envelope', async () => {
    await saveChat(t, token, { title: 'long 2', messages: [userSays('长'.repeat(10_000))] });
    await saveChat(t, token, { title: 'long 3', messages: [userSays('长'.repeat(10_000))] });
    const one = await t.rest<{ title: string }>('GET', `/v1/chats/${chatId}`, { token });
    expect(one.body.data.title).toBe('long');
    const all = await t.rest('GET', '/v1/chats', { token });
    expect(all.status).toBe(400);
    expect(all.body).toEqual({ code: 400, message: tooLarge.message, data: null, error: { code: 400, message: tooLarge.message } });
  });

  it('applies to graphql-ws results', async () => {
    const client = t.ws({ authorization: `Bearer ${token}` });
    const two = await collect<GqlResult['body']>(client, query(2), { id: chatId });
    expect(two.results[0].data).toHaveProperty('a1');
    const three = await collect(client, query(3), { id: chatId });
    expect(three.results).toEqual([{ errors: [tooLarge] }]);
  });
});

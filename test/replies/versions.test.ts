import { login, rows } from '../helpers/accounts';
import { dataOf, PRICES, pricedModelsFile, sent, useAppWithFakeAi } from '../helpers/replies';
import { invalidVariables, startTestApp, type GqlResult, type TestApp } from '../helpers/test-app';
import { type FakeChatCall, type FakeOpenAI, startFakeOpenAI } from '../fakes/openai';
import { startModeratedApp } from '../moderation/setup';
// After the helpers, which load the app: imported first, the entities' circular imports trip.
import { changeBalance } from '../../src/payments/ledger';
import {
  StopGenerationDocument,
  UpdateSettingsDocument,
  VersionsChatDocument,
  type VersionedMessageFragment,
  VersionsEditDocument,
  VersionsRegenerateDocument,
  VersionsSearchDocument,
  VersionsSelectDocument,
} from '../generated/graphql';

/*
 * Versions of a conversation: regenerateReply adds a sibling reply, editMessage a sibling user
 * message with its reply, selectMessageVersion picks the branch shown. Chat.messages, the
 * provider's history, counts and previews follow the selected path.
 */

type Creds = { token: string; userId: string };

/** A chat's messages as role, content, version and versionCount: what a reader of the chat sees. */
const seen = (messages: readonly VersionedMessageFragment[]) => messages.map((m) => [m.role, m.content, m.version, m.versionCount]);

/** The history one provider call was sent, as role and content. */
const history = (call: FakeChatCall | undefined) => (call?.body.messages ?? []).map((m) => [m.role, m.content]);

async function chatOf(t: TestApp, user: Creds, id: string, last = 50, before?: string) {
  return dataOf(await t.gql(VersionsChatDocument, { id, last, before }, user)).chat;
}

const count = async (t: TestApp, sql: string, params: unknown[]) => Number((await rows(t, sql, params))[0].n);
const messageCount = (t: TestApp, userId: string) => count(t, 'select count(*) as n from messages where user_id = ?', [userId]);

/** The code and reason of a refused GraphQL request. */
const refusal = (res: GqlResult<unknown>) => ({ code: res.body.errors?.[0]?.extensions.code, reason: res.body.errors?.[0]?.extensions.details?.reason });

/** A chat of two exchanges: "first question" and "second question", each answered by the echo provider. */
async function twoTurns(t: TestApp, user: Creds) {
  const one = await sent(t, user.token, { content: 'first question' });
  const two = await sent(t, user.token, { content: 'second question', sessionId: one.sessionId });
  const chat = await chatOf(t, user, one.sessionId);
  const [q1, a1, q2, a2] = chat.messages;
  return { chatId: one.sessionId, q1, a1, q2, a2, replyTwo: two };
}

describe('reply versions: regenerate, edit, select', () => {
  const fx = useAppWithFakeAi();

  it('regenerates twice, edits, selects older versions; the chat, history, counts and preview follow the selected path', async () => {
    const { t, ai } = fx;
    const user = await login(t);
    const { chatId, q1, a1, q2, a2 } = await twoTurns(t, user);
    expect([q1.parentId, a1.parentId, q2.parentId, a2.parentId]).toEqual([null, q1.id, a1.id, q2.id]);

    // Regenerate by the reply, then by the user message it answers.
    const r2 = dataOf(await t.gql(VersionsRegenerateDocument, { input: { messageId: a2.id } }, user)).regenerateReply;
    expect(history(ai.calls.at(-1))).toEqual([
      ['user', 'first question'],
      ['assistant', 'Echo: first question'],
      ['user', 'second question'],
    ]);
    expect(r2.reply).toMatchObject({ role: 'ASSISTANT', content: 'Echo: second question', status: 'COMPLETE', parentId: q2.id, version: 2, versionCount: 2 });
    expect(r2.sessionId).toBe(chatId);
    const r3 = dataOf(await t.gql(VersionsRegenerateDocument, { input: { messageId: q2.id } }, user)).regenerateReply;
    expect(r3.reply).toMatchObject({ parentId: q2.id, version: 3, versionCount: 3 });

    let chat = await chatOf(t, user, chatId);
    expect(chat.messages.map((m) => m.id)).toEqual([q1.id, a1.id, q2.id, r3.messageId]);
    expect(seen(chat.messages)).toEqual([
      ['USER', 'first question', 1, 1],
      ['ASSISTANT', 'Echo: first question', 1, 1],
      ['USER', 'second question', 1, 1],
      ['ASSISTANT', 'Echo: second question', 3, 3],
    ]);
    expect(chat.messageCount).toBe(4);

    // Edit the second question: a sibling of it, answered from the history before it.
    const edited = dataOf(await t.gql(VersionsEditDocument, { input: { messageId: q2.id, content: 'second question, edited' } }, user)).editMessage;
    expect(history(ai.calls.at(-1))).toEqual([
      ['user', 'first question'],
      ['assistant', 'Echo: first question'],
      ['user', 'second question, edited'],
    ]);
    chat = await chatOf(t, user, chatId);
    const e2 = chat.messages[2];
    expect(seen(chat.messages)).toEqual([
      ['USER', 'first question', 1, 1],
      ['ASSISTANT', 'Echo: first question', 1, 1],
      ['USER', 'second question, edited', 2, 2],
      ['ASSISTANT', 'Echo: second question, edited', 1, 1],
    ]);
    expect([e2.parentId, chat.messages[3].id, chat.messages[3].parentId]).toEqual([a1.id, edited.messageId, e2.id]);
    expect(chat.messageCount).toBe(4);
    expect(chat.preview).toBe('Echo: second question, edited');
    expect(await count(t, 'select count(*) as n from messages where chat_id = ?', [chatId])).toBe(8);

    // Back to the original question, then to its first reply.
    const back = dataOf(await t.gql(VersionsSelectDocument, { messageId: q2.id }, user)).selectMessageVersion;
    expect(back.messages.map((m) => m.id)).toEqual([q1.id, a1.id, q2.id, r3.messageId]);
    const first = dataOf(await t.gql(VersionsSelectDocument, { messageId: a2.id }, user)).selectMessageVersion;
    expect(seen(first.messages).at(-1)).toEqual(['ASSISTANT', 'Echo: second question', 1, 3]);
    expect(first.messages.map((m) => m.id)).toEqual([q1.id, a1.id, q2.id, a2.id]);
    expect([first.messageCount, first.preview]).toEqual([4, 'Echo: second question']);

    // Away to the edit and back: below the question, the reply chosen before (a2), not the newest.
    await t.gql(VersionsSelectDocument, { messageId: e2.id }, user);
    const again = dataOf(await t.gql(VersionsSelectDocument, { messageId: q2.id }, user)).selectMessageVersion;
    expect(again.messages.map((m) => m.id)).toEqual([q1.id, a1.id, q2.id, a2.id]);

    // A new message follows the selected path, and the provider sees only that path.
    const next = await sent(t, user.token, { content: 'third question', sessionId: chatId });
    expect(history(ai.calls.at(-1))).toEqual([
      ['user', 'first question'],
      ['assistant', 'Echo: first question'],
      ['user', 'second question'],
      ['assistant', 'Echo: second question'],
      ['user', 'third question'],
    ]);
    chat = await chatOf(t, user, chatId);
    expect(chat.messages.map((m) => m.id)).toEqual([q1.id, a1.id, q2.id, a2.id, chat.messages[4].id, next.messageId]);
    expect([chat.messages[4].parentId, chat.messageCount]).toEqual([a2.id, 6]);

    // Paging walks the selected path by position.
    expect((await chatOf(t, user, chatId, 2, a2.id)).messages.map((m) => m.id)).toEqual([a1.id, q2.id]);
    expect((await chatOf(t, user, chatId, 3)).messages.map((m) => m.id)).toEqual([a2.id, chat.messages[4].id, next.messageId]);

    // Editing the first message makes a new root: the chat starts over from it.
    const root = dataOf(await t.gql(VersionsEditDocument, { input: { messageId: q1.id, content: 'a different start' } }, user)).editMessage;
    expect(history(ai.calls.at(-1))).toEqual([['user', 'a different start']]);
    chat = await chatOf(t, user, chatId);
    expect(seen(chat.messages)).toEqual([
      ['USER', 'a different start', 2, 2],
      ['ASSISTANT', 'Echo: a different start', 1, 1],
    ]);
    expect([chat.messages[0].parentId, chat.messages[1].id, chat.messageCount]).toEqual([null, root.messageId, 2]);

    // Search looks at what the chat shows: the edited second question is on a branch not shown now.
    expect(dataOf(await t.gql(VersionsSearchDocument, { query: 'a different start' }, user)).searchChats.totalCount).toBe(1);
    expect(dataOf(await t.gql(VersionsSearchDocument, { query: 'second question, edited' }, user)).searchChats.totalCount).toBe(0);
  });

  it('regenerates a reply on a branch not shown: it shows that branch again', async () => {
    const { t, ai } = fx;
    const user = await login(t);
    const { chatId, q1, a1, q2, a2 } = await twoTurns(t, user);
    await t.gql(VersionsEditDocument, { input: { messageId: q2.id, content: 'another second question' } }, user);
    const regenerated = dataOf(await t.gql(VersionsRegenerateDocument, { input: { messageId: a2.id } }, user)).regenerateReply;
    expect(history(ai.calls.at(-1)).at(-1)).toEqual(['user', 'second question']);
    const chat = await chatOf(t, user, chatId);
    expect(chat.messages.map((m) => m.id)).toEqual([q1.id, a1.id, q2.id, regenerated.messageId]);
    expect(seen(chat.messages).slice(2)).toEqual([
      ['USER', 'second question', 1, 2],
      ['ASSISTANT', 'Echo: second question', 2, 2],
    ]);
  });

  it('answers a retry (same clientMessageId) with the first reply and calls no provider', async () => {
    const { t, ai } = fx;
    const user = await login(t);
    const { q2, a2 } = await twoTurns(t, user);
    const first = dataOf(await t.gql(VersionsRegenerateDocument, { input: { messageId: a2.id, clientMessageId: 'regen-1' } }, user)).regenerateReply;
    const calls = ai.calls.length;
    const stored = await messageCount(t, user.userId);
    const retry = dataOf(await t.gql(VersionsRegenerateDocument, { input: { messageId: a2.id, clientMessageId: 'regen-1' } }, user)).regenerateReply;
    expect(retry.messageId).toBe(first.messageId);
    expect(retry.reply.content).toBe(first.reply.content);

    const edit = dataOf(await t.gql(VersionsEditDocument, { input: { messageId: q2.id, content: 'edited once', clientMessageId: 'edit-1' } }, user)).editMessage;
    const afterEdit = await messageCount(t, user.userId);
    expect(afterEdit).toBe(stored + 2);
    const editRetry = dataOf(await t.gql(VersionsEditDocument, { input: { messageId: q2.id, content: 'edited once', clientMessageId: 'edit-1' } }, user)).editMessage;
    expect(editRetry.messageId).toBe(edit.messageId);
    expect(ai.calls.length).toBe(calls + 1);
    expect(await messageCount(t, user.userId)).toBe(afterEdit);
  });

  it("refuses another user's messages with NOT_FOUND and changes nothing", async () => {
    const { t, ai } = fx;
    const owner = await login(t);
    const other = await login(t);
    const { chatId, q2, a2 } = await twoTurns(t, owner);
    const before = { owner: await messageCount(t, owner.userId), other: await messageCount(t, other.userId), calls: ai.calls.length };
    expect(refusal(await t.gql(VersionsRegenerateDocument, { input: { messageId: a2.id } }, other))).toEqual({ code: 'NOT_FOUND', reason: undefined });
    expect(refusal(await t.gql(VersionsEditDocument, { input: { messageId: q2.id, content: 'mine now' } }, other))).toEqual({ code: 'NOT_FOUND', reason: undefined });
    expect(refusal(await t.gql(VersionsSelectDocument, { messageId: q2.id }, other))).toEqual({ code: 'NOT_FOUND', reason: undefined });
    expect((await t.rest('POST', `/v1/chat/messages/${a2.id}/regenerate`, { ...other, body: {} })).status).toBe(404);
    expect((await t.rest('POST', `/v1/chat/messages/${q2.id}/edit`, { ...other, body: { content: 'x' } })).status).toBe(404);
    expect({ owner: await messageCount(t, owner.userId), other: await messageCount(t, other.userId), calls: ai.calls.length }).toEqual(before);
    expect((await chatOf(t, owner, chatId)).messages.map((m) => m.id).at(-1)).toBe(a2.id);
  });

  it('refuses malformed, oversized, wrong-kind and unauthenticated requests with nothing stored and no provider call', async () => {
    const { t, ai } = fx;
    const user = await login(t);
    const { q2, a2 } = await twoTurns(t, user);
    const before = { messages: await messageCount(t, user.userId), calls: ai.calls.length };
    const regen = (input: Record<string, unknown>, creds: Partial<Creds> = user) => t.gql(VersionsRegenerateDocument, invalidVariables({ input }), creds);
    const edit = (input: Record<string, unknown>, creds: Partial<Creds> = user) => t.gql(VersionsEditDocument, invalidVariables({ input }), creds);

    expect(refusal(await regen({ messageId: 'not-an-id' }))).toEqual({ code: 'BAD_REQUEST', reason: 'INVALID' });
    expect(refusal(await edit({ messageId: 'x'.repeat(27), content: 'hello' }))).toEqual({ code: 'BAD_REQUEST', reason: 'INVALID' });
    expect(refusal(await t.gql(VersionsSelectDocument, { messageId: 'nope' }, user))).toEqual({ code: 'BAD_REQUEST', reason: 'INVALID' });
    expect(refusal(await edit({ messageId: q2.id, content: '   ' }))).toEqual({ code: 'BAD_REQUEST', reason: 'EMPTY' });
    expect(refusal(await edit({ messageId: q2.id, content: '长'.repeat(32_001) }))).toEqual({ code: 'BAD_REQUEST', reason: 'TOO_LONG' });
    expect(refusal(await regen({ messageId: a2.id, modelId: 'no-such-model' }))).toEqual({ code: 'BAD_REQUEST', reason: 'UNKNOWN_MODEL' });
    expect(refusal(await regen({ messageId: a2.id, clientMessageId: 'k'.repeat(65) }))).toMatchObject({ code: 'BAD_REQUEST' });
    expect(refusal(await edit({ messageId: a2.id, content: 'an assistant message' }))).toEqual({ code: 'BAD_REQUEST', reason: 'NOT_A_USER_MESSAGE' });
    // Wrong GraphQL types are refused before any resolver runs.
    const missing = await edit({ messageId: q2.id });
    expect([missing.status, refusal(missing).code]).toEqual([400, 'BAD_USER_INPUT']);
    const wrongType = await regen({ messageId: { id: a2.id } });
    expect([wrongType.status, refusal(wrongType).code]).toEqual([400, 'BAD_USER_INPUT']);
    expect(refusal(await regen({ messageId: a2.id }, {}))).toEqual({ code: 'UNAUTHENTICATED', reason: undefined });
    expect(refusal(await edit({ messageId: q2.id, content: 'hi' }, {}))).toEqual({ code: 'UNAUTHENTICATED', reason: undefined });
    expect(refusal(await t.gql(VersionsSelectDocument, { messageId: q2.id }, {}))).toEqual({ code: 'UNAUTHENTICATED', reason: undefined });
    const rest = await t.rest('POST', `/v1/chat/messages/${q2.id}/edit`, { ...user, body: { content: 42 } });
    expect(rest.status).toBe(400);
    expect((await t.rest('POST', `/v1/chat/messages/${a2.id}/regenerate`, { body: {} })).status).toBe(401);
    expect({ messages: await messageCount(t, user.userId), calls: ai.calls.length }).toEqual(before);
  });

  it('refuses to regenerate a reply still being generated (REPLY_IN_PROGRESS)', async () => {
    const { t, ai } = fx;
    const user = await login(t);
    const { chatId } = await twoTurns(t, user);
    ai.nextModes.push('hang');
    const running = await sent(t, user.token, { content: 'take your time', sessionId: chatId, stream: true });
    const before = await messageCount(t, user.userId);
    try {
      expect(refusal(await t.gql(VersionsRegenerateDocument, { input: { messageId: running.messageId } }, user))).toEqual({ code: 'BAD_REQUEST', reason: 'REPLY_IN_PROGRESS' });
      expect(await messageCount(t, user.userId)).toBe(before);
    } finally {
      await t.gql(StopGenerationDocument, { id: running.messageId }, user);
    }
    // Once stopped it can be regenerated.
    const regenerated = dataOf(await t.gql(VersionsRegenerateDocument, { input: { messageId: running.messageId } }, user)).regenerateReply;
    expect(regenerated.reply).toMatchObject({ content: 'Echo: take your time', version: 2, versionCount: 2 });
  });

  it('refuses regenerate and edit with BAD_REQUEST HISTORY_OFF when saveHistory is off', async () => {
    const { t, ai } = fx;
    const user = await login(t);
    const { q2, a2 } = await twoTurns(t, user);
    await t.gql(UpdateSettingsDocument, { input: { saveHistory: false } }, user);
    const before = { messages: await messageCount(t, user.userId), calls: ai.calls.length };
    expect(refusal(await t.gql(VersionsRegenerateDocument, { input: { messageId: a2.id } }, user))).toEqual({ code: 'BAD_REQUEST', reason: 'HISTORY_OFF' });
    expect(refusal(await t.gql(VersionsEditDocument, { input: { messageId: q2.id, content: 'again' } }, user))).toEqual({ code: 'BAD_REQUEST', reason: 'HISTORY_OFF' });
    expect({ messages: await messageCount(t, user.userId), calls: ai.calls.length }).toEqual(before);
  });

  it('reads rows from before versions (no parent, no rank) as a linear chat, and writes their parents out on the first version', async () => {
    const { t, ai } = fx;
    const user = await login(t);
    const { chatId, q1, a1, q2, a2 } = await twoTurns(t, user);
    await rows(t, 'update messages set parent_id = null, selected_rank = null where chat_id = ?', [chatId]);
    expect(seen((await chatOf(t, user, chatId)).messages).map((m) => m.slice(2))).toEqual([[1, 1], [1, 1], [1, 1], [1, 1]]);
    await t.gql(VersionsEditDocument, { input: { messageId: q2.id, content: 'second, edited' } }, user);
    expect(history(ai.calls.at(-1))).toEqual([
      ['user', 'first question'],
      ['assistant', 'Echo: first question'],
      ['user', 'second, edited'],
    ]);
    const stored = await rows(t, 'select id, parent_id from messages where id in (?, ?, ?, ?) order by position', [q1.id, a1.id, q2.id, a2.id]);
    expect(stored.map((r) => r.parent_id)).toEqual([null, q1.id, a1.id, q2.id]);
    const chat = await chatOf(t, user, chatId);
    expect(seen(chat.messages).map((m) => m.slice(1))).toEqual([
      ['first question', 1, 1],
      ['Echo: first question', 1, 1],
      ['second, edited', 2, 2],
      ['Echo: second, edited', 1, 1],
    ]);
  });

  it('regenerates and edits a saved chat (saveChat) as one branch', async () => {
    const { t, ai } = fx;
    const user = await login(t);
    const saved = await t.gql<{ saveChat: { id: string; messages: Array<{ id: string }> } }>(
      'mutation { saveChat(input: { messages: [{ role: USER, content: "saved question" }, { role: ASSISTANT, content: "saved answer" }, { role: USER, content: "follow-up" }, { role: ASSISTANT, content: "old answer" }] }) { id messages { id } } }',
      {},
      user,
    );
    const { id: chatId, messages } = dataOf(saved).saveChat;
    const regenerated = dataOf(await t.gql(VersionsRegenerateDocument, { input: { messageId: messages[3].id } }, user)).regenerateReply;
    expect(history(ai.calls.at(-1))).toEqual([
      ['user', 'saved question'],
      ['assistant', 'saved answer'],
      ['user', 'follow-up'],
    ]);
    const chat = await chatOf(t, user, chatId);
    expect(seen(chat.messages)).toEqual([
      ['USER', 'saved question', 1, 1],
      ['ASSISTANT', 'saved answer', 1, 1],
      ['USER', 'follow-up', 1, 1],
      ['ASSISTANT', 'Echo: follow-up', 2, 2],
    ]);
    expect(chat.messages.at(-1)!.id).toBe(regenerated.messageId);
  });
});

/** A `text/event-stream` answer as its events. */
async function readEvents(res: Response): Promise<Array<{ event?: string; data?: unknown }>> {
  const text = await res.text();
  return text
    .split('\n\n')
    .filter((block) => block.trim() && !block.startsWith(':'))
    .map((block) => {
      const e: { event?: string; data?: unknown } = {};
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) e.event = line.slice(7);
        else if (line.startsWith('data: ')) e.data = JSON.parse(line.slice(6));
      }
      return e;
    });
}

describe('reply versions over REST', () => {
  const fx = useAppWithFakeAi({ chunkSize: 3 });

  it('regenerates and edits as POST /v1/ai/message answers, and streams a regenerate', async () => {
    const { t, ai } = fx;
    const user = await login(t);
    const { chatId, q2, a2 } = await twoTurns(t, user);

    const regen = await t.rest<{ text: string; messageId: string; sessionId: string; status: string; model: string; metadata: { responseLength: number } }>('POST', `/v1/chat/messages/${a2.id}/regenerate`, { ...user, body: {} });
    expect(regen.status).toBe(200);
    expect(regen.body.data).toMatchObject({ text: 'Echo: second question', sessionId: chatId, status: 'complete', model: 'gpt-test', metadata: { responseLength: 'Echo: second question'.length } });

    const edit = await t.rest<{ text: string; messageId: string }>('POST', `/v1/chat/messages/${q2.id}/edit`, { ...user, body: { content: 'second question via REST', clientMessageId: 'rest-edit' } });
    expect(edit.body.data.text).toBe('Echo: second question via REST');
    const calls = ai.calls.length;
    const retried = await t.rest<{ messageId: string }>('POST', `/v1/chat/messages/${q2.id}/edit`, { ...user, body: { content: 'second question via REST', clientMessageId: 'rest-edit' } });
    expect([retried.body.data.messageId, ai.calls.length]).toEqual([edit.body.data.messageId, calls]);

    // Streamed: deltas, then the done event with the route's usual data.
    const streamed = await fetch(`${t.url}/v1/chat/messages/${q2.id}/regenerate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${user.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ stream: true }),
    });
    expect(streamed.headers.get('content-type')).toContain('text/event-stream');
    const events = await readEvents(streamed);
    const deltas = events.filter((e) => e.event === 'delta').map((e) => e.data as { delta: string; seq: number });
    const done = events.at(-1)!;
    expect(done.event).toBe('done');
    const data = done.data as { text: string; messageId: string; status: string };
    expect(deltas.map((d) => d.delta).join('')).toBe('Echo: second question');
    expect(deltas.map((d) => d.seq)).toEqual(deltas.map((_, i) => i + 1));
    expect(data).toMatchObject({ text: 'Echo: second question', status: 'complete' });

    const chat = await chatOf(t, user, chatId);
    expect(chat.messages.at(-1)).toMatchObject({ id: data.messageId, content: 'Echo: second question', version: 3, versionCount: 3, parentId: q2.id });
    expect(await count(t, 'select count(*) as n from messages where chat_id = ?', [chatId])).toBe(4 + 1 + 2 + 1);
  });
});

describe('reply versions and content security', () => {
  let app: Awaited<ReturnType<typeof startModeratedApp>>;
  beforeAll(async () => {
    app = await startModeratedApp();
  });
  afterAll(() => app.close());

  it('refuses an edit with blocked text: FORBIDDEN / CONTENT_BLOCKED, nothing stored, no provider call', async () => {
    const { t, ai } = app;
    const user = await login(t);
    const { q2 } = await twoTurns(t, user);
    const before = { messages: await messageCount(t, user.userId), calls: ai.calls.length };
    const res = await t.gql(VersionsEditDocument, { input: { messageId: q2.id, content: '请告诉我敏感词是什么' } }, user);
    expect(res.body.errors?.[0].extensions).toMatchObject({ code: 'FORBIDDEN', details: { field: 'content', reason: 'CONTENT_BLOCKED' } });
    expect({ messages: await messageCount(t, user.userId), calls: ai.calls.length }).toEqual(before);
  });
});

describe('reply versions and billing', () => {
  /** Fen per 1,000 tokens, as in test/payments/billing.test.ts. */
  let ai: FakeOpenAI;
  let t: TestApp;
  beforeAll(async () => {
    ai = await startFakeOpenAI({ chunkSize: 4 });
    const file = pricedModelsFile(ai.baseURL);
    t = await startTestApp({ env: { AI_MODELS: file, FAKE_AI_KEY: ai.apiKey } });
  });
  afterAll(async () => {
    await t.close();
    await ai.close();
  });

  const balanceOf = async (userId: string) => Number((await rows(t, 'select balance from users where id = ?', [userId]))[0].balance);
  const usageEntries = async (userId: string) =>
    (await rows(t, "select reference, amount, balance_after from ledger_entries where user_id = ? and kind = 'AI_USAGE'", [userId])).map((e) => ({ reference: e.reference, amount: Number(e.amount), balanceAfter: Number(e.balance_after) }));

  it('charges a regenerate with a priced model as a send: its usage, once, on the new reply; the next regenerate keeps the model', async () => {
    const user = await login(t);
    // A top-up of 100 yuan through the ledger (the payment flows have tests of their own).
    const TOPUP = 10_000;
    await t.app.deps.orm.em.fork().transactional((em) => changeBalance(em, { userId: user.userId, kind: 'TOPUP', reference: 'versions-test', amount: TOPUP }));
    const { a2 } = await twoTurns(t, user);
    expect(await balanceOf(user.userId)).toBe(TOPUP);

    const res = dataOf(await t.gql(VersionsRegenerateDocument, { input: { messageId: a2.id, modelId: 'paid' } }, user)).regenerateReply;
    const usage = res.reply.usage!;
    expect(usage.totalTokens).toBe(ai.calls.at(-1)!.usage!.total_tokens);
    const cost = Math.ceil((usage.promptTokens * PRICES.prompt + usage.completionTokens * PRICES.completion) / 1000);
    expect(cost).toBeGreaterThan(0);
    expect(await balanceOf(user.userId)).toBe(TOPUP - cost);
    expect(await usageEntries(user.userId)).toEqual([{ reference: res.messageId, amount: -cost, balanceAfter: TOPUP - cost }]);
    expect(res.reply.model).toBe('paid');

    // Without modelId a regenerate keeps the model of the turn's last reply.
    const again = dataOf(await t.gql(VersionsRegenerateDocument, { input: { messageId: res.messageId } }, user)).regenerateReply;
    expect(again.reply.model).toBe('paid');
    expect((await usageEntries(user.userId)).map((e) => e.reference)).toEqual([res.messageId, again.messageId]);
  });
});

import fc from 'fast-check';
import { rows } from '../helpers/accounts';
import { gqlUpload, wavFile } from '../helpers/audio';
import { gqlImport } from '../helpers/chat-files';
import { startAppWithPayments } from '../helpers/payments';
// After the helpers, which load the app: imported first, the entities' circular imports trip.
import { buildAppSchema } from '../../src/graphql/build-schema';
import { setAdminRole } from '../../src/admin/admin-role';
import type { TestApp } from '../helpers/test-app';
import { dbState } from './db-state';
import { amount, anyText, idFrom, messages, optional, textUpTo, withOneFault, wrongType } from './fuzz-inputs';

/*
 * A property-based sweep over every mutation's inputs (GraphQL) and every REST body: the
 * answer is a success or a 4xx, never a 5xx; a 4xx stored nothing (every table as it was);
 * nothing the caller does changes another user's rows; and an anonymous caller never
 * succeeds where a user is needed. The inputs mix plausible values with malformed, oversized
 * and wrongly typed ones, and ids of the caller's, of someone else's and of nobody's. Runs on
 * SQLite and, with TEST_DATABASE_URL, on MySQL/MariaDB. A failure prints fast-check's seed,
 * path and shrunk input; add `seed` and `path` to the `fc.assert` options to replay it.
 */

const RUNS = 60;
/** Every mutation of the schema; `mutations()` has one sweep entry for each. */
const MUTATIONS = ['createApiKey', 'revokeApiKey', 'wechatLogin', 'logout', 'saveChat', 'deleteChats', 'starChat', 'createWechatPayOrder', 'createAlipayOrder', 'sendMessage', 'stopGeneration', 'updateSettings', 'speechToText', 'speakMessage', 'rateMessage', 'deleteAllChats', 'deleteAccount', 'importChats', 'regenerateReply', 'editMessage', 'selectMessageVersion', 'redeemCode', 'adminAdjustBalance', 'adminSuspendUser', 'adminCreateRedeemCodes', 'adminReloadModels', 'refundOrder', 'createVirtualPayOrder'];
const UNKNOWN_ID = '01m8y0v228hz5x7s28xkc7m6m4';
const ROLES = ['USER', 'ASSISTANT', 'SYSTEM'];

interface Party {
  code: string;
  token: string;
  userId: string;
  chatId: string;
  messageId: string;
  /** The user message the reply answers (editMessage takes one). */
  questionId: string;
  apiKeyId: string;
  orderIds: string[];
}

/** A user with one of everything: a chat with a reply, an API key, an order of each method. */
async function party(t: TestApp, name: string): Promise<Party> {
  const code = `${name}-${Math.random().toString(36).slice(2)}`;
  const login = await t.gql<{ wechatLogin: { token: string; userInfo: { id: string } } }>('mutation($c: String!) { wechatLogin(input: { code: $c }) { token userInfo { id } } }', { c: code });
  if (!login.body.data) throw new Error(`login failed: ${JSON.stringify(login.body.errors)}`);
  const { token, userInfo } = login.body.data.wechatLogin;
  const sent = await t.gql<{ sendMessage: { sessionId: string; messageId: string } }>('mutation { sendMessage(input: { content: "hello there" }) { sessionId messageId } }', {}, { token });
  const key = await t.gql<{ createApiKey: { apiKey: { id: string } } }>('mutation { createApiKey(name: "k") { apiKey { id } } }', {}, { token });
  const orderIds = [`${name}-w`, `${name}-a`];
  await t.gql('mutation($o: String!) { createWechatPayOrder(input: { amount: 1, orderId: $o }) { orderId } }', { o: orderIds[0] }, { token });
  await t.gql('mutation($o: String!) { createAlipayOrder(input: { amount: 1, orderId: $o }) { orderId } }', { o: orderIds[1] }, { token });
  const chatId = sent.body.data!.sendMessage.sessionId;
  const [question] = await rows(t, "select id from messages where chat_id = ? and role = 'USER'", [chatId]);
  return { code, token, userId: userInfo.id, chatId, messageId: sent.body.data!.sendMessage.messageId, questionId: String(question.id), apiKeyId: key.body.data!.createApiKey.apiKey.id, orderIds };
}

/** The other user's rows, in full: nothing the fuzzed caller sends may change them. */
async function stateOf(t: TestApp, userId: string): Promise<string> {
  const queries = [
    'select * from users where id = ?',
    'select * from chats where user_id = ? order by id',
    'select id, position, role, content, status, client_message_id from messages where user_id = ? order by id',
    'select * from api_keys where user_id = ? order by id',
    'select * from payment_orders where user_id = ? order by id',
    'select t.* from chat_tags t join chats c on c.id = t.chat_id where c.user_id = ? order by t.chat_id, t.position',
  ];
  return JSON.stringify(await Promise.all(queries.map((sql) => rows(t, sql, [userId]))));
}

type Who = 'user' | 'anonymous' | 'bad token';
const who = fc.oneof({ weight: 8, arbitrary: fc.constant<Who>('user') }, { weight: 1, arbitrary: fc.constantFrom<Who>('anonymous', 'bad token') });

interface Op {
  name: string;
  /** Public mutations (login) work without a credential. */
  public?: boolean;
  run(t: TestApp, token: string | undefined, input: Record<string, unknown>): Promise<{ status: number; codes: string[] }>;
  input: fc.Arbitrary<Record<string, unknown>>;
  /** The input names one of the other user's things as the single target. */
  targetsOther?: (input: Record<string, unknown>) => boolean;
}

const gqlOp = (name: string, query: string, input: fc.Arbitrary<Record<string, unknown>>, extra: Partial<Op> = {}): Op => ({
  name,
  input,
  async run(t, token, variables) {
    const res = await t.gql(query, variables, token ? { token } : {});
    return { status: res.status, codes: (res.body.errors ?? []).map((e) => e.extensions?.code) };
  },
  ...extra,
});

function mutations(me: Party, other: Party): Op[] {
  const chatId = idFrom(me.chatId, [other.chatId, UNKNOWN_ID, me.chatId.toUpperCase(), 'not-an-id']);
  const messageId = idFrom(me.messageId, [other.messageId, me.chatId, UNKNOWN_ID]);
  const keyId = idFrom(me.apiKeyId, [other.apiKeyId, UNKNOWN_ID]);
  const adminTarget = idFrom(me.userId, [UNKNOWN_ID, 'not-an-id', 'x'.repeat(1000)]);
  const orderId = fc.oneof(fc.constantFrom(...me.orderIds, ...other.orderIds, 'Order-X1', 'order-x1'), fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/));
  const order = withOneFault(fc.record({ input: optional({ amount, orderId, scene: fc.constantFrom('DESKTOP_WEB', 'MOBILE_WEB', 'MINI_PROGRAM') }, ['amount', 'orderId']) }));
  const isOther = (value: unknown) => [other.chatId, other.messageId, other.apiKeyId].includes(value as string);
  const inputOf = (i: Record<string, unknown>) => (i.input ?? {}) as Record<string, unknown>;
  return [
    gqlOp('createApiKey', 'mutation($name: String!) { createApiKey(name: $name) { secret } }', withOneFault(fc.record({ name: textUpTo(64) }))),
    gqlOp('revokeApiKey', 'mutation($id: ID!) { revokeApiKey(id: $id) }', withOneFault(fc.record({ id: keyId })), { targetsOther: (i) => isOther(i.id) }),
    gqlOp(
      'wechatLogin',
      'mutation($input: WechatLoginInput!) { wechatLogin(input: $input) { token } }',
      withOneFault(fc.record({ input: optional({ code: textUpTo(128), userInfo: optional({ nickName: textUpTo(64), avatarUrl: fc.webUrl() }) }, ['code']) })),
      { public: true },
    ),
    gqlOp('logout', 'mutation { logout }', fc.constant({})),
    gqlOp(
      'saveChat',
      'mutation($input: SaveChatInput!) { saveChat(input: $input) { id } }',
      withOneFault(fc.record({ input: optional({ id: chatId, title: textUpTo(200), messages: messages(ROLES), category: textUpTo(32), tags: fc.array(textUpTo(32), { maxLength: 21 }), isStarred: fc.boolean() }, ['messages']) })),
      { targetsOther: (i) => isOther(inputOf(i).id) },
    ),
    gqlOp('deleteChats', 'mutation($ids: [ID!]!) { deleteChats(ids: $ids) }', withOneFault(fc.record({ ids: fc.oneof(fc.array(chatId, { maxLength: 4 }), fc.constant(Array.from({ length: 101 }, () => UNKNOWN_ID))) }))),
    gqlOp('starChat', 'mutation($id: ID!, $starred: Boolean!) { starChat(id: $id, starred: $starred) { id } }', withOneFault(fc.record({ id: chatId, starred: fc.boolean() })), { targetsOther: (i) => isOther(i.id) }),
    gqlOp('createWechatPayOrder', 'mutation($input: CreateOrderInput!) { createWechatPayOrder(input: $input) { orderId } }', order),
    gqlOp('createAlipayOrder', 'mutation($input: CreateOrderInput!) { createAlipayOrder(input: $input) { orderId } }', order),
    // Not configured in this sweep (PAYMENT_METHOD_NOT_CONFIGURED); test/payments/virtual-pay.test.ts covers it configured.
    gqlOp('createVirtualPayOrder', 'mutation($input: CreateVirtualPayOrderInput!) { createVirtualPayOrder(input: $input) { signData } }', withOneFault(fc.record({ input: optional({ productId: textUpTo(80), orderId }, ['productId', 'orderId']) }))),
    // Admins only: every caller here is refused, whichever order (its own, another's, none) it names.
    gqlOp(
      'refundOrder',
      'mutation($id: ID!, $amount: Float, $reason: String!, $force: Boolean) { refundOrder(id: $id, amount: $amount, reason: $reason, force: $force) { id } }',
      withOneFault(optional({ id: fc.oneof(fc.constant(UNKNOWN_ID), textUpTo(40)), amount, reason: textUpTo(100), force: fc.boolean() }, ['id', 'reason'])),
    ),
    gqlOp(
      'sendMessage',
      'mutation($input: SendMessageInput!) { sendMessage(input: $input) { messageId } }',
      withOneFault(
        fc.record({
          input: optional({ content: textUpTo(32_000), sessionId: chatId, modelId: fc.constantFrom('echo', 'echo', 'echo', 'gpt-nope'), messageHistory: messages(ROLES), clientMessageId: fc.oneof(fc.constantFrom('k-1', 'K-1', 'k-1 '), textUpTo(64)), stream: fc.boolean() }, ['content']),
        }),
      ),
      // With a clientMessageId used before, a send is the retry it says it is, whatever its sessionId.
      { targetsOther: (i) => isOther(inputOf(i).sessionId) && inputOf(i).clientMessageId === undefined },
    ),
    gqlOp('stopGeneration', 'mutation($messageId: ID!) { stopGeneration(messageId: $messageId) { id } }', withOneFault(fc.record({ messageId })), { targetsOther: (i) => isOther(i.messageId) }),
    gqlOp(
      'regenerateReply',
      'mutation($input: RegenerateReplyInput!) { regenerateReply(input: $input) { messageId } }',
      withOneFault(fc.record({ input: optional({ messageId: idFrom(me.messageId, [me.questionId, other.messageId, other.questionId, UNKNOWN_ID, 'not-an-id']), modelId: fc.constantFrom('echo', 'echo', 'gpt-nope'), clientMessageId: fc.oneof(fc.constantFrom('v-1', 'k-1'), textUpTo(64)), stream: fc.boolean() }, ['messageId']) })),
      // With a clientMessageId used before, a request is the retry it says it is, whatever its messageId.
      { targetsOther: (i) => [other.messageId, other.questionId].includes(inputOf(i).messageId as string) && inputOf(i).clientMessageId === undefined },
    ),
    gqlOp(
      'editMessage',
      'mutation($input: EditMessageInput!) { editMessage(input: $input) { messageId } }',
      withOneFault(fc.record({ input: optional({ messageId: idFrom(me.questionId, [me.messageId, other.questionId, UNKNOWN_ID, 'not-an-id']), content: textUpTo(32_000), modelId: fc.constantFrom('echo', 'echo', 'gpt-nope'), clientMessageId: fc.oneof(fc.constantFrom('v-2', 'k-1'), textUpTo(64)), stream: fc.boolean() }, ['messageId', 'content']) })),
      { targetsOther: (i) => inputOf(i).messageId === other.questionId && inputOf(i).clientMessageId === undefined },
    ),
    gqlOp(
      'selectMessageVersion',
      'mutation($messageId: ID!) { selectMessageVersion(messageId: $messageId) { id messageCount } }',
      withOneFault(fc.record({ messageId: idFrom(me.questionId, [me.messageId, other.messageId, other.questionId, UNKNOWN_ID, 'not-an-id']) })),
      { targetsOther: (i) => [other.messageId, other.questionId].includes(i.messageId as string) },
    ),
    gqlOp('speakMessage', 'mutation($messageId: ID!, $voice: String) { speakMessage(messageId: $messageId, voice: $voice) { url } }', withOneFault(optional({ messageId, voice: fc.oneof(fc.constantFrom('alloy', 'nova', 'bad voice!'), textUpTo(40)) }, ['messageId'])), { targetsOther: (i) => isOther(i.messageId) }),
    gqlOp(
      'rateMessage',
      'mutation($messageId: ID!, $rating: Rating, $comment: String) { rateMessage(messageId: $messageId, rating: $rating, comment: $comment) { id } }',
      withOneFault(optional({ messageId, rating: fc.constantFrom('UP', 'DOWN', null), comment: fc.oneof(textUpTo(1001), fc.constant(null)) }, ['messageId'])),
      { targetsOther: (i) => isOther(i.messageId) },
    ),
    gqlOp('deleteAllChats', 'mutation($confirm: String!) { deleteAllChats(confirm: $confirm) }', withOneFault(fc.record({ confirm: fc.oneof(fc.constantFrom('DELETE ALL CHATS', 'delete all chats'), anyText) }))),
    gqlOp('deleteAccount', 'mutation($confirm: String!) { deleteAccount(confirm: $confirm) }', withOneFault(fc.record({ confirm: fc.oneof(fc.constantFrom('DELETE MY ACCOUNT', 'DELETE MY ACCOUNT '), anyText) }))),
    gqlOp('redeemCode', 'mutation($code: String!) { redeemCode(code: $code) { balance } }', withOneFault(fc.record({ code: fc.oneof(anyText, textUpTo(64), fc.constantFrom('ABCD-EFGH-JKMN-PQRS-TVWX-YZ', 'abcd efgh jkmn pqrs tvwx yz')) }))),
    // The admin operations run as an admin (the sweep grants `me` the role); they may act on
    // any user, so their targets are the caller, nobody and malformed ids, never the other party.
    gqlOp('adminAdjustBalance', 'mutation($userId: ID!, $amount: Int!, $reason: String!) { adminAdjustBalance(userId: $userId, amount: $amount, reason: $reason) { balance } }', withOneFault(fc.record({ userId: adminTarget, amount: fc.oneof(fc.integer({ min: -1000, max: 1000 }), fc.constantFrom(0, 10_000_000, 10_000_001, -10_000_001, 2 ** 31)), reason: textUpTo(500) }))),
    gqlOp('adminSuspendUser', 'mutation($userId: ID!, $until: DateTime, $reason: String!) { adminSuspendUser(userId: $userId, until: $until, reason: $reason) { suspendedUntil } }', withOneFault(fc.record({ userId: adminTarget, until: fc.constantFrom(null, '2999-01-01T00:00:00.000Z', '2001-01-01T00:00:00.000Z', '+010000-01-01T00:00:00.000Z'), reason: textUpTo(500) }))),
    gqlOp('adminCreateRedeemCodes', 'mutation($amount: Int!, $count: Int!, $expiresAt: DateTime, $note: String) { adminCreateRedeemCodes(amount: $amount, count: $count, expiresAt: $expiresAt, note: $note) }', withOneFault(optional({ amount: fc.oneof(fc.integer({ min: 1, max: 10_000_000 }), fc.constantFrom(0, -1, 10_000_001)), count: fc.oneof(fc.integer({ min: 1, max: 5 }), fc.constantFrom(0, 1000, 1001)), expiresAt: fc.constantFrom(null, '2999-01-01T00:00:00.000Z', '2001-01-01T00:00:00.000Z'), note: textUpTo(200) }, ['amount', 'count']))),
    gqlOp('adminReloadModels', 'mutation { adminReloadModels { id } }', fc.constant({})),
    gqlOp('updateSettings', 'mutation($input: UpdateSettingsInput!) { updateSettings(input: $input) { isDarkMode } }', withOneFault(fc.record({ input: optional({ isDarkMode: fc.boolean(), autoRead: fc.boolean(), saveHistory: fc.boolean() }) }))),
    {
      name: 'speechToText',
      input: fc.record({ language: fc.option(fc.oneof(fc.constantFrom('zh', 'en-US', 'auto', ''), anyText), { nil: undefined }), file: fc.oneof(fc.constant(wavFile(0.2)), fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a))) }),
      async run(t, token, input) {
        const res = await gqlUpload(t, input.file as Buffer, { token, language: input.language as string | undefined });
        return { status: res.status, codes: (res.body.errors ?? []).map((e) => e.extensions.code) };
      },
    },
    {
      name: 'importChats',
      // Exports naming the caller's and the other user's chats and messages (imported as new ones, never into theirs), ChatGPT-shaped files, and junk.
      input: fc.record({
        format: fc.constantFrom('NATIVE', 'CHATGPT', undefined, 'XML'),
        file: fc.oneof(
          fc
            .array(
              optional({ id: chatId, title: textUpTo(201), category: textUpTo(33), tags: fc.array(textUpTo(33), { maxLength: 21 }), isStarred: fc.oneof(fc.boolean(), anyText), messages: messages(ROLES).map((ms) => ms.map((m) => ({ ...m, id: me.messageId, parentId: other.messageId }))) }),
              { maxLength: 3 },
            )
            .map((chats) => JSON.stringify({ format: 'chat-assistant-export', version: 1, chats })),
          fc.array(fc.record({ title: textUpTo(40), current_node: fc.constantFrom('n', 'missing'), mapping: fc.constant({ n: { id: 'n', parent: null, message: { author: { role: 'user' }, content: { content_type: 'text', parts: ['你好'] } } } }) }), { maxLength: 2 }).map((a) => JSON.stringify(a)),
          fc.json(),
          fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
        ),
      }),
      async run(t, token, input) {
        const res = await gqlImport(t, input.file as string | Buffer, { token, format: input.format as string | undefined });
        return { status: res.status, codes: (res.body.errors ?? []).map((e) => e.extensions.code) };
      },
    },
  ];
}

/** The /v1 routes with a JSON body, as REST clients spell them (lowercase roles). */
const REST_ROLES = ['user', 'assistant', 'system'];
const sending = (me: Party, other: Party) => ({ sessionId: idFrom(me.chatId, [other.chatId, 'nope']), modelId: fc.constantFrom('echo', 'echo', 'echo', 'nope'), clientMessageId: fc.oneof(fc.constantFrom('r-1', 'R-1'), textUpTo(64)) });
const orderBody = () => withOneFault(optional({ amount, orderId: fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/), scene: fc.constantFrom('desktop_web', 'mobile_web', 'mini_program', 'MINI_PROGRAM') }, ['amount', 'orderId']));
const REST_ROUTES: Array<{ method: string; path: string; public?: boolean; body: (me: Party, other: Party) => fc.Arbitrary<Record<string, unknown>>; pathOf?: (me: Party) => string }> = [
  {
    method: 'POST',
    path: '/v1/chat/messages/:id/regenerate',
    pathOf: (me) => `/v1/chat/messages/${me.messageId}/regenerate`,
    // No "stream": a true one (a fault may make it so) answers an event stream, not the JSON this sweep reads.
    body: () => withOneFault(optional({ modelId: fc.constantFrom('echo', 'nope'), clientMessageId: fc.oneof(fc.constantFrom('r-1', 'R-1'), textUpTo(64)) })),
  },
  {
    method: 'POST',
    path: '/v1/chat/messages/:id/edit',
    pathOf: (me) => `/v1/chat/messages/${me.questionId}/edit`,
    body: () => withOneFault(optional({ content: textUpTo(32_000), modelId: fc.constantFrom('echo', 'nope'), clientMessageId: fc.oneof(fc.constantFrom('r-1', 'R-1'), textUpTo(64)) }, ['content'])),
  },
  { method: 'POST', path: '/v1/auth/wechat-login', public: true, body: () => withOneFault(optional({ code: textUpTo(128), userInfo: optional({ nickName: textUpTo(64), avatarUrl: fc.webUrl() }) }, ['code'])) },
  { method: 'PUT', path: '/v1/user/settings', body: () => withOneFault(optional({ isDarkMode: fc.boolean(), autoRead: fc.boolean(), saveHistory: fc.boolean() })) },
  {
    method: 'POST',
    path: '/v1/chats',
    body: (me, other) => withOneFault(optional({ id: idFrom(me.chatId, [other.chatId, 'nope']), title: textUpTo(200), messages: messages(REST_ROLES), category: textUpTo(32), tags: fc.array(textUpTo(32), { maxLength: 21 }), isStarred: fc.boolean() }, ['messages'])),
  },
  { method: 'DELETE', path: '/v1/chats', body: (me, other) => withOneFault(fc.record({ ids: fc.array(idFrom(me.chatId, [other.chatId, 'nope']), { maxLength: 3 }) })) },
  { method: 'POST', path: '/v1/chat/message', body: (me, other) => withOneFault(optional({ content: textUpTo(32_000), ...sending(me, other) }, ['content'])) },
  { method: 'POST', path: '/v1/ai/message', body: (me, other) => withOneFault(optional({ message: textUpTo(200), messageHistory: messages(REST_ROLES), ...sending(me, other) }, ['message'])) },
  { method: 'POST', path: '/v1/ai/text-to-speech', body: (me, other) => withOneFault(optional({ messageId: idFrom(me.messageId, [other.messageId, 'nope']), voice: textUpTo(40) }, ['messageId'])) },
  { method: 'DELETE', path: '/v1/chats/all', body: () => withOneFault(fc.record({ confirm: fc.oneof(fc.constant('DELETE ALL CHATS'), anyText) })) },
  { method: 'DELETE', path: '/v1/user', body: () => withOneFault(fc.record({ confirm: fc.oneof(fc.constant('DELETE MY ACCOUNT'), anyText) })) },
  { method: 'POST', path: '/v1/pay/wechat', body: orderBody },
  { method: 'POST', path: '/v1/pay/wechat-virtual', body: () => withOneFault(optional({ productId: textUpTo(80), orderId: textUpTo(70) }, ['productId', 'orderId'])) },
  { method: 'POST', path: '/v1/pay/alipay', body: orderBody },
  { method: 'POST', path: '/v1/user/redeem', body: () => withOneFault(fc.record({ code: fc.oneof(anyText, fc.constant('ABCD-EFGH-JKMN-PQRS-TVWX-YZ')) })) },
];

/** Asserts the sweep's properties for one request; `send` makes it. */
async function checkOne(t: TestApp, other: Party, op: { public?: boolean }, caller: Who, targetsOther: boolean, send: () => Promise<{ status: number; codes: string[] }>) {
  const [before, otherBefore] = await Promise.all([dbState(t), stateOf(t, other.userId)]);
  const { status, codes } = await send();
  const context = { status, codes };
  expect(context).toEqual({ status: expect.any(Number), codes: expect.not.arrayContaining(['INTERNAL_SERVER_ERROR']) });
  expect([status >= 200 && status < 500, context]).toEqual([true, context]);
  if (status >= 400) expect(await dbState(t)).toBe(before);
  expect(await stateOf(t, other.userId)).toBe(otherBefore);
  if (caller !== 'user' && !op.public) expect([status === 400 || status === 401, context]).toEqual([true, context]);
  if (targetsOther && caller === 'user') expect([status === 400 || status === 404, context]).toEqual([true, context]);
}

describe('input sweep: a success or a 4xx, never a 5xx, and nothing stored on a 4xx', () => {
  let t: TestApp;
  let close: () => Promise<void>;
  let other: Party;

  beforeAll(async () => {
    ({ t, close } = await startAppWithPayments());
    other = await party(t, 'other');
  });
  afterAll(() => close());

  /** A token for `caller`: logout and deleteAccount get a fresh one each time, so the sweep's own token stays valid. */
  const tokenFor = async (me: Party, caller: Who, opName: string): Promise<string | undefined> => {
    if (caller === 'anonymous') return undefined;
    if (caller === 'bad token') return `${me.token.slice(0, -4)}AAAA`;
    // logout and deleteAccount end the token (deleteAccount the account: the login makes a new one).
    if (opName !== 'logout' && opName !== 'deleteAccount') return me.token;
    const again = await t.gql<{ wechatLogin: { token: string } }>('mutation($c: String!) { wechatLogin(input: { code: $c }) { token } }', { c: me.code });
    return again.body.data!.wechatLogin.token;
  };

  it('GraphQL: every mutation', async () => {
    for (const name of MUTATIONS) {
      // Each mutation gets a caller of its own, whose things the earlier ones have not deleted.
      const me = await party(t, name);
      if (name.startsWith('admin')) await setAdminRole(t.app.deps.orm.em.fork(), me.userId, true);
      const op = mutations(me, other).find((m) => m.name === name)!;
      await fc.assert(
        fc.asyncProperty(who, op.input, async (caller, input) => {
          const token = await tokenFor(me, caller, op.name);
          await checkOne(t, other, op, caller, op.targetsOther?.(input) ?? false, () => op.run(t, token, input));
        }),
        { numRuns: RUNS },
      );
    }
  }, 120_000);

  it('REST: every route with a JSON body (and bodies that are not objects at all)', async () => {
    for (const [i, route] of REST_ROUTES.entries()) {
      const me = await party(t, `rest-${i}`);
      const body = fc.oneof({ weight: 8, arbitrary: route.body(me, other) as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: wrongType });
      await fc.assert(
        fc.asyncProperty(who, body, async (caller, value) => {
          const token = await tokenFor(me, caller, route.path);
          await checkOne(t, other, route, caller, false, async () => {
            const res = await t.rest(route.method, route.pathOf?.(me) ?? route.path, { ...(token ? { token } : {}), body: value });
            return { status: res.status, codes: res.status >= 500 ? ['INTERNAL_SERVER_ERROR'] : [] };
          });
        }),
        { numRuns: RUNS },
      );
    }
  }, 120_000);

  it('covers every mutation of the schema', async () => {
    const schema = await buildAppSchema();
    expect(Object.keys(schema.getMutationType()!.getFields()).sort()).toEqual([...MUTATIONS].sort());
  });
});

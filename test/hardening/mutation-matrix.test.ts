import { rows } from '../helpers/accounts';
import { gqlUpload, pngFile, wavFile } from '../helpers/audio';
import { startAppWithPayments } from '../helpers/payments';
import type { TestApp } from '../helpers/test-app';
import { dbState } from './db-state';

/*
 * Every mutation with a malformed input, an oversized one, no (or a refused) credential and
 * someone else's id, where it takes one: the exact answer, and every table as it was (the
 * fuzz sweep covers the same ground at random; this is the fixed list). logout takes no
 * input; how it answers an API key belongs to test/accounts.
 */

interface User {
  token: string;
  userId: string;
  chatId: string;
  messageId: string;
  apiKeyId: string;
  orderId: string;
}

async function user(t: TestApp, name: string): Promise<User> {
  const login = await t.gql<{ wechatLogin: { token: string; userInfo: { id: string } } }>('mutation($c: String!) { wechatLogin(input: { code: $c }) { token userInfo { id } } }', { c: `${name}-${Math.random()}` });
  const { token, userInfo } = login.body.data!.wechatLogin;
  const sent = await t.gql<{ sendMessage: { sessionId: string; messageId: string } }>('mutation { sendMessage(input: { content: "hello" }) { sessionId messageId } }', {}, { token });
  const key = await t.gql<{ createApiKey: { apiKey: { id: string } } }>('mutation { createApiKey(name: "k") { apiKey { id } } }', {}, { token });
  const orderId = `${name}-order`;
  await t.gql('mutation($o: String!) { createWechatPayOrder(input: { amount: 1, orderId: $o }) { orderId } }', { o: orderId }, { token });
  return { token, userId: userInfo.id, chatId: sent.body.data!.sendMessage.sessionId, messageId: sent.body.data!.sendMessage.messageId, apiKeyId: key.body.data!.createApiKey.apiKey.id, orderId };
}

type Expected = { status: number; code: string; details?: { field?: string; reason?: string } };
type Caller = 'user' | 'anonymous' | 'bad token';
type Case = [mutation: string, what: string, query: string, variables: (me: User, other: User) => Record<string, unknown>, expected: Expected, as?: Caller];

const UNAUTHENTICATED: Expected = { status: 401, code: 'UNAUTHENTICATED' };
const BAD_INPUT: Expected = { status: 400, code: 'BAD_USER_INPUT' };
const NOT_FOUND: Expected = { status: 404, code: 'NOT_FOUND' };
const bad = (field: string, reason: string): Expected => ({ status: 400, code: 'BAD_REQUEST', details: { field, reason } });
const LONG_ID = 'x'.repeat(1000);

const API_KEY = 'mutation($name: String!) { createApiKey(name: $name) { secret } }';
const REVOKE = 'mutation($id: ID!) { revokeApiKey(id: $id) }';
const LOGIN = 'mutation($input: WechatLoginInput!) { wechatLogin(input: $input) { token } }';
const SAVE = 'mutation($input: SaveChatInput!) { saveChat(input: $input) { id } }';
const DELETE = 'mutation($ids: [ID!]!) { deleteChats(ids: $ids) }';
const STAR = 'mutation($id: ID!, $starred: Boolean!) { starChat(id: $id, starred: $starred) { id } }';
const WECHAT_ORDER = 'mutation($input: CreateOrderInput!) { createWechatPayOrder(input: $input) { orderId } }';
const ALIPAY_ORDER = 'mutation($input: CreateOrderInput!) { createAlipayOrder(input: $input) { orderId } }';
const SEND = 'mutation($input: SendMessageInput!) { sendMessage(input: $input) { messageId } }';
const STOP = 'mutation($messageId: ID!) { stopGeneration(messageId: $messageId) { id } }';
const SETTINGS = 'mutation($input: UpdateSettingsInput!) { updateSettings(input: $input) { isDarkMode } }';

const CASES: Case[] = [
  ['createApiKey', 'no credential', API_KEY, () => ({ name: 'k' }), UNAUTHENTICATED, 'anonymous'],
  ['createApiKey', 'malformed (a number)', API_KEY, () => ({ name: 5 }), BAD_INPUT],
  ['createApiKey', 'oversized (65 characters)', API_KEY, () => ({ name: 'x'.repeat(65) }), bad('name', 'LENGTH')],
  ['revokeApiKey', 'a refused token', REVOKE, (me) => ({ id: me.apiKeyId }), UNAUTHENTICATED, 'bad token'],
  ['revokeApiKey', 'malformed (an object)', REVOKE, () => ({ id: {} }), BAD_INPUT],
  ['revokeApiKey', 'oversized', REVOKE, () => ({ id: LONG_ID }), NOT_FOUND],
  ['revokeApiKey', "someone else's", REVOKE, (_me, other) => ({ id: other.apiKeyId }), NOT_FOUND],
  ['wechatLogin', 'malformed (a numeric code)', LOGIN, () => ({ input: { code: 5 } }), BAD_INPUT],
  ['wechatLogin', 'oversized code', LOGIN, () => ({ input: { code: 'x'.repeat(129) } }), bad('code', 'LENGTH')],
  ['wechatLogin', 'oversized nickname', LOGIN, () => ({ input: { code: 'c-nick', userInfo: { nickName: 'x'.repeat(65) } } }), bad('userInfo.nickName', 'LENGTH')],
  ['logout', 'no credential', 'mutation { logout }', () => ({}), UNAUTHENTICATED, 'anonymous'],
  ['saveChat', 'no credential', SAVE, () => ({ input: { messages: [] } }), UNAUTHENTICATED, 'anonymous'],
  ['saveChat', 'malformed (an unknown role)', SAVE, () => ({ input: { messages: [{ role: 'ROBOT', content: 'x' }] } }), BAD_INPUT],
  ['saveChat', 'oversized title', SAVE, () => ({ input: { title: 'x'.repeat(201), messages: [] } }), bad('title', 'TOO_LONG')],
  ['saveChat', 'oversized (501 messages)', SAVE, () => ({ input: { messages: Array.from({ length: 501 }, () => ({ role: 'USER', content: 'x' })) } }), bad('messages', 'TOO_MANY')],
  ['saveChat', "someone else's chat", SAVE, (_me, other) => ({ input: { id: other.chatId, title: 'mine now', messages: [] } }), NOT_FOUND],
  ['deleteChats', 'no credential', DELETE, (me) => ({ ids: [me.chatId] }), UNAUTHENTICATED, 'anonymous'],
  ['deleteChats', 'malformed (a list of objects)', DELETE, () => ({ ids: [{}] }), BAD_INPUT],
  ['deleteChats', 'oversized (101 ids)', DELETE, (me) => ({ ids: Array.from({ length: 101 }, () => me.chatId) }), bad('ids', 'TOO_MANY')],
  ['starChat', 'no credential', STAR, (me) => ({ id: me.chatId, starred: true }), UNAUTHENTICATED, 'anonymous'],
  ['starChat', 'malformed (starred as text)', STAR, (me) => ({ id: me.chatId, starred: 'yes' }), BAD_INPUT],
  ['starChat', 'oversized id', STAR, () => ({ id: LONG_ID, starred: true }), NOT_FOUND],
  ['starChat', "someone else's chat", STAR, (_me, other) => ({ id: other.chatId, starred: true }), NOT_FOUND],
  ['createWechatPayOrder', 'no credential', WECHAT_ORDER, () => ({ input: { amount: 1, orderId: 'o-anon' } }), UNAUTHENTICATED, 'anonymous'],
  ['createWechatPayOrder', 'malformed (amount as text)', WECHAT_ORDER, () => ({ input: { amount: '9.9', orderId: 'o-text' } }), BAD_INPUT],
  ['createWechatPayOrder', 'oversized amount', WECHAT_ORDER, () => ({ input: { amount: 50_000.01, orderId: 'o-big' } }), bad('amount', 'INVALID_AMOUNT')],
  ['createWechatPayOrder', 'oversized orderId', WECHAT_ORDER, () => ({ input: { amount: 1, orderId: 'x'.repeat(65) } }), bad('orderId', 'INVALID_ORDER_ID')],
  ['createAlipayOrder', 'no credential', ALIPAY_ORDER, () => ({ input: { amount: 1, orderId: 'o-anon' } }), UNAUTHENTICATED, 'anonymous'],
  ['createAlipayOrder', 'malformed (no orderId)', ALIPAY_ORDER, () => ({ input: { amount: 1 } }), BAD_INPUT],
  ['createAlipayOrder', 'oversized amount', ALIPAY_ORDER, () => ({ input: { amount: 1e308, orderId: 'o-big' } }), bad('amount', 'INVALID_AMOUNT')],
  ['sendMessage', 'no credential', SEND, () => ({ input: { content: 'hi' } }), UNAUTHENTICATED, 'anonymous'],
  ['sendMessage', 'malformed (stream as text)', SEND, () => ({ input: { content: 'hi', stream: 'yes' } }), BAD_INPUT],
  ['sendMessage', 'oversized content', SEND, () => ({ input: { content: 'x'.repeat(32_001) } }), bad('content', 'TOO_LONG')],
  ['sendMessage', 'oversized clientMessageId', SEND, () => ({ input: { content: 'hi', clientMessageId: 'x'.repeat(65) } }), bad('clientMessageId', 'LENGTH')],
  ['sendMessage', "someone else's chat", SEND, (_me, other) => ({ input: { content: 'hi', sessionId: other.chatId } }), NOT_FOUND],
  ['stopGeneration', 'no credential', STOP, (me) => ({ messageId: me.messageId }), UNAUTHENTICATED, 'anonymous'],
  ['stopGeneration', 'malformed (a list)', STOP, () => ({ messageId: [[1]] }), BAD_INPUT],
  ['stopGeneration', 'oversized id', STOP, () => ({ messageId: LONG_ID }), NOT_FOUND],
  ['stopGeneration', "someone else's reply", STOP, (_me, other) => ({ messageId: other.messageId }), NOT_FOUND],
  ['updateSettings', 'no credential', SETTINGS, () => ({ input: { isDarkMode: true } }), UNAUTHENTICATED, 'anonymous'],
  ['updateSettings', 'malformed (a boolean as text)', SETTINGS, () => ({ input: { isDarkMode: 'true' } }), BAD_INPUT],
  ['updateSettings', 'malformed (an unknown field)', SETTINGS, () => ({ input: { isDarkMode: true, fontSize: 99 } }), BAD_INPUT],
];

describe('every mutation: malformed, oversized, unauthenticated, someone else’s', () => {
  let t: TestApp;
  let close: () => Promise<void>;
  let me: User;
  let other: User;
  beforeAll(async () => {
    ({ t, close } = await startAppWithPayments());
    me = await user(t, 'me');
    other = await user(t, 'other');
  });
  afterAll(() => close());

  const credentials = (as: Caller) => {
    if (as === 'anonymous') return {};
    if (as === 'bad token') return { token: `${me.token.slice(0, -4)}AAAA` };
    return { token: me.token };
  };

  // Every row the same length: jest takes a test function with more parameters than columns for a `done` callback.
  const rowsOf = CASES.map(([mutation, what, query, variables, expected, as = 'user']) => [mutation, what, query, variables, expected, as] as const);
  it.each(rowsOf)('%s, %s', async (_mutation, _what, query, variables, expected, as) => {
    const before = await dbState(t);
    const res = await t.gql(query, variables(me, other), credentials(as));
    expect({ status: res.status, data: res.body.data ?? null, ...res.body.errors?.[0].extensions }).toEqual({ ...expected, data: null });
    expect(await dbState(t)).toBe(before);
  });

  it('wechatLogin is public: a refused token does not stop it', async () => {
    const res = await t.gql(LOGIN, { input: { code: 'c-public' } }, { token: 'not-a-token' });
    expect(res.status).toBe(200);
  });

  it("deleteChats ignores someone else's chat: 0 deleted, and it is still there", async () => {
    const res = await t.gql(DELETE, { ids: [other.chatId] }, { token: me.token });
    expect(res.body).toEqual({ data: { deleteChats: 0 } });
    expect(await rows(t, 'select id from chats where id = ?', [other.chatId])).toEqual([{ id: other.chatId }]);
  });

  it("an orderId someone else used is a new order of the caller's, and theirs stays as it was", async () => {
    const theirs = await rows(t, 'select * from payment_orders where user_id = ?', [other.userId]);
    const res = await t.gql<{ createWechatPayOrder: { orderId: string; amount: number } }>('mutation($input: CreateOrderInput!) { createWechatPayOrder(input: $input) { orderId amount } }', { input: { amount: 2, orderId: other.orderId } }, { token: me.token });
    expect(res.body.data?.createWechatPayOrder).toEqual({ orderId: other.orderId, amount: 2 });
    expect(await rows(t, 'select user_id from payment_orders where client_order_id = ? order by user_id', [other.orderId])).toHaveLength(2);
    expect(await rows(t, 'select * from payment_orders where user_id = ?', [other.userId])).toEqual(theirs);
  });

  // A file over MAX_UPLOAD_MB (413, FILE_TOO_LARGE) needs a streamed upload: test/speech/speech.test.ts.
  it.each([
    ['no credential', undefined, wavFile(0.2), undefined, UNAUTHENTICATED],
    ['malformed (a PNG)', 'me', pngFile(), undefined, bad('audio', 'UNSUPPORTED_AUDIO_FORMAT')],
    ['an oversized language', 'me', wavFile(0.2), 'x'.repeat(100), bad('language', 'INVALID_LANGUAGE')],
  ])('speechToText, %s', async (_what, who, file, language, expected) => {
    const before = await dbState(t);
    const res = await gqlUpload(t, file, { token: who ? me.token : undefined, language });
    expect({ status: res.status, ...res.body.errors?.[0].extensions }).toEqual(expected);
    expect(await dbState(t)).toBe(before);
  });
});

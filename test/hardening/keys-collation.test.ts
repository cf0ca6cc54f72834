import { EXACT_KEY_COLUMNS } from '../../src/db/entities/exact-keys';
import { rows } from '../helpers/accounts';
import { onMysql } from '../helpers/database';
import { startAppWithPayments } from '../helpers/payments';
import type { TestApp } from '../helpers/test-app';
import { startFakeWechat } from '../fakes/wechat';

/*
 * Identifiers compare exactly, on every database. MariaDB's default collation ignored case
 * and trailing spaces: a different message sent with clientMessageId "key-abc" after
 * "Key-ABC" was dropped as a retry, and orderId "order-x1" returned order "Order-X1".
 */

const LOGIN = 'mutation($i: WechatLoginInput!) { wechatLogin(input: $i) { token userInfo { id } } }';
const SEND = 'mutation($i: SendMessageInput!) { sendMessage(input: $i) { messageId reply { content } } }';
const ORDER = 'mutation($i: CreateOrderInput!) { createWechatPayOrder(input: $i) { orderId amount } }';

describe('identifiers compare exactly', () => {
  let t: TestApp;
  let wechat: Awaited<ReturnType<typeof startFakeWechat>>;
  let close: () => Promise<void>;
  let token: string;

  const loginAs = async (openid: string, unionid?: string) => {
    const res = await t.gql<{ wechatLogin: { token: string; userInfo: { id: string } } }>(LOGIN, { i: { code: wechat.code(openid, unionid) } });
    return res.body.data!.wechatLogin;
  };

  beforeAll(async () => {
    wechat = await startFakeWechat();
    const started = await startAppWithPayments(wechat.env());
    t = started.t;
    close = started.close;
    ({ token } = await loginAs('o-owner'));
  });
  afterAll(async () => {
    await close();
    await wechat.close();
  });

  it('clientMessageId: keys differing in case or trailing spaces are different messages; the same key is a retry', async () => {
    const send = (content: string, clientMessageId: string) => t.gql<{ sendMessage: { messageId: string; reply: { content: string } } }>(SEND, { i: { content, clientMessageId } }, { token });
    const first = (await send('first message', 'Key-ABC')).body.data!.sendMessage;
    const lower = (await send('second message', 'key-abc')).body.data!.sendMessage;
    const spaced = (await send('third message', 'Key-ABC ')).body.data!.sendMessage;
    const retry = (await send('first message', 'Key-ABC')).body.data!.sendMessage;

    expect(new Set([first.messageId, lower.messageId, spaced.messageId]).size).toBe(3);
    expect([lower.reply.content, spaced.reply.content]).toEqual(['second message', 'third message']);
    expect(retry.messageId).toBe(first.messageId);
    const keys = await rows(t, 'select client_message_id as k from messages where client_message_id is not null order by k');
    expect(keys.map((r) => r.k)).toEqual(['Key-ABC', 'Key-ABC ', 'key-abc']);
  });

  it('orderId: "order-x1" is not order "Order-X1"', async () => {
    const upper = await t.gql<{ createWechatPayOrder: { orderId: string; amount: number } }>(ORDER, { i: { orderId: 'Order-X1', amount: 1 } }, { token });
    const lower = await t.gql<{ createWechatPayOrder: { orderId: string; amount: number } }>(ORDER, { i: { orderId: 'order-x1', amount: 2 } }, { token });
    expect(upper.body.data?.createWechatPayOrder).toEqual({ orderId: 'Order-X1', amount: 1 });
    expect(lower.body.data?.createWechatPayOrder).toEqual({ orderId: 'order-x1', amount: 2 });
    const status = await t.gql<{ paymentStatus: { orderId: string } }>('{ paymentStatus(orderId: "order-x1", paymentMethod: WECHAT) { orderId } }', {}, { token });
    expect(status.body.data?.paymentStatus.orderId).toBe('order-x1');
    expect(await rows(t, "select count(*) as n from payment_orders where client_order_id in ('Order-X1', 'order-x1')")).toEqual([{ n: 2 }]);
  });

  it('tags: "AI" and "ai" are two tags (a duplicate primary key on MariaDB before), and the filter tells them apart', async () => {
    const save = (tags: string[]) => t.gql<{ saveChat: { id: string; tags: string[] } }>('mutation($i: SaveChatInput!) { saveChat(input: $i) { id tags } }', { i: { messages: [], tags } }, { token });
    const both = await save(['AI', 'ai']);
    expect(both.status).toBe(200);
    expect(both.body.data?.saveChat.tags).toEqual(['AI', 'ai']);
    const onlyLower = (await save(['ai'])).body.data!.saveChat.id;
    const filtered = await t.gql<{ chats: { nodes: Array<{ id: string }> } }>('{ chats(filter: { tag: "AI" }) { nodes { id } } }', {}, { token });
    expect(filtered.body.data?.chats.nodes.map((c) => c.id)).toEqual([both.body.data!.saveChat.id]);
    expect(filtered.body.data?.chats.nodes.map((c) => c.id)).not.toContain(onlyLower);
  });

  it('WeChat openids and unionids differing in case are different people', async () => {
    const a = await loginAs('oAbCdEf123');
    const b = await loginAs('oabcdef123');
    expect(a.userInfo.id).not.toBe(b.userInfo.id);
    const c = await loginAs('o-c', 'UnionX');
    const d = await loginAs('o-d', 'unionx');
    expect(c.userInfo.id).not.toBe(d.userInfo.id);
    expect((await loginAs('oAbCdEf123')).userInfo.id).toBe(a.userInfo.id);
  });

  it(`declares every exact key column to the database (${onMysql() ? 'binary NO PAD collation' : 'SQLite: no collation, so BINARY'})`, async () => {
    for (const { table, column } of EXACT_KEY_COLUMNS) {
      if (onMysql()) {
        const [row] = await rows(t, 'select collation_name as c from information_schema.columns where table_schema = database() and table_name = ? and column_name = ?', [table, column]);
        expect([table, column, row?.c]).toEqual([table, column, expect.stringMatching(/^utf8mb4_(nopad_bin|0900_bin)$/)]);
      } else {
        const [row] = await rows(t, "select sql from sqlite_master where type = 'table' and name = ?", [table]);
        const definition = new RegExp(`\`${column}\`[^,]*`).exec(String(row.sql))?.[0];
        expect([table, definition]).toEqual([table, expect.not.stringMatching(/collate/i)]);
      }
    }
  });
});

import { login, rows } from '../helpers/accounts';
import { saveChat, userSays } from '../helpers/chats';
import { onMysql } from '../helpers/database';
import { startTestApp, type GqlResult, type TestApp } from '../helpers/test-app';
import { waitFor } from '../helpers/wait';

/*
 * On MySQL a send reads its chat without a lock, then locks the row. A deleteChats that
 * commits in between used to make the send's insert break the messages' foreign key: a 500.
 * It is NOT_FOUND, as for any chat that is not there. SQLite runs one write transaction at a
 * time, so the window does not exist there.
 */
(onMysql() ? describe : describe.skip)('sendMessage racing deleteChats (MySQL)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  /**
   * The send's update of the chat row, running: it cannot finish while the delete holds the
   * row, so running means waiting for that lock. (The processlist, not innodb_trx: MariaDB
   * refreshes that table only when it has not been read for 100 ms, so polling it starves it.)
   */
  const sendWaiting = async () => {
    const found = await rows(t, "select id from information_schema.processlist where db = database() and info like 'update `chats` set `updated_at`%'");
    return found.length > 0;
  };

  it('answers NOT_FOUND and stores nothing when the chat is deleted between the read and the lock', async () => {
    const { token } = await login(t);
    const chat = await saveChat(t, token, { messages: [userSays('before')] });
    let sending: Promise<GqlResult> | undefined;

    // The delete takes the chat's row lock and holds it, uncommitted, until the send has read
    // the chat and is waiting for that lock; then it commits, as deleteChats would.
    const em = t.app.deps.orm.em.fork();
    await em.transactional(async (tx) => {
      await tx.getConnection().execute('delete from chats where id = ?', [chat.id], 'run', tx.getTransactionContext());
      sending = t.gql('mutation($i: SendMessageInput!) { sendMessage(input: $i) { messageId } }', { i: { content: 'after', sessionId: chat.id } }, { token });
      await waitFor(sendWaiting, 10_000, 'the send waiting for the chat row lock');
    });

    const res = await sending!;
    expect(res.status).toBe(404);
    expect(res.body.errors?.[0].extensions).toEqual({ code: 'NOT_FOUND', status: 404 });
    expect(await rows(t, 'select id from messages where chat_id = ?', [chat.id])).toEqual([]);
    expect(await rows(t, 'select id from chats where id = ?', [chat.id])).toEqual([]);

    // Its reply slot was given back: the user can send again at once.
    const next = await t.gql<{ sendMessage: { messageId: string } }>('mutation { sendMessage(input: { content: "again" }) { messageId } }', {}, { token });
    expect(next.body.data?.sendMessage.messageId).toEqual(expect.any(String));
  });
});

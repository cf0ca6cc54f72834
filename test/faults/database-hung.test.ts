import type { EntityManager } from '@mikro-orm/core';
import { openOrm, type Orm } from '../../src/db/orm';
import { login } from '../helpers/accounts';
import { saveChat } from '../helpers/chats';
import { onMysql } from '../helpers/database';
import { startTestApp, type GqlResult, type TestApp } from '../helpers/test-app';
import { waitFor } from '../helpers/wait';
import { ChatSummaryDocument, MeDocument, ModelIdsDocument, SettingsDocument, UpdateSettingsDocument } from '../generated/graphql';

/*
 * A database that hangs rather than fails: a table locked by another session, a row held by
 * another transaction, every pooled connection busy. Before statements had deadlines, each
 * request touching the locked table waited as long as the lock was held, and /readyz said 200.
 * The other session is a second connection of our own (another ORM on the same database).
 */

const DATABASE_UNAVAILABLE = { code: 'UPSTREAM_ERROR', details: { reason: 'DATABASE_UNAVAILABLE' } };
const errorOf = (res: GqlResult<unknown>) => res.body.errors?.[0]?.extensions;

let t: TestApp;
let locker: Orm;
let session: EntityManager;

const readiness = async () => {
  const res = await fetch(`${t.url}/readyz`);
  return { status: res.status, body: (await res.json()) as { status: string; failing?: string[] } };
};

/** A statement in the other session's transaction. */
const inSession = (sql: string, params: unknown[] = []) => session.getConnection().execute(sql, params, 'all', session.getTransactionContext());

/** The other session's transaction: it holds its locks until `release`. */
async function holdLocks(...statements: Array<[sql: string, params?: unknown[]]>): Promise<void> {
  session = locker.em.fork();
  await session.begin();
  for (const [sql, params] of statements) await inSession(sql, params);
}
const release = () => session.rollback();

async function start(timings: (d: TestApp['config']['timings']['dependencies']) => void): Promise<void> {
  t = await startTestApp({ timings: (all) => timings(all.dependencies) });
  locker = await openOrm(t.config.database, { migrate: false });
}
afterEach(async () => {
  await locker?.close(true);
  await t?.close();
});

(onMysql() ? describe : describe.skip)('MySQL/MariaDB: a locked table, a held row, a full pool', () => {
  beforeEach(() =>
    start((d) => {
      d.databaseStatementTimeoutMs = 500;
      d.databaseAcquireTimeoutMs = 300;
      d.readinessTimeoutMs = 300;
    }),
  );

  it('fails what reads the locked table with DATABASE_UNAVAILABLE, serves the rest, turns /readyz 503, and recovers', async () => {
    const user = await login(t);
    const chat = await saveChat(t, user.token, { title: 'locked away' });

    await holdLocks(['lock tables chats write']);
    try {
      const refused = await t.gql(ChatSummaryDocument, { id: chat.id }, user);
      expect(errorOf(refused)).toMatchObject(DATABASE_UNAVAILABLE);
      expect(refused.body.errors![0].message).toMatch(/database did not answer in time/);
      // Other tables, and what needs no database, still answer.
      expect((await t.gql(MeDocument, {}, user)).body.data!.me.id).toBe(user.userId);
      expect((await t.gql(ModelIdsDocument)).body.data!.models).toEqual([{ id: 'echo' }]);
      await waitFor(async () => (await readiness()).status === 503, 5000, '/readyz turning 503', 50);
      expect((await readiness()).body).toEqual({ status: 'unavailable', failing: ['database'] });
    } finally {
      await inSession('unlock tables');
      await release();
    }

    await waitFor(async () => (await readiness()).status === 200, 5000, '/readyz turning 200 again', 50);
    expect((await t.gql(ChatSummaryDocument, { id: chat.id }, user)).body.data!.chat.title).toBe('locked away');
  });

  it('ends a wait for a row lock: the write fails, other rows are written, and it succeeds once released', async () => {
    const [held, free] = [await login(t), await login(t)];
    await holdLocks(['select id from users where id = ? for update', [held.userId]]);
    try {
      expect(errorOf(await t.gql(UpdateSettingsDocument, { input: { isDarkMode: true } }, held))).toMatchObject(DATABASE_UNAVAILABLE);
      expect((await t.gql(UpdateSettingsDocument, { input: { isDarkMode: true } }, free)).body.data!.updateSettings.isDarkMode).toBe(true);
    } finally {
      await release();
    }
    expect((await t.gql(UpdateSettingsDocument, { input: { isDarkMode: true } }, held)).body.data!.updateSettings.isDarkMode).toBe(true);
    expect((await t.gql(SettingsDocument, {}, held)).body.data!.me.settings.isDarkMode).toBe(true);
  });

  it('gives up waiting for a connection when all are held: every request fails clearly, none hangs', async () => {
    const user = await login(t);
    const chat = await saveChat(t, user.token, { title: 'locked away' });
    await holdLocks(['lock tables chats write']);
    try {
      // Far more requests than pooled connections: most wait for one, past the acquire deadline.
      const answers = await Promise.all(Array.from({ length: 30 }, () => t.gql(ChatSummaryDocument, { id: chat.id }, user)));
      expect(answers.map(errorOf)).toEqual(Array(30).fill(expect.objectContaining(DATABASE_UNAVAILABLE)));
    } finally {
      await inSession('unlock tables');
      await release();
    }
    expect((await t.gql(ChatSummaryDocument, { id: chat.id }, user)).body.data!.chat.title).toBe('locked away');
  });
});

(onMysql() ? describe.skip : describe)('SQLite: another process holding the write lock', () => {
  beforeEach(() =>
    start((d) => {
      d.sqliteBusyTimeoutMs = 200;
    }),
  );

  it('fails a write with DATABASE_UNAVAILABLE after the busy timeout, keeps reads, and recovers', async () => {
    const user = await login(t);
    const chat = await saveChat(t, user.token, { title: 'kept readable' });
    // A write inside an open transaction takes SQLite's single write lock until it ends.
    await holdLocks(['update users set balance = balance where id = ?', [user.userId]]);
    try {
      expect(errorOf(await t.gql(UpdateSettingsDocument, { input: { isDarkMode: true } }, user))).toMatchObject(DATABASE_UNAVAILABLE);
      // WAL: readers are not blocked by the writer.
      expect((await t.gql(MeDocument, {}, user)).body.data!.me.id).toBe(user.userId);
      expect((await t.gql(ChatSummaryDocument, { id: chat.id }, user)).body.data!.chat.title).toBe('kept readable');
    } finally {
      await release();
    }
    expect((await t.gql(UpdateSettingsDocument, { input: { isDarkMode: true } }, user)).body.data!.updateSettings.isDarkMode).toBe(true);
    expect((await t.gql(SettingsDocument, {}, user)).body.data!.me.settings.isDarkMode).toBe(true);
  });
});

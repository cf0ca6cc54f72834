import { GraphQLError } from 'graphql';
import { parseConfig } from '../../src/config';
import { SearchChatIdsDocument } from '../generated/graphql';
import { login, rows } from '../helpers/accounts';
import { saveChat, userSays } from '../helpers/chats';
import { onMysql } from '../helpers/database';
import { captureLogs } from '../helpers/log-capture';
import { startTestApp, type TestApp } from '../helpers/test-app';

/*
 * A statement that fails with what a user wrote in it (chat content, a search term) is logged
 * without that text: no statement with its values, no parameters, no value quoted by the
 * driver's message; but with enough to find the problem (the driver's code, errno and
 * SQLSTATE, the statement's kind and tables, a hash of its shape). The failures are real ones
 * of the database in use (SQLite, or MySQL/MariaDB with TEST_DATABASE_URL).
 */

interface LoggedDbError {
  msg: string;
  err: {
    type: string;
    message: string;
    stack: string;
    db: { code?: string; errno?: number; sqlState?: string; kind?: string; tables?: string[]; statementHash?: string };
  };
}

const SECRET = 'my diary: the password is tangerine-42';
const TERM = 'tangerine';

describe('database errors in the logs', () => {
  const logs = captureLogs(parseConfig({ JWT_SECRET: 'x'.repeat(40) }), 'info');
  let t: TestApp;
  let token: string;
  beforeAll(async () => {
    t = await startTestApp({ overrides: { logger: logs.logger } });
    ({ token } = await login(t));
  });
  afterAll(() => t.close());

  const unexpected = () =>
    logs.lines
      .map((l) => JSON.parse(l) as LoggedDbError)
      .filter((l) => l.msg === 'unexpected error')
      .at(-1)!;

  it('carry neither the values nor the statement of a failed insert (a unique constraint), but its code and where it failed', async () => {
    // A unique index on message content: the second chat saying the same thing fails to insert,
    // and MySQL's message quotes the duplicate value.
    await rows(t, onMysql() ? 'create unique index hardening_unique_content on messages (content(191))' : 'create unique index hardening_unique_content on messages (content)');
    try {
      await saveChat(t, token, { title: 'first', messages: [userSays(SECRET)] });
      const res = await t.gql('mutation($input: SaveChatInput!) { saveChat(input: $input) { id } }', { input: { title: 'second', messages: [{ role: 'USER', content: SECRET }] } }, { token });
      expect(res.body.errors?.[0].extensions.code).toBe('INTERNAL_SERVER_ERROR');
    } finally {
      await rows(t, onMysql() ? 'drop index hardening_unique_content on messages' : 'drop index hardening_unique_content');
    }

    const line = logs.lines.find((l) => l.includes('"unexpected error"'))!;
    expect(line).not.toContain(TERM);
    expect(line).not.toMatch(/insert into/i);
    const logged = unexpected();
    expect(logged.err.type).toBe('UniqueConstraintViolationException');
    expect(logged.err.db).toEqual(
      onMysql()
        ? { code: 'ER_DUP_ENTRY', errno: 1062, sqlState: '23000', kind: 'insert', tables: ['messages'], statementHash: expect.stringMatching(/^[0-9a-f]{12}$/) }
        : { code: 'SQLITE_CONSTRAINT_UNIQUE', kind: 'insert', tables: ['messages'], statementHash: expect.stringMatching(/^[0-9a-f]{12}$/) },
    );
    // The driver's own words stay, with the value taken out.
    expect(logged.err.message).toBe(onMysql() ? "Duplicate entry '?' for key 'hardening_unique_content'" : 'UNIQUE constraint failed: messages.content');
    expect(logged.err.stack.split('\n')[0]).toBe(`UniqueConstraintViolationException: ${logged.err.message}`);
    expect(logged.err.stack).toMatch(/\n\s+at /);
  });

  it('carry neither the search term nor the statement of a failed search', async () => {
    await saveChat(t, token, { title: 'notes', messages: [userSays('nothing to see')] });
    // Searching reads the tags too: without their table the statement fails.
    await rows(t, 'alter table chat_tags rename to hardening_chat_tags');
    let res;
    try {
      res = await t.gql(SearchChatIdsDocument, { q: TERM }, { token });
    } finally {
      await rows(t, 'alter table hardening_chat_tags rename to chat_tags');
    }
    expect(res.body.errors?.[0].extensions.code).toBe('INTERNAL_SERVER_ERROR');

    const lines = logs.lines.filter((l) => l.includes('"unexpected error"'));
    expect(lines.at(-1)).not.toContain(TERM);
    expect(lines.at(-1)).not.toMatch(/match_rank| like /i);
    const logged = unexpected();
    // Raw SQL (the search is one statement) fails with the driver's own error, not MikroORM's.
    expect(logged.err.type).toBe(onMysql() ? 'Error' : 'SqliteError');
    expect(logged.err.db).toEqual(
      onMysql()
        ? { code: 'ER_NO_SUCH_TABLE', errno: 1146, sqlState: '42S02', kind: 'select', tables: expect.arrayContaining(['chats']), statementHash: expect.stringMatching(/^[0-9a-f]{12}$/) }
        : { code: 'SQLITE_ERROR', kind: 'select', tables: expect.arrayContaining(['chats']), statementHash: expect.stringMatching(/^[0-9a-f]{12}$/) },
    );
    expect(logged.err.message).toMatch(/chat_tags/);

    // The same search for another term is the same statement: the same hash, so failures group.
    await rows(t, 'alter table chat_tags rename to hardening_chat_tags');
    try {
      await t.gql(SearchChatIdsDocument, { q: 'something else entirely' }, { token });
    } finally {
      await rows(t, 'alter table hardening_chat_tags rename to chat_tags');
    }
    expect(unexpected().err.db.statementHash).toBe(logged.err.db.statementHash);
  });

  it('find a database error inside what wraps it (a cause, a GraphQL error)', async () => {
    const failed = await rows(t, `select id from chats where title = '${TERM}' and no_such_column = 1`).then(
      () => undefined,
      (err: Error) => err,
    );
    expect(failed?.message).toMatch(/no_such_column/);
    const wrappers = [new Error('saving failed', { cause: failed }), new GraphQLError(failed!.message, { originalError: failed })];
    for (const err of wrappers) logs.logger.error({ err }, 'wrapped');
    const lines = logs.lines.filter((l) => l.includes('"wrapped"'));
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      expect(line).not.toContain(TERM);
      const { err } = JSON.parse(line) as LoggedDbError & { err: { wrappedIn: string } };
      expect(err.db).toMatchObject(onMysql() ? { code: 'ER_BAD_FIELD_ERROR', errno: 1054, kind: 'select', tables: ['chats'] } : { code: 'SQLITE_ERROR', kind: 'select', tables: ['chats'] });
      expect(err.message).toMatch(/no_such_column/);
    }
    expect(lines.map((l) => (JSON.parse(l) as { err: { wrappedIn: string } }).err.wrappedIn)).toEqual(['Error', 'GraphQLError']);
  });
});

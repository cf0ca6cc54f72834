import { LoginDocument } from '../generated/graphql';
import { onMysql } from './database';
import type { TestApp } from './test-app';

let n = 0;

/** Logs in through the real mutation (in local mode every code logs in) and returns the token and user id. */
export async function login(t: TestApp, code = `user-${process.pid}-${++n}-${Math.random()}`): Promise<{ token: string; userId: string }> {
  const res = await t.gql(LoginDocument, { input: { code } });
  if (!res.body.data) throw new Error(`login failed: ${JSON.stringify(res.body.errors)}`);
  return { token: res.body.data.wechatLogin.token, userId: res.body.data.wechatLogin.userInfo.id };
}

/** Rows of a table, straight from the database. */
export function rows(t: TestApp, sql: string, params: unknown[] = []): Promise<Array<Record<string, unknown>>> {
  return t.app.deps.orm.em.fork().getConnection().execute(sql, params);
}

/** Every table's rows as JSON text, by table name (SQLite or MySQL): what a privacy check reads. */
export async function everyTable(t: TestApp): Promise<Record<string, string>> {
  const tables = onMysql()
    ? (await rows(t, 'select table_name as name from information_schema.tables where table_schema = database()')).map((r) => String(r.name))
    : (await rows(t, "select name from sqlite_master where type = 'table' and name not like 'sqlite_%'")).map((r) => String(r.name));
  const dump: Record<string, string> = {};
  for (const table of tables) dump[table] = JSON.stringify(await rows(t, `select * from ${table}`));
  return dump;
}

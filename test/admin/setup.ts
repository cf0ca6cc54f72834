import { setAdminRole } from '../../src/admin/admin-role';
import { CreateApiKeyDocument } from '../generated/graphql';
import { login, rows } from '../helpers/accounts';
import { dataOf } from '../helpers/replies';
import type { GqlResult, TestApp } from '../helpers/test-app';

/** A new user made an admin the only way there is (the command's function), with a login token. */
export async function adminLogin(t: TestApp): Promise<{ token: string; userId: string }> {
  const who = await login(t);
  await setAdminRole(t.app.deps.orm.em.fork(), who.userId, true);
  return who;
}

export async function apiKeyOf(t: TestApp, token: string): Promise<string> {
  return dataOf(await t.gql(CreateApiKeyDocument, { name: 'k' }, { token })).createApiKey.secret;
}

/** The first error's code, reason and field (or 'OK'), with the HTTP status. */
export function outcome(res: GqlResult<unknown>): { status: number; code: string; reason?: string; field?: string } {
  const e = res.body.errors?.[0];
  if (!e) return { status: res.status, code: 'OK' };
  const d = e.extensions.details;
  return { status: res.status, code: e.extensions.code, ...(d?.reason ? { reason: d.reason } : {}), ...(d?.field ? { field: d.field } : {}) };
}

const TABLES = ['users', 'ledger_entries', 'admin_audit', 'redeem_codes', 'payment_orders', 'messages'];

/** Every row of the tables an admin operation can write, as one string: a refusal leaves it as it was. */
export async function adminState(t: TestApp): Promise<string> {
  const all = await Promise.all(TABLES.map((table) => rows(t, `select * from ${table} order by id`)));
  return JSON.stringify(all);
}

export const count = async (t: TestApp, sql: string, params: unknown[] = []): Promise<number> => Number((await rows(t, sql, params))[0].n);

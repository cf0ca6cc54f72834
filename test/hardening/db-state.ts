import { rows } from '../helpers/accounts';
import type { TestApp } from '../helpers/test-app';

/** Every table a request can write to. */
const TABLES = ['users', 'api_keys', 'revoked_tokens', 'chats', 'chat_tags', 'chat_activity', 'messages', 'payment_orders', 'ledger_entries', 'admin_audit', 'redeem_codes'] as const;

/** Row counts of every table, in one query. */
export async function tableCounts(t: TestApp): Promise<Record<string, number>> {
  const [row] = await rows(t, `select ${TABLES.map((name) => `(select count(*) from ${name}) as ${name}`).join(', ')}`);
  return Object.fromEntries(TABLES.map((name) => [name, Number(row[name])]));
}

/*
 * What a refused request must leave as it was: the rows of every table with the columns a
 * request can change. Columns that replies already running change by themselves in the
 * background (a message's content and status, a chat's preview) are left out, so a reply
 * finishing between two snapshots is not mistaken for a write by the refused request.
 */
const STATE_QUERIES = [
  'select id, nick_name, avatar, balance, role, suspended_until, settings_is_dark_mode, settings_auto_read, settings_save_history from users order by id',
  'select id, name, revoked_at from api_keys order by id',
  'select jti from revoked_tokens order by jti',
  'select id, title, category, is_starred, message_count, updated_at from chats order by id',
  'select chat_id, tag, position from chat_tags order by chat_id, position',
  'select id from chat_activity order by id',
  'select id, chat_id, position, role, client_message_id from messages order by id',
  'select id, client_order_id, method, amount, status from payment_orders order by id',
  'select id from ledger_entries order by id',
  'select id from admin_audit order by id',
  'select id, used_by from redeem_codes order by id',
];

/** The rows of every table (see above), as one comparable string. */
export async function dbState(t: TestApp): Promise<string> {
  const all = await Promise.all(STATE_QUERIES.map((sql) => rows(t, sql)));
  return JSON.stringify(all);
}

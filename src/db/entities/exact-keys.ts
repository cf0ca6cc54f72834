/**
 * Columns holding identifiers that a client, WeChat or a payment provider chooses. They
 * compare exactly: "Key-ABC", "key-abc" and "key-abc " are three keys. SQLite, whose schema
 * comes from the entities, compares text as BINARY by default (no collation is declared on
 * them, so it stays so); on MySQL/MariaDB migration Migration20261203132400 gives each a
 * binary NO PAD collation, since MikroORM entities cannot declare a column collation.
 * test/hardening/keys-collation.test.ts checks both against this list.
 */
export const EXACT_KEY_COLUMNS = [
  { table: 'messages', column: 'client_message_id' },
  { table: 'payment_orders', column: 'client_order_id' },
  { table: 'payment_orders', column: 'out_trade_no' },
  { table: 'users', column: 'app_id' },
  { table: 'users', column: 'openid' },
  { table: 'users', column: 'unionid' },
  { table: 'chat_tags', column: 'tag' },
] as const;

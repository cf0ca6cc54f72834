import { Migration } from '@mikro-orm/migrations';

/*
 * Identifiers that clients (and WeChat) choose compare exactly: a binary, NO PAD collation on
 * each key column, instead of the table default (utf8mb4_general_ci on MariaDB), which ignores
 * case and trailing spaces. There, clientMessageId "key-abc" after "Key-ABC" was answered as a
 * retry of the first message, orderId "order-x1" returned order "Order-X1", tags "AI" and "ai"
 * collided in the primary key, and two WeChat openids differing in case would share an account.
 * utf8mb4_bin is not enough: it is PAD SPACE on both servers. The NO PAD binary collation is
 * named utf8mb4_nopad_bin on MariaDB and utf8mb4_0900_bin on MySQL 8, so this asks the server.
 * Keep in step with EXACT_KEY_COLUMNS (src/db/entities/exact-keys.ts); MikroORM does not read
 * column collations, so its schema diff neither sees nor undoes this. Existing rows cannot
 * conflict (keys only become more distinct), but the server rebuilds the indexes of these
 * columns, which takes a while on a large messages table: run it in a quiet hour.
 */
const COLUMNS = [
  ['messages', 'client_message_id', 'varchar(64)', 'null'],
  ['payment_orders', 'client_order_id', 'varchar(64)', 'not null'],
  ['payment_orders', 'out_trade_no', 'varchar(32)', 'not null'],
  ['users', 'app_id', 'varchar(64)', 'not null'],
  ['users', 'openid', 'varchar(128)', 'not null'],
  ['users', 'unionid', 'varchar(128)', 'null'],
  ['chat_tags', 'tag', 'varchar(32)', 'not null'],
] as const;

export class Migration20261203132400 extends Migration {

  override async up(): Promise<void> {
    const found = await this.execute(`select collation_name as name from information_schema.collations where collation_name in ('utf8mb4_nopad_bin', 'utf8mb4_0900_bin')`);
    const names = found.map((row) => String(row.name));
    const collation = names.includes('utf8mb4_nopad_bin') ? 'utf8mb4_nopad_bin' : names[0];
    if (!collation) throw new Error('This server has no binary NO PAD collation for utf8mb4 (utf8mb4_nopad_bin or utf8mb4_0900_bin): use MariaDB 10.6+ or MySQL 8');
    for (const [table, column, type, nullability] of COLUMNS) {
      this.addSql(`alter table \`${table}\` modify \`${column}\` ${type} character set utf8mb4 collate ${collation} ${nullability};`);
    }
  }

  override async down(): Promise<void> {
    // Back to the table's default collation. Fails if rows now differ only in case or trailing
    // spaces where the column is unique: those are distinct keys that the old collation merged.
    for (const [table, column, type, nullability] of COLUMNS) this.addSql(`alter table \`${table}\` modify \`${column}\` ${type} ${nullability};`);
  }

}

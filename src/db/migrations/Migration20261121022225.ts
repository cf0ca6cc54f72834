import { Migration } from '@mikro-orm/migrations';

export class Migration20261121022225 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table \`payment_orders\` (\`id\` varchar(26) not null, \`user_id\` varchar(26) not null, \`client_order_id\` varchar(64) not null, \`method\` varchar(8) not null, \`amount\` int not null, \`out_trade_no\` varchar(32) not null, \`status\` varchar(8) not null, \`code_url\` varchar(256) null, \`pay_url\` text null, \`provider_trade_no\` varchar(64) null, \`paid_amount\` int null, \`paid_at\` datetime(3) null, \`expires_at\` datetime(3) not null, \`created_at\` datetime(3) not null, \`updated_at\` datetime(3) not null, primary key (\`id\`)) default character set utf8mb4 engine = InnoDB;`);
    this.addSql(`alter table \`payment_orders\` add index \`payment_orders_user_id_index\`(\`user_id\`);`);
    this.addSql(`alter table \`payment_orders\` add unique \`payment_orders_out_trade_no_unique\`(\`out_trade_no\`);`);
    this.addSql(`alter table \`payment_orders\` add index \`payment_orders_user_id_created_at_index\`(\`user_id\`, \`created_at\`);`);
    this.addSql(`alter table \`payment_orders\` add index \`payment_orders_status_expires_at_index\`(\`status\`, \`expires_at\`);`);
    this.addSql(`alter table \`payment_orders\` add unique \`payment_orders_user_id_client_order_id_unique\`(\`user_id\`, \`client_order_id\`);`);

    this.addSql(`create table \`ledger_entries\` (\`id\` varchar(26) not null, \`user_id\` varchar(26) not null, \`kind\` varchar(16) not null, \`reference\` varchar(64) not null, \`amount\` int not null, \`balance_after\` int not null, \`created_at\` datetime(3) not null, primary key (\`id\`)) default character set utf8mb4 engine = InnoDB;`);
    this.addSql(`alter table \`ledger_entries\` add index \`ledger_entries_user_id_index\`(\`user_id\`);`);
    this.addSql(`alter table \`ledger_entries\` add index \`ledger_entries_user_id_created_at_index\`(\`user_id\`, \`created_at\`);`);
    this.addSql(`alter table \`ledger_entries\` add unique \`ledger_entries_kind_reference_unique\`(\`kind\`, \`reference\`);`);

    this.addSql(`alter table \`payment_orders\` add constraint \`payment_orders_user_id_foreign\` foreign key (\`user_id\`) references \`users\` (\`id\`) on update cascade;`);

    this.addSql(`alter table \`ledger_entries\` add constraint \`ledger_entries_user_id_foreign\` foreign key (\`user_id\`) references \`users\` (\`id\`) on update cascade;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists \`payment_orders\`;`);

    this.addSql(`drop table if exists \`ledger_entries\`;`);
  }

}

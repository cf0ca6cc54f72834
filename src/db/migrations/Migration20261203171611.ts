import { Migration } from '@mikro-orm/migrations';

export class Migration20261203171611 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table \`reconciliation_runs\` (\`id\` varchar(26) not null, \`provider\` varchar(8) not null, \`bill_date\` varchar(10) not null, \`status\` varchar(8) not null, \`attempts\` int not null default 0, \`diff_count\` int not null default 0, \`error\` varchar(255) null, \`created_at\` datetime(3) not null, \`updated_at\` datetime(3) not null, primary key (\`id\`)) default character set utf8mb4 engine = InnoDB;`);
    this.addSql(`alter table \`reconciliation_runs\` add unique \`reconciliation_runs_provider_bill_date_unique\`(\`provider\`, \`bill_date\`);`);

    this.addSql(`create table \`reconciliation_diffs\` (\`id\` varchar(26) not null, \`run_id\` varchar(26) not null, \`provider\` varchar(8) not null, \`out_trade_no\` varchar(64) not null, \`kind\` varchar(16) not null, \`our_amount\` int null, \`their_amount\` int null, \`details\` varchar(255) not null, \`created_at\` datetime(3) not null, primary key (\`id\`)) default character set utf8mb4 engine = InnoDB;`);
    this.addSql(`alter table \`reconciliation_diffs\` add index \`reconciliation_diffs_run_id_index\`(\`run_id\`);`);
    this.addSql(`alter table \`reconciliation_diffs\` add index \`reconciliation_diffs_created_at_index\`(\`created_at\`);`);

    this.addSql(`alter table \`reconciliation_diffs\` add constraint \`reconciliation_diffs_run_id_foreign\` foreign key (\`run_id\`) references \`reconciliation_runs\` (\`id\`) on update cascade;`);

    this.addSql(`alter table \`users\` add \`session_key_enc\` text null;`);

    this.addSql(`alter table \`payment_orders\` add \`product_id\` varchar(64) null, add \`credits\` int null;`);
    this.addSql(`alter table \`payment_orders\` modify \`method\` varchar(16) not null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists \`reconciliation_diffs\`;`);

    this.addSql(`drop table if exists \`reconciliation_runs\`;`);

    this.addSql(`alter table \`payment_orders\` drop column \`product_id\`, drop column \`credits\`;`);

    this.addSql(`alter table \`payment_orders\` modify \`method\` varchar(8) not null;`);

    this.addSql(`alter table \`users\` drop column \`session_key_enc\`;`);
  }

}

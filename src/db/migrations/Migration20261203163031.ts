import { Migration } from '@mikro-orm/migrations';

export class Migration20261203163031 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table \`admin_audit\` (\`id\` varchar(26) not null, \`admin_id\` varchar(26) null, \`action\` varchar(32) not null, \`target_type\` varchar(16) null, \`target_id\` varchar(64) null, \`details\` text not null, \`created_at\` datetime(3) not null, primary key (\`id\`)) default character set utf8mb4 engine = InnoDB;`);
    this.addSql(`alter table \`admin_audit\` add index \`admin_audit_created_at_index\`(\`created_at\`);`);

    this.addSql(`create table \`redeem_codes\` (\`id\` varchar(26) not null, \`code_hash\` varchar(64) not null, \`amount\` int not null, \`batch_id\` varchar(26) not null, \`note\` varchar(200) null, \`created_by\` varchar(26) not null, \`expires_at\` datetime(3) null, \`used_by\` varchar(26) null, \`used_at\` datetime(3) null, \`created_at\` datetime(3) not null, primary key (\`id\`)) default character set utf8mb4 engine = InnoDB;`);
    this.addSql(`alter table \`redeem_codes\` add unique \`redeem_codes_code_hash_unique\`(\`code_hash\`);`);
    this.addSql(`alter table \`redeem_codes\` add index \`redeem_codes_batch_id_index\`(\`batch_id\`);`);

    this.addSql(`create table \`reply_holds\` (\`id\` varchar(26) not null, \`user_id\` varchar(26) not null, \`message_id\` varchar(64) not null, \`amount\` int not null, \`settled_at\` datetime(3) null, \`charged\` int null, \`created_at\` datetime(3) not null, primary key (\`id\`)) default character set utf8mb4 engine = InnoDB;`);
    this.addSql(`alter table \`reply_holds\` add index \`reply_holds_settled_at_created_at_index\`(\`settled_at\`, \`created_at\`);`);
    this.addSql(`alter table \`reply_holds\` add index \`reply_holds_message_id_index\`(\`message_id\`);`);

    this.addSql(`create table \`usage_records\` (\`id\` varchar(26) not null, \`user_id\` varchar(26) not null, \`kind\` varchar(16) not null, \`model\` varchar(128) not null, \`upstream\` varchar(255) null, \`reference\` varchar(64) null, \`prompt_tokens\` int not null, \`completion_tokens\` int not null, \`reasoning_tokens\` int not null, \`cost\` int not null, \`latency_ms\` int not null, \`outcome\` varchar(16) not null, \`created_at\` datetime(3) not null, primary key (\`id\`)) default character set utf8mb4 engine = InnoDB;`);
    this.addSql(`alter table \`usage_records\` add index \`usage_records_created_at_index\`(\`created_at\`);`);
    this.addSql(`alter table \`usage_records\` add index \`usage_records_user_id_created_at_index\`(\`user_id\`, \`created_at\`);`);

    this.addSql(`create table \`payment_refunds\` (\`id\` varchar(26) not null, \`order_id\` varchar(26) not null, \`out_refund_no\` varchar(64) not null, \`amount\` int not null, \`requested_amount\` int null, \`reason\` varchar(80) not null, \`status\` varchar(8) not null, \`forced\` tinyint(1) not null default false, \`shortfall\` int not null default 0, \`provider_refund_id\` varchar(64) null, \`admin_id\` varchar(26) not null, \`created_at\` datetime(3) not null, \`updated_at\` datetime(3) not null, primary key (\`id\`)) default character set utf8mb4 engine = InnoDB;`);
    this.addSql(`alter table \`payment_refunds\` add index \`payment_refunds_order_id_index\`(\`order_id\`);`);
    this.addSql(`alter table \`payment_refunds\` add unique \`payment_refunds_out_refund_no_unique\`(\`out_refund_no\`);`);
    this.addSql(`alter table \`payment_refunds\` add index \`payment_refunds_admin_id_index\`(\`admin_id\`);`);
    this.addSql(`alter table \`payment_refunds\` add index \`payment_refunds_order_id_created_at_index\`(\`order_id\`, \`created_at\`);`);
    this.addSql(`alter table \`payment_refunds\` add index \`payment_refunds_status_created_at_index\`(\`status\`, \`created_at\`);`);

    this.addSql(`alter table \`payment_refunds\` add constraint \`payment_refunds_order_id_foreign\` foreign key (\`order_id\`) references \`payment_orders\` (\`id\`) on update cascade;`);
    this.addSql(`alter table \`payment_refunds\` add constraint \`payment_refunds_admin_id_foreign\` foreign key (\`admin_id\`) references \`users\` (\`id\`) on update cascade;`);

    this.addSql(`alter table \`users\` add \`held\` int not null default 0, add \`role\` varchar(8) not null default 'USER';`);

    this.addSql(`alter table \`payment_orders\` add \`scene\` varchar(16) not null default 'DESKTOP_WEB', add \`h5url\` text null, add \`prepay_id\` varchar(64) null, add \`refunded_amount\` int not null default 0, add \`refund_reserved\` int not null default 0;`);
    this.addSql(`alter table \`payment_orders\` modify \`status\` varchar(20) not null;`);

    this.addSql(`alter table \`messages\` add \`parent_id\` varchar(26) null, add \`selected_rank\` int null, add \`on_path\` tinyint(1) not null default true;`);
    this.addSql(`alter table \`messages\` add index \`messages_chat_id_on_path_position_index\`(\`chat_id\`, \`on_path\`, \`position\`);`);
    this.addSql(`alter table \`messages\` add index \`messages_chat_id_parent_id_index\`(\`chat_id\`, \`parent_id\`);`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists \`admin_audit\`;`);

    this.addSql(`drop table if exists \`redeem_codes\`;`);

    this.addSql(`drop table if exists \`reply_holds\`;`);

    this.addSql(`drop table if exists \`usage_records\`;`);

    this.addSql(`drop table if exists \`payment_refunds\`;`);

    this.addSql(`alter table \`payment_orders\` drop column \`scene\`, drop column \`h5url\`, drop column \`prepay_id\`, drop column \`refunded_amount\`, drop column \`refund_reserved\`;`);

    this.addSql(`alter table \`payment_orders\` modify \`status\` varchar(8) not null;`);

    this.addSql(`alter table \`messages\` drop index \`messages_chat_id_on_path_position_index\`;`);
    this.addSql(`alter table \`messages\` drop index \`messages_chat_id_parent_id_index\`;`);
    this.addSql(`alter table \`messages\` drop column \`parent_id\`, drop column \`selected_rank\`, drop column \`on_path\`;`);

    this.addSql(`alter table \`users\` drop column \`held\`, drop column \`role\`;`);
  }

}

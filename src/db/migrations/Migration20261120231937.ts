import { Migration } from '@mikro-orm/migrations';

export class Migration20261120231937 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table \`revoked_tokens\` (\`jti\` varchar(36) not null, \`user_id\` varchar(26) not null, \`expires_at\` datetime(3) not null, primary key (\`jti\`)) default character set utf8mb4 engine = InnoDB;`);
    this.addSql(`alter table \`revoked_tokens\` add index \`revoked_tokens_expires_at_index\`(\`expires_at\`);`);

    this.addSql(`create table \`users\` (\`id\` varchar(26) not null, \`app_id\` varchar(64) not null, \`openid\` varchar(128) not null, \`unionid\` varchar(128) null, \`nick_name\` varchar(64) not null, \`avatar\` varchar(512) null, \`settings_is_dark_mode\` tinyint(1) not null default false, \`settings_auto_read\` tinyint(1) not null default false, \`settings_save_history\` tinyint(1) not null default true, \`balance\` int not null default 0, \`created_at\` datetime(3) not null, \`updated_at\` datetime(3) not null, primary key (\`id\`)) default character set utf8mb4 engine = InnoDB;`);
    this.addSql(`alter table \`users\` add unique \`users_unionid_unique\`(\`unionid\`);`);
    this.addSql(`alter table \`users\` add index \`users_created_at_index\`(\`created_at\`);`);
    this.addSql(`alter table \`users\` add unique \`users_app_id_openid_unique\`(\`app_id\`, \`openid\`);`);

    this.addSql(`create table \`api_keys\` (\`id\` varchar(26) not null, \`user_id\` varchar(26) not null, \`name\` varchar(64) not null, \`prefix\` varchar(16) not null, \`secret_hash\` varchar(64) not null, \`created_at\` datetime(3) not null, \`last_used_at\` datetime(3) null, \`revoked_at\` datetime(3) null, primary key (\`id\`)) default character set utf8mb4 engine = InnoDB;`);
    this.addSql(`alter table \`api_keys\` add index \`api_keys_user_id_index\`(\`user_id\`);`);
    this.addSql(`alter table \`api_keys\` add unique \`api_keys_secret_hash_unique\`(\`secret_hash\`);`);
    this.addSql(`alter table \`api_keys\` add index \`api_keys_user_id_revoked_at_index\`(\`user_id\`, \`revoked_at\`);`);

    this.addSql(`alter table \`api_keys\` add constraint \`api_keys_user_id_foreign\` foreign key (\`user_id\`) references \`users\` (\`id\`) on update cascade on delete cascade;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table \`api_keys\` drop foreign key \`api_keys_user_id_foreign\`;`);

    this.addSql(`drop table if exists \`revoked_tokens\`;`);

    this.addSql(`drop table if exists \`users\`;`);

    this.addSql(`drop table if exists \`api_keys\`;`);
  }

}

import { Migration } from '@mikro-orm/migrations';

export class Migration20261120235456 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table \`chat_activity\` (\`id\` int unsigned not null auto_increment primary key, \`chat_id\` varchar(26) not null, \`user_id\` varchar(26) not null, \`previous_updated_at\` datetime(3) not null, \`changed_at\` datetime(3) not null) default character set utf8mb4 engine = InnoDB;`);
    this.addSql(`alter table \`chat_activity\` add index \`chat_activity_user_id_changed_at_index\`(\`user_id\`, \`changed_at\`);`);
    this.addSql(`alter table \`chat_activity\` add index \`chat_activity_chat_id_changed_at_index\`(\`chat_id\`, \`changed_at\`);`);

    this.addSql(`create table \`chats\` (\`id\` varchar(26) not null, \`user_id\` varchar(26) not null, \`title\` varchar(200) not null, \`preview\` varchar(200) not null, \`category\` varchar(32) not null, \`is_starred\` tinyint(1) not null default false, \`message_count\` int not null default 0, \`created_at\` datetime(3) not null, \`updated_at\` datetime(3) not null, primary key (\`id\`)) default character set utf8mb4 engine = InnoDB;`);
    this.addSql(`alter table \`chats\` add index \`chats_user_id_index\`(\`user_id\`);`);
    this.addSql(`alter table \`chats\` add index \`chats_user_id_is_starred_updated_at_index\`(\`user_id\`, \`is_starred\`, \`updated_at\`);`);
    this.addSql(`alter table \`chats\` add index \`chats_user_id_category_updated_at_index\`(\`user_id\`, \`category\`, \`updated_at\`);`);
    this.addSql(`alter table \`chats\` add index \`chats_user_id_updated_at_id_index\`(\`user_id\`, \`updated_at\`, \`id\`);`);

    this.addSql(`create table \`messages\` (\`id\` varchar(26) not null, \`chat_id\` varchar(26) not null, \`user_id\` varchar(26) not null, \`position\` int not null, \`role\` varchar(16) not null, \`content\` mediumtext not null, \`status\` varchar(16) not null, \`model\` varchar(64) null, \`prompt_tokens\` int null, \`completion_tokens\` int null, \`total_tokens\` int null, \`client_message_id\` varchar(64) null, \`created_at\` datetime(3) not null, primary key (\`id\`)) default character set utf8mb4 engine = InnoDB;`);
    this.addSql(`alter table \`messages\` add index \`messages_chat_id_index\`(\`chat_id\`);`);
    this.addSql(`alter table \`messages\` add index \`messages_user_id_index\`(\`user_id\`);`);
    this.addSql(`alter table \`messages\` add unique \`messages_user_id_client_message_id_unique\`(\`user_id\`, \`client_message_id\`);`);
    this.addSql(`alter table \`messages\` add unique \`messages_chat_id_position_unique\`(\`chat_id\`, \`position\`);`);

    this.addSql(`create table \`chat_tags\` (\`chat_id\` varchar(26) not null, \`tag\` varchar(32) not null, \`user_id\` varchar(26) not null, \`position\` int not null, primary key (\`chat_id\`, \`tag\`)) default character set utf8mb4 engine = InnoDB;`);
    this.addSql(`alter table \`chat_tags\` add index \`chat_tags_chat_id_index\`(\`chat_id\`);`);
    this.addSql(`alter table \`chat_tags\` add index \`chat_tags_user_id_tag_index\`(\`user_id\`, \`tag\`);`);

    this.addSql(`alter table \`chats\` add constraint \`chats_user_id_foreign\` foreign key (\`user_id\`) references \`users\` (\`id\`) on update cascade on delete cascade;`);

    this.addSql(`alter table \`messages\` add constraint \`messages_chat_id_foreign\` foreign key (\`chat_id\`) references \`chats\` (\`id\`) on update cascade on delete cascade;`);

    this.addSql(`alter table \`chat_tags\` add constraint \`chat_tags_chat_id_foreign\` foreign key (\`chat_id\`) references \`chats\` (\`id\`) on update cascade on delete cascade;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table \`messages\` drop foreign key \`messages_chat_id_foreign\`;`);

    this.addSql(`alter table \`chat_tags\` drop foreign key \`chat_tags_chat_id_foreign\`;`);

    this.addSql(`drop table if exists \`chat_activity\`;`);

    this.addSql(`drop table if exists \`chats\`;`);

    this.addSql(`drop table if exists \`messages\`;`);

    this.addSql(`drop table if exists \`chat_tags\`;`);
  }

}

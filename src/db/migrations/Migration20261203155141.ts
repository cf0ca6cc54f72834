import { Migration } from '@mikro-orm/migrations';

export class Migration20261203155141 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table \`speech_clips\` (\`id\` varchar(26) not null, \`message_id\` varchar(26) not null, \`user_id\` varchar(26) not null, \`voice\` varchar(32) not null, \`mime_type\` varchar(32) not null, \`duration_seconds\` double null, \`bytes\` longblob not null, \`created_at\` datetime(3) not null, primary key (\`id\`)) default character set utf8mb4 engine = InnoDB;`);
    this.addSql(`alter table \`speech_clips\` add index \`speech_clips_message_id_index\`(\`message_id\`);`);
    this.addSql(`alter table \`speech_clips\` add unique \`speech_clips_message_id_voice_unique\`(\`message_id\`, \`voice\`);`);

    this.addSql(`alter table \`speech_clips\` add constraint \`speech_clips_message_id_foreign\` foreign key (\`message_id\`) references \`messages\` (\`id\`) on update cascade on delete cascade;`);

    this.addSql(`alter table \`users\` add \`deleted_at\` datetime(3) null;`);

    this.addSql(`alter table \`messages\` add \`rating\` varchar(8) null, add \`rating_comment\` varchar(1000) null, add \`rated_at\` datetime(3) null;`);
    this.addSql(`alter table \`messages\` add index \`messages_rated_at_index\`(\`rated_at\`);`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists \`speech_clips\`;`);

    this.addSql(`alter table \`messages\` drop index \`messages_rated_at_index\`;`);
    this.addSql(`alter table \`messages\` drop column \`rating\`, drop column \`rating_comment\`, drop column \`rated_at\`;`);

    this.addSql(`alter table \`users\` drop column \`deleted_at\`;`);
  }

}
